//! `globaldata_wire`: GlobalData's wire protocol, JSON requests and
//! replies in `frame://` packages, and the server's handling of them.

use bytes::BytesMut;
use serde_json::{Map, Number, Value};
use tokio_util::codec::Decoder;
use workerman_globaldata::fuzzing::{self as gd, ErrorCode, Reply, Request};
use workerman_protocols::{Frame, Protocol};

use crate::{pick, serial, Bytes, Input, Meter};

const LIMITS: [usize; 4] = [4, 64, 4096, 64 * 1024];

/// serde_json builds a tree of `Value`s: an object is a BTreeMap whose
/// nodes hold up to 11 entries in about 0.5 KiB, so `[{"":0},...]` turns
/// 7 bytes of input into one node: about 80x. Measured peaks stay under
/// 100x the body; this bound is 128x (it stays linear, which is what
/// matters: a body is at most the frame limit).
const JSON_FACTOR: usize = 128;

/// A JSON value from fuzz bytes (numbers of every kind, strings that
/// need escapes, nesting).
pub(crate) fn value(b: &mut Bytes<'_>, depth: u32) -> Value {
    match b.byte() % 9 {
        0 => Value::Null,
        1 => Value::Bool(b.byte().is_multiple_of(2)),
        2 => Value::from(b.u64() as i64),
        3 => Value::from(b.u64()),
        4 => {
            let f = f64::from_bits(b.u64());
            Number::from_f64(f).map_or(Value::Null, Value::Number)
        }
        5 => Value::String(String::from_utf8_lossy(b.chunk()).into_owned()),
        6 if depth < 4 => Value::Array((0..b.byte() % 4).map(|_| value(b, depth + 1)).collect()),
        7 if depth < 4 => {
            let mut m = Map::new();
            for _ in 0..b.byte() % 4 {
                let k = String::from_utf8_lossy(b.chunk()).into_owned();
                m.insert(k, value(b, depth + 1));
            }
            Value::Object(m)
        }
        _ => Value::from(f64::from(b.byte()) / 8.0),
    }
}

fn request(b: &mut Bytes<'_>) -> Request {
    let key = String::from_utf8_lossy(b.chunk()).into_owned();
    match b.byte() % 7 {
        0 => Request::Get { key },
        1 => Request::Set {
            key,
            value: value(b, 0),
        },
        2 => Request::Isset { key },
        3 => Request::Add {
            key,
            value: value(b, 0),
        },
        4 => Request::Cas {
            key,
            old: value(b, 0),
            value: value(b, 0),
        },
        5 => Request::Increment {
            key,
            step: b.u64() as i64,
        },
        _ => Request::Delete { key },
    }
}

/// The values a request carries.
fn request_values(req: &Request) -> Vec<&Value> {
    match req {
        Request::Set { value, .. } | Request::Add { value, .. } => vec![value],
        Request::Cas { old, value, .. } => vec![old, value],
        _ => Vec::new(),
    }
}

/// What the client reads: `"value":null` is no value.
fn normalise(mut r: Reply) -> Reply {
    if r.value == Some(Value::Null) {
        r.value = None;
    }
    r
}

/// Frames from a peer, each handled as the server does (keep-alives
/// skipped, a request applied to one map for the whole input, its reply
/// encoded) and as a client does (parsed as a reply); then requests,
/// replies and values built from the input round-trip through their JSON.
pub fn check_globaldata_wire(data: &[u8]) {
    let _g = serial();
    let input = Input::parse(data);
    let limit = pick(&LIMITS, input.cfg0);
    let server = gd::Server::new();
    let mut codec = Frame::codec(limit);
    let mut buf = BytesMut::from(input.stream);
    let mut received = 0usize;
    while let Ok(Some(body)) = codec.decode(&mut buf) {
        received += body.len();
        if body.is_empty() || body == "ping" {
            continue;
        }
        let meter = Meter::start();
        match gd::parse_request(&body) {
            Ok(req) => {
                let kind = Kind::of(&req);
                let reply = server.apply(req);
                kind.check(&reply);
                let wire = gd::encode_reply(&reply);
                let back = gd::parse_reply(&wire).expect("the server's reply parses");
                assert_eq!(back, normalise(reply), "reply round trip");
            }
            Err(_) => {
                let wire = gd::encode_reply(&Reply {
                    error: Some(ErrorCode::BadRequest),
                    ..Reply::default()
                });
                assert_eq!(
                    gd::parse_reply(&wire).map(|r| r.error),
                    Ok(Some(ErrorCode::BadRequest))
                );
            }
        }
        let _ = gd::parse_reply(&body);
        let grown = meter.finish();
        // The body's own tree, and a reply that may carry a copy of a
        // value stored from any earlier body, encoded and parsed back: 3x
        // the JSON factor over every body received so far.
        let bound = 3 * JSON_FACTOR * received + 64 * 1024;
        assert!(
            grown <= bound,
            "a {}-byte body grew the heap by {grown}, bound {bound}",
            body.len()
        );
    }

    // Round trips.
    let mut b = Bytes::new(input.stream);
    for _ in 0..4 {
        if b.is_empty() {
            break;
        }
        let req = request(&mut b);
        let v = value(&mut b, 0);
        // The client refuses values holding serde_json's reserved key (they
        // do not parse back once its `raw_value` feature is on, as the
        // Channel crate turns it on): the round trips hold for the rest.
        if !request_values(&req).into_iter().all(gd::storable) || !gd::storable(&v) {
            continue;
        }
        let wire = gd::encode_request(&req);
        let back = gd::parse_request(&wire).expect("an encoded request parses");
        assert_eq!(
            back,
            req,
            "request round trip: {}",
            String::from_utf8_lossy(&wire)
        );
        let canonical = gd::canonical(&v);
        let parsed: Value = serde_json::from_str(&canonical).expect("canonical JSON parses");
        assert_eq!(parsed, v, "canonical round trip: {canonical}");
        assert_eq!(gd::canonical(&parsed), canonical);
        let reply = Reply {
            ok: Some(b.byte().is_multiple_of(2)),
            value: Some(v),
            error: None,
        };
        let back = gd::parse_reply(&gd::encode_reply(&reply)).expect("a reply parses");
        assert_eq!(back, normalise(reply), "reply round trip");
    }
}

/// Which answer a request must get.
#[derive(Clone, Copy)]
enum Kind {
    Value,
    Increment,
    YesNo,
}

impl Kind {
    fn of(req: &Request) -> Kind {
        match req {
            Request::Get { .. } => Kind::Value,
            Request::Increment { .. } => Kind::Increment,
            _ => Kind::YesNo,
        }
    }

    /// What the server's answer must look like.
    fn check(self, reply: &Reply) {
        match self {
            Kind::Value => assert!(reply.value.is_some() && reply.ok.is_none()),
            Kind::Increment => {
                assert!(reply.value.is_some() || reply.error == Some(ErrorCode::Overflow));
            }
            Kind::YesNo => assert!(reply.ok.is_some() && reply.error.is_none()),
        }
    }
}
