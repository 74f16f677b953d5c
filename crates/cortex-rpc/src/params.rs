//! Typed access to `params`, with the Cortex error for each mistake.

use serde_json::{Map, Value};

use crate::RpcError;

/// The params of one request.
pub struct Params<'a>(pub &'a Map<String, Value>);

impl<'a> Params<'a> {
    /// A required string.
    pub fn str(&self, name: &str) -> Result<&'a str, RpcError> {
        match self.0.get(name) {
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(RpcError::params(format!(
                "parameter {name} must be a string, not {}",
                kind(other)
            ))),
            None => Err(RpcError::params(format!("missing required parameter {name}"))),
        }
    }

    /// An optional string (`null` counts as absent).
    pub fn opt_str(&self, name: &str) -> Result<Option<&'a str>, RpcError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(RpcError::params(format!(
                "parameter {name} must be a string, not {}",
                kind(other)
            ))),
        }
    }

    /// A required number.
    pub fn f64(&self, name: &str) -> Result<f64, RpcError> {
        match self.0.get(name) {
            Some(Value::Number(n)) => n
                .as_f64()
                .ok_or_else(|| RpcError::params(format!("parameter {name} is out of range"))),
            Some(other) => Err(RpcError::params(format!(
                "parameter {name} must be a number, not {}",
                kind(other)
            ))),
            None => Err(RpcError::params(format!("missing required parameter {name}"))),
        }
    }

    /// A required non-empty array of strings.
    pub fn strings(&self, name: &str) -> Result<Vec<String>, RpcError> {
        let bad = || RpcError::params(format!("parameter {name} must be a non-empty array of strings"));
        match self.0.get(name) {
            Some(Value::Array(a)) if !a.is_empty() => a
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or_else(bad))
                .collect(),
            Some(_) => Err(bad()),
            None => Err(RpcError::params(format!("missing required parameter {name}"))),
        }
    }

    /// The token, accepting the old name `token` too (the C# example sends it).
    pub fn token(&self) -> Result<&'a str, RpcError> {
        if self.0.contains_key("cortexToken") {
            self.str("cortexToken")
        } else if self.0.contains_key("token") {
            self.str("token")
        } else {
            Err(RpcError::params("missing required parameter cortexToken"))
        }
    }
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
