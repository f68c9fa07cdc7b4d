//! The messages of the control plane: CLI ⇄ master over the control
//! socket, master ⇄ worker process over each child's private socket pair.
//! One JSON document per line.

use serde::{Deserialize, Serialize};

/// What the command line asks a running master.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
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
#[non_exhaustive]
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
    /// `running`, `reloading` or `stopping`.
    pub phase: String,
    /// One entry per Worker.
    pub workers: Vec<WorkerSummary>,
    /// One row per worker process.
    pub processes: Vec<ProcessStatus>,
}

/// One Worker in the status report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
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
#[non_exhaustive]
pub struct ExitCount {
    /// The raw wait status, as Workerman shows it.
    pub status: i32,
    /// How many times.
    pub count: u64,
}

/// One worker process in the status report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
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
    /// `tcp` or `unix`.
    pub transport: String,
    /// The protocol's scheme.
    pub protocol: String,
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
    /// `established`, `closing` or `closed`.
    pub state: String,
}

/// Master → worker process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum ToChild {
    Status,
    Connections,
    Stop { graceful: bool },
    Reload { graceful: bool },
}

/// Worker process → master.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum FromChild {
    /// `on_worker_start` has returned; accepting.
    Ready,
    /// `max_requests` reached: draining, then exiting. Start a successor.
    Retiring,
    Status(ChildStatus),
    Connections {
        rows: Vec<ConnectionRow>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ChildStatus {
    pub(crate) memory_bytes: u64,
    pub(crate) connections: u64,
    pub(crate) send_fail: u64,
    pub(crate) timers: u64,
    pub(crate) total_request: u64,
}
