//! Connections: the handle users hold ([`Connection`], `handle.rs`), the
//! state a stream shares with its task (`shared.rs`: codec, byte-bounded
//! send queue in `queue.rs`, flags), the task that reads, decodes, calls
//! the service and writes (`driver.rs`), the wake-up signals between them
//! (`signal.rs`), `pipe`, and a UDP peer's state (`datagram.rs`: no task,
//! no queue). This module only declares and re-exports its
//! parts; none of them uses anything defined here.

mod datagram;
mod driver;
mod handle;
mod pipe;
mod queue;
mod shared;
mod signal;

pub(crate) use datagram::Datagram;
pub(crate) use driver::{
    drive, drive_client, next_connection_id, ClientSetup, ConnectionSetup, Connector,
};
pub use handle::Connection;
pub use shared::SendStatus;
pub(crate) use shared::WorkerShared;
