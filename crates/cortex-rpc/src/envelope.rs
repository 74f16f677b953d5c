//! The JSON-RPC 2.0 envelope as Cortex clients use it (docs/cortex-api.md, "Envelope"): `id` echoed with
//! its JSON type, `params` optional, responses never carrying `sid`.

use serde_json::{Map, Value, json};

use cortex_api::codes::error as codes;

/// A request that passed the envelope checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The id, exactly as sent (number, string or null).
    pub id: Value,
    /// The method name.
    pub method: String,
    /// The params object (`{}` when absent).
    pub params: Map<String, Value>,
}

/// Parse one text frame. On failure returns the error response to send.
pub fn parse(text: &str) -> Result<Request, String> {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return Err(error(
                &Value::Null,
                codes::PARSE_ERROR,
                &format!("parse error: {e}"),
            ));
        }
    };
    let Value::Object(mut obj) = value else {
        return Err(error(
            &Value::Null,
            codes::INVALID_REQUEST,
            "invalid request: a request is one JSON object (batches are not supported)",
        ));
    };
    // JSON-RPC 2.0 allows a null id (echoed as null); objects, arrays and booleans are not ids.
    let id = match obj.remove("id") {
        Some(id @ (Value::Number(_) | Value::String(_) | Value::Null)) => id,
        Some(_) => {
            return Err(error(
                &Value::Null,
                codes::INVALID_REQUEST,
                "invalid request: id must be a number, a string or null",
            ));
        }
        None => {
            return Err(error(
                &Value::Null,
                codes::INVALID_REQUEST,
                "invalid request: missing id",
            ));
        }
    };
    if let Some(v) = obj.get("jsonrpc")
        && v != "2.0"
    {
        return Err(error(
            &id,
            codes::INVALID_REQUEST,
            "invalid request: jsonrpc must be \"2.0\"",
        ));
    }
    let method = match obj.remove("method") {
        Some(Value::String(m)) => m,
        _ => {
            return Err(error(
                &id,
                codes::INVALID_REQUEST,
                "invalid request: method must be a string",
            ));
        }
    };
    let params = match obj.remove("params") {
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

/// A success response.
pub fn result(id: &Value, result: Value) -> String {
    json!({"id": id, "jsonrpc": "2.0", "result": result}).to_string()
}

/// An error response.
pub fn error(id: &Value, code: i64, message: &str) -> String {
    json!({"id": id, "jsonrpc": "2.0", "error": {"code": code, "message": message}}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_their_type_and_params_may_be_absent() {
        let r = parse(r#"{"jsonrpc":"2.0","id":7,"method":"getCortexInfo"}"#).unwrap();
        assert_eq!(r.id, json!(7));
        assert!(r.params.is_empty());
        let r = parse("{\n  \"id\": \"abc\", \"method\": \"x\", \"params\": {\"a\": 1}\n}").unwrap();
        assert_eq!(r.id, json!("abc"));
        assert_eq!(
            result(&json!(7), json!(true)),
            r#"{"id":7,"jsonrpc":"2.0","result":true}"#
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
        assert_eq!(r.id, Value::Null);
        assert_eq!(code(r#"{"id":1}"#), json!(-32600));
        assert_eq!(code(r#"{"id":1,"method":"x","params":[1]}"#), json!(-32602));
        assert_eq!(code(r#"{"id":1,"jsonrpc":"1.0","method":"x"}"#), json!(-32600));
    }
}
