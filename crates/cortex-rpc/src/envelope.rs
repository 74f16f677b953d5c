//! The JSON-RPC 2.0 envelope as Cortex clients use it (docs/cortex-api.md, "Envelope"): `id`
//! echoed exactly as written, `params` optional, responses never carrying `sid`.

use std::collections::BTreeMap;

use cortex_api::codes::error as codes;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

/// A request id exactly as the client wrote it (a number, a string or null): echoed byte for
/// byte, so an id beyond 64-bit integers or floats comes back as it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Id(String);

impl Id {
    /// The null id (responses to requests whose id could not be read).
    pub fn null() -> Id {
        Id("null".into())
    }

    /// The id as JSON text.
    pub fn as_json(&self) -> &str {
        &self.0
    }
}

/// A request that passed the envelope checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The id, exactly as sent.
    pub id: Id,
    /// The method name.
    pub method: String,
    /// The params object (`{}` when absent).
    pub params: Map<String, Value>,
}

/// Parse one text frame. On failure returns the error response to send.
pub fn parse(text: &str) -> Result<Request, String> {
    // The top level as raw members first: the id is kept as written.
    let mut obj: BTreeMap<String, Box<RawValue>> = match serde_json::from_str(text) {
        Ok(members) => members,
        // Not an object: say whether it is JSON at all.
        Err(e) => {
            return Err(match serde_json::from_str::<Value>(text) {
                Err(_) => error(&Id::null(), codes::PARSE_ERROR, &format!("parse error: {e}")),
                Ok(_) => error(
                    &Id::null(),
                    codes::INVALID_REQUEST,
                    "invalid request: a request is one JSON object (batches are not supported)",
                ),
            });
        }
    };
    let member = |raw: &RawValue| serde_json::from_str::<Value>(raw.get()).unwrap_or(Value::Null);
    // JSON-RPC 2.0 allows a null id (echoed as null); objects, arrays and booleans are not ids.
    let id = match obj.remove("id") {
        Some(raw) => match member(&raw) {
            Value::Number(_) | Value::String(_) | Value::Null => Id(raw.get().to_owned()),
            _ => {
                return Err(error(
                    &Id::null(),
                    codes::INVALID_REQUEST,
                    "invalid request: id must be a number, a string or null",
                ));
            }
        },
        None => {
            return Err(error(
                &Id::null(),
                codes::INVALID_REQUEST,
                "invalid request: missing id",
            ));
        }
    };
    if let Some(v) = obj.get("jsonrpc").map(|r| member(r))
        && v != "2.0"
    {
        return Err(error(
            &id,
            codes::INVALID_REQUEST,
            "invalid request: jsonrpc must be \"2.0\"",
        ));
    }
    let method = match obj.remove("method").map(|r| member(&r)) {
        Some(Value::String(m)) => m,
        _ => {
            return Err(error(
                &id,
                codes::INVALID_REQUEST,
                "invalid request: method must be a string",
            ));
        }
    };
    let params = match obj.remove("params").map(|r| member(&r)) {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p,
        Some(_) => {
            return Err(error(
                &id,
                codes::INVALID_PARAMS,
                "invalid params: params must be an object",
            ));
        }
    };
    Ok(Request { id, method, params })
}

/// A success response: `{"id":…,"jsonrpc":"2.0","result":…}`.
pub fn result(id: &Id, result: Value) -> String {
    format!(
        "{{\"id\":{},\"jsonrpc\":\"2.0\",\"result\":{}}}",
        id.as_json(),
        result
    )
}

/// An error response: `{"error":{"code":…,"message":…},"id":…,"jsonrpc":"2.0"}`.
pub fn error(id: &Id, code: i64, message: &str) -> String {
    format!(
        "{{\"error\":{},\"id\":{},\"jsonrpc\":\"2.0\"}}",
        json!({"code": code, "message": message}),
        id.as_json()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_their_type_and_params_may_be_absent() {
        let r = parse(r#"{"jsonrpc":"2.0","id":7,"method":"getCortexInfo"}"#).unwrap();
        assert_eq!(r.id.as_json(), "7");
        assert!(r.params.is_empty());
        let r = parse("{\n  \"id\": \"abc\", \"method\": \"x\", \"params\": {\"a\": 1}\n}").unwrap();
        assert_eq!(r.id.as_json(), r#""abc""#);
        assert_eq!(
            result(&r.id, json!(true)),
            r#"{"id":"abc","jsonrpc":"2.0","result":true}"#
        );
        let seven = parse(r#"{"id":7,"method":"x"}"#).unwrap().id;
        assert_eq!(
            result(&seven, json!(true)),
            r#"{"id":7,"jsonrpc":"2.0","result":true}"#
        );
        let big = parse(r#"{"id":100000000000000000000000000000,"method":"x"}"#).unwrap();
        assert_eq!(
            error(&big.id, -32601, "m"),
            r#"{"error":{"code":-32601,"message":"m"},"id":100000000000000000000000000000,"jsonrpc":"2.0"}"#
        );
    }

    #[test]
    fn envelope_errors() {
        let code =
            |t: &str| serde_json::from_str::<Value>(&parse(t).unwrap_err()).unwrap()["error"]["code"].clone();
        assert_eq!(code("{"), json!(-32700));
        assert_eq!(code("[1,2]"), json!(-32600));
        assert_eq!(code(r#"{"method":"x"}"#), json!(-32600));
        assert_eq!(code(r#"{"id":{},"method":"x"}"#), json!(-32600));
        assert_eq!(code(r#"{"id":true,"method":"x"}"#), json!(-32600));
        let r = parse(r#"{"jsonrpc":"2.0","id":null,"method":"x"}"#).expect("a null id is an id");
        assert_eq!(r.id, Id::null());
        assert_eq!(code(r#"{"id":1}"#), json!(-32600));
        assert_eq!(code(r#"{"id":1,"method":"x","params":[1]}"#), json!(-32602));
        assert_eq!(code(r#"{"id":1,"jsonrpc":"1.0","method":"x"}"#), json!(-32600));
    }
}
