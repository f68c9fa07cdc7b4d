//! The Channel wire protocol: JSON documents inside `frame://` packages.
//!
//! See the [crate docs](crate#wire-protocol) for the exact bytes.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::ChannelError;

/// What a client sends to the server (the body of one frame).
#[derive(Debug)]
pub(crate) enum Command {
    /// Deliver events of these channels to this connection from now on.
    Subscribe { channels: Vec<String> },
    /// Stop delivering events of these channels to this connection.
    Unsubscribe { channels: Vec<String> },
    /// Deliver `data` to every connection subscribed to each channel.
    /// The server forwards `data` as it came, without re-encoding it.
    Publish {
        channels: Vec<String>,
        data: Box<RawValue>,
    },
    /// Answer with `pong` and the same id once every earlier command of
    /// this connection has been handled.
    Ping { id: u64 },
}

/// What the server sends to a client (the body of one frame).
#[derive(Debug)]
pub(crate) enum Reply {
    /// One published event.
    Event {
        channel: String,
        data: Box<RawValue>,
    },
    /// The answer to `ping`.
    Pong { id: u64 },
}

/// Why a body is not a Channel message.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    #[error("not a JSON object with a \"type\": {0}")]
    Json(#[from] serde_json::Error),
    #[error("{kind:?} message without {field:?}")]
    Missing {
        kind: &'static str,
        field: &'static str,
    },
    #[error("unknown message type {0:?}")]
    UnknownType(String),
}

/// Every field any message has. (serde's internally tagged enums cannot
/// hold a `RawValue`, which keeps the published data as it came.)
#[derive(Deserialize)]
struct Fields {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    channels: Option<Vec<String>>,
    #[serde(default)]
    channel: Option<String>,
    /// `Some` whenever the field is there, `null` included.
    #[serde(default, deserialize_with = "present")]
    data: Option<Box<RawValue>>,
    #[serde(default)]
    id: Option<u64>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(d).map(Some)
}

fn need<T>(v: Option<T>, kind: &'static str, field: &'static str) -> Result<T, WireError> {
    v.ok_or(WireError::Missing { kind, field })
}

/// Parses a client's command.
pub(crate) fn parse_command(body: &[u8]) -> Result<Command, WireError> {
    let f: Fields = serde_json::from_slice(body)?;
    Ok(match f.kind.as_str() {
        "subscribe" => Command::Subscribe {
            channels: need(f.channels, "subscribe", "channels")?,
        },
        "unsubscribe" => Command::Unsubscribe {
            channels: need(f.channels, "unsubscribe", "channels")?,
        },
        "publish" => Command::Publish {
            channels: need(f.channels, "publish", "channels")?,
            data: need(f.data, "publish", "data")?,
        },
        "ping" => Command::Ping {
            id: need(f.id, "ping", "id")?,
        },
        _ => return Err(WireError::UnknownType(f.kind)),
    })
}

/// Parses a server's reply.
pub(crate) fn parse_reply(body: &[u8]) -> Result<Reply, WireError> {
    let f: Fields = serde_json::from_slice(body)?;
    Ok(match f.kind.as_str() {
        "event" => Reply::Event {
            channel: need(f.channel, "event", "channel")?,
            data: need(f.data, "event", "data")?,
        },
        "pong" => Reply::Pong {
            id: need(f.id, "pong", "id")?,
        },
        _ => return Err(WireError::UnknownType(f.kind)),
    })
}

/// `{"type":"subscribe","channels":[...]}` or `unsubscribe`.
pub(crate) fn subscription(subscribe: bool, channels: &[&str]) -> Vec<u8> {
    #[derive(Serialize)]
    struct Msg<'a> {
        r#type: &'static str,
        channels: &'a [&'a str],
    }
    let msg = Msg {
        r#type: if subscribe {
            "subscribe"
        } else {
            "unsubscribe"
        },
        channels,
    };
    // Serialising strings into a Vec cannot fail.
    serde_json::to_vec(&msg).unwrap_or_default()
}

