//! `Connection::pipe`: forward everything one connection receives to
//! another, with back-pressure.

use workerman_protocols::Protocol;

/// What a piped source does with its packages instead of `on_message`, and
/// with its destination when it closes.
pub(crate) struct PipeTarget<P: Protocol> {
    pub(crate) forward: Box<dyn Fn(P::Inbound) + Send + Sync>,
    pub(crate) close: Box<dyn Fn() + Send + Sync>,
    /// The source's peer sent FIN: forward it (flush, then FIN) while the
    /// other direction keeps flowing.
    pub(crate) end: Box<dyn Fn() + Send + Sync>,
}
