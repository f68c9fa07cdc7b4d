//! The messages of the control plane: CLI ⇄ master over the control
//! socket, master ⇄ worker process over each child's private socket pair.
//! One JSON document per line.

use serde::{Deserialize, Serialize};

/// What the command line asks a running master.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ControlRequest {
    /// Stop every worker process, then the master.
    Stop {
        /// Let open connections finish first (`stop -g`).
        graceful: bool,
    },
    /// Replace the worker processes one at a time with processes running
    /// the binary now on disk.
    Reload {
        /// Let open connections finish first (`reload -g`).
        graceful: bool,
    },
    /// The status report.
    Status,
    /// One row per live connection of every worker process.
    Connections,
}

/// The master's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ControlResponse {
    /// The request was accepted.
    Ok {
        /// The master's pid.
        master_pid: u32,
    },
    /// The answer to [`ControlRequest::Status`].
    Status(StatusReport),
    /// The answer to [`ControlRequest::Connections`].
    Connections {
        /// One row per connection.
        rows: Vec<ConnectionRow>,
    },
    /// The request was refused.
    Error {
        /// Why.
        message: String,
    },
}

/// What `status` shows: the global section and one row per process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// workerman-rs version.
    pub version: String,
    /// The master's pid.
    pub master_pid: u32,
    /// When the master started, in seconds since the Unix epoch.
    pub start_time: u64,
    /// Seconds since the master started.
    pub uptime_secs: u64,
    /// The system's 1, 5 and 15 minute load averages.
    pub load_average: Option<[f64; 3]>,
    /// What the master is doing.
    pub phase: Phase,
    /// One entry per Worker.
    pub workers: Vec<WorkerSummary>,
    /// One row per worker process.
    pub processes: Vec<ProcessStatus>,
}

/// One Worker in the status report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerSummary {
    /// The worker's name.
    pub name: String,
    /// Its address.
    pub listen: String,
    /// How many processes it runs.
    pub count: usize,
    /// Whether reload replaces its processes.
    pub reloadable: bool,
    /// How its processes have exited since start: raw wait status (0,
    /// 9 for SIGKILL, 256 × exit code) and count.
    pub exit_statuses: Vec<ExitCount>,
}

/// How many processes of a Worker exited with one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitCount {
    /// The raw wait status, as Workerman shows it.
    pub status: i32,
    /// How many times.
    pub count: u64,
}

/// One worker process in the status report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessStatus {
    /// Its pid.
    pub pid: u32,
    /// Its Worker's name.
    pub worker: String,
    /// Its id within the Worker (0..count).
    pub id: usize,
    /// The Worker's address.
    pub listen: String,
    /// Draining before exit (reload, graceful stop, max_requests).
    pub retiring: bool,
    /// No answer within one second: its event loop is blocked. The
    /// fields below are then `None`.
    pub busy: bool,
    /// Resident memory in bytes.
    pub memory_bytes: Option<u64>,
    /// Live connections, accepted and outgoing.
    pub connections: Option<u64>,
    /// Refused or failed sends since it started.
    pub send_fail: Option<u64>,
    /// Live timers.
    pub timers: Option<u64>,
    /// Packages received since it started.
    pub total_request: Option<u64>,
    /// Packages per second since the previous status request (0 on the
    /// first one).
    pub qps: Option<f64>,
}

/// One connection in the `connections` report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConnectionRow {
    /// The pid of the process that owns it.
    pub pid: u32,
    /// The Worker that accepted it (`None` for an outgoing connection).
    pub worker: Option<String>,
    /// The connection id (unique within its process).
    pub id: u64,
    /// What carries it.
    pub transport: TransportKind,
    /// Its protocol.
    pub protocol: ProtocolName,
    /// This end's address.
    pub local: String,
    /// The peer's address.
    pub remote: String,
    /// Bytes read.
    pub bytes_read: u64,
    /// Bytes written.
    pub bytes_written: u64,
    /// Bytes waiting in the send buffer.
    pub send_queue: u64,
    /// Where it is in its life.
    pub state: ConnectionState,
}

/// What the master is doing, in the status report (`running`,
/// `reloading`, `stopping` on the wire and on screen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Phase {
    /// Serving; no reload under way.
    Running,
    /// Replacing worker processes one at a time.
    Reloading,
    /// Stopping every worker process, then itself.
    Stopping,
}

/// Where a connection is in its life, in the `connections` report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ConnectionState {
    /// An outgoing connection not connected yet.
    Connecting,
    /// Open both ways.
    Established,
    /// Closing: flushing what is queued, or half-closed.
    Closing,
    /// Closed (a row is still shown during `on_close`).
    Closed,
}

/// What carries a connection, in the `connections` report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum TransportKind {
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// A Unix stream socket.
    Unix,
    /// UDP datagrams.
    Udp,
}

/// A connection's protocol, in the `connections` report: the scheme of
/// its [`Protocol`](workerman_protocols::Protocol). Written as the bare
/// scheme on the wire and on screen (`"text"`, `"myproto"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum ProtocolName {
    /// `tcp`: raw bytes.
    Tcp,
    /// `text`: newline-terminated lines.
    Text,
    /// `frame`: four-byte length prefix.
    Frame,
    /// `websocket`: the server side.
    Websocket,
    /// `ws`: the client side.
    Ws,
    /// `http`.
    Http,
    /// A user-defined protocol's scheme.
    Other(String),
}

