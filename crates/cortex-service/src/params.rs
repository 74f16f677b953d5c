//! Typed access to a request's `params`: every parameter a method knows is read through
//! here, so a wrong type is always -32602 with the parameter's name, never ignored.

use serde_json::{Map, Value};

use crate::ServiceError;

/// The params of one request.
pub struct Params<'a>(pub &'a Map<String, Value>);

impl<'a> Params<'a> {
    /// A required string.
    pub fn str(&self, name: &str) -> Result<&'a str, ServiceError> {
        match self.0.get(name) {
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(bad(format!(
                "parameter {name} must be a string, not {}",
                kind(other)
            ))),
            None => Err(bad(format!("missing required parameter {name}"))),
        }
    }

    /// An optional string (`null` counts as absent).
    pub fn opt_str(&self, name: &str) -> Result<Option<&'a str>, ServiceError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(bad(format!(
                "parameter {name} must be a string, not {}",
                kind(other)
            ))),
        }
    }

    /// A required number.
    pub fn f64(&self, name: &str) -> Result<f64, ServiceError> {
        match self.0.get(name) {
            Some(Value::Number(n)) => n
                .as_f64()
                .ok_or_else(|| bad(format!("parameter {name} is out of range"))),
            Some(other) => Err(bad(format!(
                "parameter {name} must be a number, not {}",
                kind(other)
            ))),
            None => Err(bad(format!("missing required parameter {name}"))),
        }
    }

    /// An optional number (`null` counts as absent).
    pub fn opt_number(&self, name: &str) -> Result<Option<f64>, ServiceError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.f64(name).map(Some),
        }
    }

    /// A required non-empty array of strings.
    pub fn strings(&self, name: &str) -> Result<Vec<String>, ServiceError> {
        let wrong = || bad(format!("parameter {name} must be a non-empty array of strings"));
        match self.0.get(name) {
            Some(Value::Array(a)) if !a.is_empty() => a
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or_else(wrong))
                .collect(),
            Some(_) => Err(wrong()),
            None => Err(bad(format!("missing required parameter {name}"))),
        }
    }

    /// An optional array of strings (`null` counts as absent; empty is fine).
    pub fn opt_strings(&self, name: &str) -> Result<Option<Vec<String>>, ServiceError> {
        let wrong = || bad(format!("parameter {name} must be an array of strings"));
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or_else(wrong))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(wrong()),
        }
    }

    /// An optional boolean (`null` counts as absent).
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, ServiceError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(bad(format!(
                "parameter {name} must be a boolean, not {}",
                kind(other)
            ))),
        }
    }

    /// An optional non-negative integer (`null` counts as absent).
    pub fn opt_uint(&self, name: &str) -> Result<Option<u64>, ServiceError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| bad(format!("parameter {name} must be an integer >= 0"))),
            Some(other) => Err(bad(format!(
                "parameter {name} must be an integer >= 0, not {}",
                kind(other)
            ))),
        }
    }

    /// An optional integer (`null` counts as absent).
    pub fn opt_int(&self, name: &str) -> Result<Option<i64>, ServiceError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| bad(format!("parameter {name} must be an integer"))),
            Some(other) => Err(bad(format!(
                "parameter {name} must be an integer, not {}",
                kind(other)
            ))),
        }
    }

    /// A required object.
    pub fn object(&self, name: &str) -> Result<&'a Map<String, Value>, ServiceError> {
        match self.0.get(name) {
            Some(Value::Object(m)) => Ok(m),
            Some(other) => Err(bad(format!(
                "parameter {name} must be an object, not {}",
                kind(other)
            ))),
            None => Err(bad(format!("missing required parameter {name}"))),
        }
    }

    /// An optional object (`null` counts as absent).
    pub fn opt_object(&self, name: &str) -> Result<Option<&'a Value>, ServiceError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(v)),
            Some(other) => Err(bad(format!(
                "parameter {name} must be an object, not {}",
                kind(other)
            ))),
        }
    }

    /// A required array (of anything).
    pub fn array(&self, name: &str) -> Result<&'a [Value], ServiceError> {
        match self.0.get(name) {
            Some(Value::Array(a)) => Ok(a),
            Some(other) => Err(bad(format!(
                "parameter {name} must be an array, not {}",
                kind(other)
            ))),
            None => Err(bad(format!("missing required parameter {name}"))),
        }
    }

    /// A required value of any JSON type.
    pub fn value(&self, name: &str) -> Result<&'a Value, ServiceError> {
        self.0
            .get(name)
            .filter(|v| !v.is_null())
            .ok_or_else(|| bad(format!("missing required parameter {name}")))
    }

    /// The token, accepting the old name `token` too (the C# example sends it).
    pub fn token(&self) -> Result<&'a str, ServiceError> {
        if self.0.contains_key("cortexToken") {
            self.str("cortexToken")
        } else if self.0.contains_key("token") {
            self.str("token")
        } else {
            Err(bad("missing required parameter cortexToken"))
        }
    }
}

fn bad(message: impl Into<String>) -> ServiceError {
    ServiceError::InvalidParams(message.into())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
