//! Internal: the wire protocol's parsers and encoders, and the server's
//! request handling, for the fuzz targets (`fuzz/` at the repository
//! root). Only built with the `fuzzing` feature; not part of the public
//! API and not covered by semver.
//!
//! The types here mirror the crate-private ones field for field, so the
//! fuzz targets see exactly what the server and the client see.

use serde_json::Value;

use crate::wire;
use crate::GlobalDataServer;

/// A request (mirror of the private `wire::Request`).
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum Request {
    Get {
        key: String,
    },
    Set {
        key: String,
        value: Value,
    },
    Isset {
        key: String,
    },
    Add {
        key: String,
        value: Value,
    },
    Cas {
        key: String,
        old: Value,
        value: Value,
    },
    Increment {
        key: String,
        step: i64,
    },
    Delete {
        key: String,
    },
}

/// Why the server refused a request (mirror of `wire::ErrorCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum ErrorCode {
    BadRequest,
    Overflow,
}

/// A reply (mirror of `wire::Reply`).
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(missing_docs)]
pub struct Reply {
    pub ok: Option<bool>,
    pub value: Option<Value>,
    pub error: Option<ErrorCode>,
}

impl From<wire::Request> for Request {
    fn from(r: wire::Request) -> Self {
        match r {
            wire::Request::Get { key } => Request::Get { key },
            wire::Request::Set { key, value } => Request::Set { key, value },
            wire::Request::Isset { key } => Request::Isset { key },
            wire::Request::Add { key, value } => Request::Add { key, value },
            wire::Request::Cas { key, old, value } => Request::Cas { key, old, value },
            wire::Request::Increment { key, step } => Request::Increment { key, step },
            wire::Request::Delete { key } => Request::Delete { key },
        }
    }
}

impl From<Request> for wire::Request {
    fn from(r: Request) -> Self {
        match r {
            Request::Get { key } => wire::Request::Get { key },
            Request::Set { key, value } => wire::Request::Set { key, value },
            Request::Isset { key } => wire::Request::Isset { key },
            Request::Add { key, value } => wire::Request::Add { key, value },
            Request::Cas { key, old, value } => wire::Request::Cas { key, old, value },
            Request::Increment { key, step } => wire::Request::Increment { key, step },
            Request::Delete { key } => wire::Request::Delete { key },
        }
    }
}

fn code_from(c: wire::ErrorCode) -> ErrorCode {
    match c {
        wire::ErrorCode::BadRequest => ErrorCode::BadRequest,
        wire::ErrorCode::Overflow => ErrorCode::Overflow,
    }
}

fn code_into(c: ErrorCode) -> wire::ErrorCode {
    match c {
        ErrorCode::BadRequest => wire::ErrorCode::BadRequest,
        ErrorCode::Overflow => wire::ErrorCode::Overflow,
    }
}

impl From<wire::Reply> for Reply {
    fn from(r: wire::Reply) -> Self {
        Reply {
            ok: r.ok,
            value: r.value,
            error: r.error.map(code_from),
        }
    }
}

impl From<Reply> for wire::Reply {
    fn from(r: Reply) -> Self {
        wire::Reply {
            ok: r.ok,
            value: r.value,
            error: r.error.map(code_into),
        }
    }
}

/// What the server parses a frame body into (after its keep-alive
/// check: an empty body or `ping` is not parsed); the error as its
/// message.
pub fn parse_request(body: &[u8]) -> Result<Request, String> {
    serde_json::from_slice::<wire::Request>(body)
        .map(Request::from)
        .map_err(|e| e.to_string())
}

/// What a client parses a reply frame into.
pub fn parse_reply(body: &[u8]) -> Result<Reply, String> {
    serde_json::from_slice::<wire::Reply>(body)
        .map(Reply::from)
        .map_err(|e| e.to_string())
}

/// A request body as the client writes it.
pub fn encode_request(req: &Request) -> Vec<u8> {
    serde_json::to_vec(&wire::Request::from(req.clone())).unwrap_or_default()
}

/// A reply body as the server writes it.
pub fn encode_reply(reply: &Reply) -> Vec<u8> {
    serde_json::to_vec(&wire::Reply::from(reply.clone())).unwrap_or_default()
}

/// Whether the client sends `v` (it refuses values with serde_json's
/// reserved object key, which do not parse back).
pub fn storable(v: &Value) -> bool {
    wire::storable(v)
}

/// The canonical JSON text the Redis backend compares.
pub fn canonical(v: &Value) -> String {
    wire::canonical(v)
}

/// A server's map, to apply parsed requests to.
#[derive(Debug, Default)]
pub struct Server(GlobalDataServer);

impl Server {
    /// An empty server.
    pub fn new() -> Self {
        Server::default()
    }

    /// What the server answers `req` with (and does to its map).
    pub fn apply(&self, req: Request) -> Reply {
        Reply::from(self.0.apply(req.into()))
    }

    /// How many keys are set.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