/// `{"type":"publish","channels":[event],"data":<data>}` from already
/// encoded `data` (valid JSON, as [`encode_data`] made it).
pub(crate) fn publish(event: &str, data: &[u8]) -> Vec<u8> {
    let event = serde_json::to_string(event).unwrap_or_default();
    let mut out = Vec::with_capacity(40 + event.len() + data.len());
    out.extend_from_slice(br#"{"type":"publish","channels":["#);
    out.extend_from_slice(event.as_bytes());
    out.extend_from_slice(br#"],"data":"#);
    out.extend_from_slice(data);
    out.push(b'}');
    out
}

/// `{"type":"ping","id":<id>}`.
pub(crate) fn ping(id: u64) -> Vec<u8> {
    format!(r#"{{"type":"ping","id":{id}}}"#).into_bytes()
}

/// `{"type":"pong","id":<id>}`.
pub(crate) fn pong(id: u64) -> Vec<u8> {
    format!(r#"{{"type":"pong","id":{id}}}"#).into_bytes()
}

/// `{"type":"event","channel":<channel>,"data":<data>}`.
pub(crate) fn event(channel: &str, data: &RawValue) -> Vec<u8> {
    #[derive(Serialize)]
    struct Msg<'a> {
        r#type: &'static str,
        channel: &'a str,
        data: &'a RawValue,
    }
    let msg = Msg {
        r#type: "event",
        channel,
        data,
    };
    serde_json::to_vec(&msg).unwrap_or_default()
}

/// The JSON form of a published value.
pub(crate) fn encode_data<T: Serialize + ?Sized>(data: &T) -> Result<Vec<u8>, ChannelError> {
    serde_json::to_vec(data).map_err(ChannelError::Encode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_is_the_documented_json() {
        let data = encode_data(&serde_json::json!({"to": 3, "content": "hi"})).unwrap();
        let body = publish("say \"x\"", &data);
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"type":"publish","channels":["say \"x\""],"data":{"content":"hi","to":3}}"#
        );
        match parse_command(&body).unwrap() {
            Command::Publish { channels, data } => {
                assert_eq!(channels, ["say \"x\""]);
                assert_eq!(data.get(), r#"{"content":"hi","to":3}"#);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn commands_and_replies_round_trip() {
        let sub = subscription(true, &["a", "b"]);
        assert_eq!(sub, br#"{"type":"subscribe","channels":["a","b"]}"#);
        assert!(matches!(
            parse_command(&sub).unwrap(),
            Command::Subscribe { channels } if channels == ["a", "b"]
        ));
        let unsub = subscription(false, &["a"]);
        assert_eq!(unsub, br#"{"type":"unsubscribe","channels":["a"]}"#);
        assert!(matches!(
            parse_command(&ping(7)).unwrap(),
            Command::Ping { id: 7 }
        ));
        assert!(matches!(
            parse_reply(&pong(7)).unwrap(),
            Reply::Pong { id: 7 }
        ));
        let raw = RawValue::from_string("[1,2]".to_owned()).unwrap();
        let ev = event("news", &raw);
        assert_eq!(ev, br#"{"type":"event","channel":"news","data":[1,2]}"#);
        match parse_reply(&ev).unwrap() {
            Reply::Event { channel, data } => {
                assert_eq!(channel, "news");
                assert_eq!(data.get(), "[1,2]");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn published_floats_arrive_bit_for_bit() {
        // fuzz/regressions/channel_wire: one ulp off without serde_json's
        // float_roundtrip.
        for f in [3.552_593_421_376_493_5e59_f64, 7.326_862_820_235_364e-306] {
            let body = publish("a", &encode_data(&f).unwrap());
            match parse_command(&body).unwrap() {
                Command::Publish { data, .. } => {
                    let back: f64 = serde_json::from_str(data.get()).unwrap();
                    assert_eq!(back.to_bits(), f.to_bits(), "{}", data.get());
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn null_data_is_data() {
        match parse_command(br#"{"type":"publish","channels":["a"],"data":null}"#).unwrap() {
            Command::Publish { data, .. } => assert_eq!(data.get(), "null"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            &b"not json"[..],
            br#"{"type":"nope"}"#,
            br#"{"type":"publish","channels":["a"]}"#,
            br#"{"type":"subscribe","channels":"a"}"#,
            b"\xff\xfe",
        ] {
            assert!(parse_command(bad).is_err());
        }
    }
}
