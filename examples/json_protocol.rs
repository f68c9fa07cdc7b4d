//! A user-defined protocol: JSON lines (one JSON document per line), with
//! a tiny calculator service on top.
//!
//! `JsonLines` is used exactly like the built-in protocols: its
//! `SCHEME = "jsonl"` selects it in the address. Its codec reuses
//! `TextCodec` for the line framing (so a line is bounded by the worker's
//! `max_package_size`, 64 KiB here) and parses each line with serde_json.
//! A line that is not JSON is a protocol error: the service answers with an
//! `{"error":...}` in `on_error`, then the framework closes the connection.
//!
//! Requests: `{"op":"add","a":1,"b":2}` gets `{"result":3}`; any other JSON
//! value gets `{"error":"..."}`. Blank lines are skipped.
//!
//! Run: `cargo run --release --example json_protocol -- start` (add `-d` to daemonize;
//! then `status`, `connections`, `reload`, `stop` with the same command).
//! Try:
//!
//! ```text
//! python3 -c "import socket;s=socket.create_connection(('127.0.0.1',5682));f=s.makefile('rwb');[f.write(l) for l in (b'{\"op\":\"add\",\"a\":1,\"b\":2}\n',b'[1]\n',b'not json\n')];f.flush();print(f.read())"
//! ```
//!
//! Listens on `jsonl://127.0.0.1:5682`; set `WORKERMAN_ADDR` to change it
//! (for example `WORKERMAN_ADDR=jsonl://0.0.0.0:7000`).

use std::{fmt, io};

use bytes::{BufMut, BytesMut};
use serde_json::{json, Value};
use tokio_util::codec::{Decoder, Encoder};
use workerman::prelude::*;
use workerman::{ConnectionError, TextCodec, TextCodecError};

/// The `jsonl://` protocol.
struct JsonLines;

impl Protocol for JsonLines {
    const SCHEME: &'static str = "jsonl";
    type Inbound = Value;
    type Outbound = Value;
    type Error = JsonLinesError;
    type Codec = JsonLinesCodec;

    fn codec(max_package_size: usize) -> JsonLinesCodec {
        JsonLinesCodec(TextCodec::new(max_package_size))
    }
}

/// Lines from `TextCodec`, JSON from serde_json.
struct JsonLinesCodec(TextCodec);

impl Decoder for JsonLinesCodec {
    type Item = Value;
    type Error = JsonLinesError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Value>, JsonLinesError> {
        while let Some(line) = self.0.decode(src).map_err(JsonLinesError::Line)? {
            if !line.is_empty() {
                return serde_json::from_slice(&line)
                    .map(Some)
                    .map_err(JsonLinesError::Json);
            }
        }
        Ok(None)
    }
}

impl Encoder<Value> for JsonLinesCodec {
    type Error = JsonLinesError;

    fn encode(&mut self, item: Value, dst: &mut BytesMut) -> Result<(), JsonLinesError> {
        // Compact JSON escapes newlines inside strings: one value, one line.
        serde_json::to_writer(dst.writer(), &item).map_err(JsonLinesError::Json)?;
        dst.put_u8(b'\n');
        Ok(())
    }
}

/// Why `JsonLinesCodec` failed.
#[derive(Debug)]
enum JsonLinesError {
    /// The line framing failed (line too long).
    Line(TextCodecError),
    /// A line is not valid JSON (or a value could not be serialized).
    Json(serde_json::Error),
    /// Socket I/O (required by the `Decoder` contract).
    Io(io::Error),
}

impl fmt::Display for JsonLinesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonLinesError::Line(e) => write!(f, "bad line: {e}"),
            JsonLinesError::Json(e) => write!(f, "invalid JSON: {e}"),
            JsonLinesError::Io(e) => write!(f, "i/o error: {e}"),
        }
    }
}

impl std::error::Error for JsonLinesError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JsonLinesError::Line(e) => Some(e),
            JsonLinesError::Json(e) => Some(e),
            JsonLinesError::Io(e) => Some(e),
        }
    }
}

impl From<io::Error> for JsonLinesError {
    fn from(e: io::Error) -> Self {
        JsonLinesError::Io(e)
    }
}

struct Calculator;

#[async_trait]
impl Service for Calculator {
    type Protocol = JsonLines;

    async fn on_message(&self, conn: &Connection<JsonLines>, msg: Value) {
        let _ = conn.send(reply(&msg));
    }

    async fn on_error(&self, conn: &Connection<JsonLines>, err: &ConnectionError) {
        tracing::warn!(id = conn.id(), error = %err, "connection error");
        // A bad line: tell the peer why before the framework closes.
        if let Some(e) = err.protocol_error::<JsonLinesError>() {
            let _ = conn.send(json!({ "error": e.to_string() }));
        }
    }
}

/// `{"op":"add","a":1,"b":2}` -> `{"result":3}`; anything else -> `{"error":...}`.
fn reply(req: &Value) -> Value {
    if req.get("op").and_then(Value::as_str) != Some("add") {
        return json!({ "error": r#"unknown request; try {"op":"add","a":1,"b":2}"# });
    }
    let (a, b) = (&req["a"], &req["b"]);
    let int_sum = a
        .as_i64()
        .zip(b.as_i64())
        .and_then(|(a, b)| a.checked_add(b));
    match int_sum {
        Some(sum) => json!({ "result": sum }),
        None => match a.as_f64().zip(b.as_f64()) {
            Some((a, b)) => json!({ "result": a + b }),
            None => json!({ "error": "\"a\" and \"b\" must be numbers" }),
        },
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "jsonl://127.0.0.1:5682".into());
    Worker::new(addr, Calculator)
        .name("json_protocol")
        .max_package_size(64 * 1024)
        .run_all()
}