impl ProtocolName {
    /// The scheme as written in addresses.
    pub fn as_str(&self) -> &str {
        match self {
            ProtocolName::Tcp => "tcp",
            ProtocolName::Text => "text",
            ProtocolName::Frame => "frame",
            ProtocolName::Websocket => "websocket",
            ProtocolName::Ws => "ws",
            ProtocolName::Http => "http",
            ProtocolName::Other(s) => s,
        }
    }
}

impl From<&str> for ProtocolName {
    fn from(scheme: &str) -> Self {
        match scheme {
            "tcp" => ProtocolName::Tcp,
            "text" => ProtocolName::Text,
            "frame" => ProtocolName::Frame,
            "websocket" => ProtocolName::Websocket,
            "ws" => ProtocolName::Ws,
            "http" => ProtocolName::Http,
            other => ProtocolName::Other(other.to_owned()),
        }
    }
}

impl From<String> for ProtocolName {
    fn from(scheme: String) -> Self {
        ProtocolName::from(scheme.as_str())
    }
}

impl From<ProtocolName> for String {
    fn from(p: ProtocolName) -> Self {
        match p {
            ProtocolName::Other(s) => s,
            known => known.as_str().to_owned(),
        }
    }
}

/// `as_str` (the name used on the wire and on screen) and `Display` for
/// the fieldless enums of the reports.
macro_rules! wire_names {
    ($($t:ident { $($v:ident => $name:literal),* $(,)? })*) => {$(
        impl $t {
            /// The name used on the wire and on screen.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($t::$v => $name,)*
                }
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    )*};
}

wire_names! {
    Phase { Running => "running", Reloading => "reloading", Stopping => "stopping" }
    ConnectionState {
        Connecting => "connecting",
        Established => "established",
        Closing => "closing",
        Closed => "closed",
    }
    TransportKind { Tcp => "tcp", Tls => "tls", Unix => "unix", Udp => "udp" }
}

impl std::fmt::Display for ProtocolName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Master → worker process, one JSON line each on the worker's private
/// socket pair.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ToChild {
    /// Answer with [`FromChild::Status`].
    Status,
    /// Answer with [`FromChild::Connections`].
    Connections,
    /// Stop accepting and stop.
    Stop {
        /// Let connections finish first (up to the grace timeout).
        graceful: bool,
    },
    /// Reload: a reloadable Worker's process drains and exits (its
    /// successor is already starting); another runs `on_worker_reload`.
    Reload {
        /// Drain for up to the grace timeout (else 2 s).
        graceful: bool,
    },
}

/// Worker process → master: answers to [`ToChild::Status`] and
/// [`ToChild::Connections`] in request order, and notices.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FromChild {
    /// `on_worker_start` has returned; accepting.
    Ready,
    /// `max_requests` reached: draining, then exiting. Start a successor.
    Retiring,
    /// The answer to [`ToChild::Status`].
    Status(ChildStatus),
    /// The answer to [`ToChild::Connections`].
    Connections {
        /// One row per live connection of the process.
        rows: Vec<ConnectionRow>,
    },
}

/// One worker process's counters, for the status report.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChildStatus {
    /// Resident memory in bytes.
    pub memory_bytes: u64,
    /// Live connections, accepted and outgoing.
    pub connections: u64,
    /// Refused or failed sends since it started.
    pub send_fail: u64,
    /// Live timers.
    pub timers: u64,
    /// Packages received since it started.
    pub total_request: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_enums_keep_their_wire_names() {
        let row = ConnectionRow {
            pid: 7,
            worker: None,
            id: 1,
            transport: TransportKind::Tls,
            protocol: ProtocolName::from("myproto"),
            local: "127.0.0.1:1".to_owned(),
            remote: "127.0.0.1:2".to_owned(),
            bytes_read: 0,
            bytes_written: 0,
            send_queue: 0,
            state: ConnectionState::Established,
        };
        let json = serde_json::to_value(&row).expect("serializable");
        assert_eq!(json["transport"], "tls");
        assert_eq!(json["protocol"], "myproto");
        assert_eq!(json["state"], "established");
        let back: ConnectionRow = serde_json::from_value(json).expect("deserializable");
        assert_eq!(back, row);
        // Known schemes come back as their variants, unknown ones as Other.
        for p in ["tcp", "text", "frame", "websocket", "ws", "http", "jsonl"] {
            let name: ProtocolName = serde_json::from_value(serde_json::json!(p)).expect("a name");
            assert_eq!(name.as_str(), p);
            assert_eq!(matches!(name, ProtocolName::Other(_)), p == "jsonl");
        }
        assert_eq!(
            serde_json::to_value(Phase::Reloading).expect("serializable"),
            "reloading"
        );
        assert_eq!(format!("[{:<9}]", Phase::Running), "[running  ]");
        assert!(serde_json::from_value::<ConnectionState>(serde_json::json!("open")).is_err());
    }
}
