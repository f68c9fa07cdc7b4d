//! The GlobalData wire protocol: one JSON request per `frame://` package,
//! one JSON reply per request, in order.
//!
//! See the [crate docs](crate#wire-protocol) for the exact bytes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A request (the body of one frame).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub(crate) enum Request {
    /// The value, or null.
    Get { key: String },
    /// Stores the value (null removes the key).
    Set { key: String, value: Value },
    /// Whether the key holds a value.
    Isset { key: String },
    /// Stores the value only if the key holds none.
    Add { key: String, value: Value },
    /// Stores `value` only if the key holds `old` (null: holds none).
    Cas {
        key: String,
        old: Value,
        value: Value,
    },
    /// Adds `step` to an integer value; the new value, or null when the
    /// key holds none.
    Increment { key: String, step: i64 },
    /// Removes the key.
    Delete { key: String },
}

impl Request {
    pub(crate) fn key(&self) -> &str {
        match self {
            Request::Get { key }
            | Request::Set { key, .. }
            | Request::Isset { key }
            | Request::Add { key, .. }
            | Request::Cas { key, .. }
            | Request::Increment { key, .. }
            | Request::Delete { key } => key,
        }
    }
}

/// Why the server refused a request.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ErrorCode {
    /// Not a request this server understands; the connection is closed.
    BadRequest,
    /// `increment` would overflow; nothing changed.
    Overflow,
}

/// A reply (the body of one frame): `ok` for yes/no answers, `value` for
/// values, `error` when refused.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct Reply {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ok: Option<bool>,
    /// `Some(Null)` is written as `"value":null`; reading it gives `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<ErrorCode>,
}

impl Reply {
    pub(crate) fn ok(ok: bool) -> Reply {
        Reply {
            ok: Some(ok),
            ..Reply::default()
        }
    }

    pub(crate) fn value(value: Option<Value>) -> Reply {
        Reply {
            value: Some(value.unwrap_or(Value::Null)),
            ..Reply::default()
        }
    }

    pub(crate) fn error(code: ErrorCode) -> Reply {
        Reply {
            error: Some(code),
            ..Reply::default()
        }
    }
}

/// An object key serde_json gives a meaning of its own when its
/// `raw_value` feature is on (any crate in the build may turn it on; the
/// Channel crate does): a map whose first key it is does not parse back
/// into a `Value`. Values holding it anywhere are refused when sent, so
/// that what can be stored can always be read, whatever the features.
pub(crate) const RESERVED_KEY: &str = "$serde_json::private::RawValue";

/// Whether `v` can be stored: no object in it has [`RESERVED_KEY`] as a
/// key. Walks with a stack of its own (user values can be deep).
pub(crate) fn storable(v: &Value) -> bool {
    let mut todo = vec![v];
    while let Some(v) = todo.pop() {
        match v {
            Value::Object(map) => {
                if map.contains_key(RESERVED_KEY) {
                    return false;
                }
                todo.extend(map.values());
            }
            Value::Array(items) => todo.extend(items),
            _ => {}
        }
    }
    true
}

/// `v` as JSON with object keys sorted at every level, so that equal
/// values always give equal text (the Redis backend compares text).
pub(crate) fn canonical(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_with_the_reserved_key_anywhere_are_not_storable() {
        assert!(storable(&json!({"a": [1, {"b": RESERVED_KEY}]})));
        assert!(!storable(&json!({ RESERVED_KEY: 1 })));
        assert!(!storable(&json!([[{"a": { RESERVED_KEY: null }}]])));
        // Deep values are walked without recursion.
        let mut deep = json!({ RESERVED_KEY: 0 });
        for _ in 0..100_000 {
            deep = Value::Array(vec![deep]);
        }
        assert!(!storable(&deep));
        // Dropping such a value recurses in serde_json; keep it.
        std::mem::forget(deep);
    }

    #[test]
    fn requests_are_the_documented_json() {
        let cases = [
            (
                Request::Get { key: "abc".into() },
                r#"{"cmd":"get","key":"abc"}"#,
            ),
            (
                Request::Set {
                    key: "abc".into(),
                    value: json!([1, "x"]),
                },
                r#"{"cmd":"set","key":"abc","value":[1,"x"]}"#,
            ),
            (
                Request::Cas {
                    key: "k".into(),
                    old: json!(null),
                    value: json!(1),
                },
                r#"{"cmd":"cas","key":"k","old":null,"value":1}"#,
            ),
            (
                Request::Increment {
                    key: "n".into(),
                    step: -2,
                },
                r#"{"cmd":"increment","key":"n","step":-2}"#,
            ),
            (
                Request::Delete { key: "k".into() },
                r#"{"cmd":"delete","key":"k"}"#,
            ),
        ];
        for (req, text) in cases {
            assert_eq!(serde_json::to_string(&req).unwrap(), text);
            assert_eq!(serde_json::from_str::<Request>(text).unwrap(), req);
        }
    }

    #[test]
    fn replies_are_the_documented_json() {
        assert_eq!(
            serde_json::to_string(&Reply::ok(true)).unwrap(),
            r#"{"ok":true}"#
        );
        assert_eq!(
            serde_json::to_string(&Reply::value(None)).unwrap(),
            r#"{"value":null}"#
        );
        assert_eq!(
            serde_json::to_string(&Reply::value(Some(json!(3)))).unwrap(),
            r#"{"value":3}"#
        );
        assert_eq!(
            serde_json::to_string(&Reply::error(ErrorCode::BadRequest)).unwrap(),
            r#"{"error":"bad_request"}"#
        );
        let r: Reply = serde_json::from_str(r#"{"value":null}"#).unwrap();
        assert_eq!(r.value, None);
    }

    #[test]
    fn floats_round_trip_bit_for_bit() {
        // fuzz/regressions/globaldata_wire: one ulp off without
        // serde_json's float_roundtrip, so a value read back and given to
        // `cas` would not equal the stored one.
        for f in [7.326_862_820_235_364e-306_f64, 3.552_593_421_376_493_5e59] {
            let req = Request::Set {
                key: "k".into(),
                value: json!(f),
            };
            let text = serde_json::to_string(&req).unwrap();
            assert_eq!(
                serde_json::from_str::<Request>(&text).unwrap(),
                req,
                "{text}"
            );
        }
    }

    #[test]
    fn canonical_sorts_keys_at_every_level() {
        let v: Value = serde_json::from_str(r#"{"b":[{"z":1,"a":2}],"a":"\"q\""}"#).unwrap();
        assert_eq!(canonical(&v), r#"{"a":"\"q\"","b":[{"a":2,"z":1}]}"#);
    }
}
