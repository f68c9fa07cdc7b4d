//! What a [`Connection`](crate::Connection) holds for datagrams: one UDP
//! peer on one socket, with no task, no send queue and no stream flags.
//!
//! A UDP worker makes one for each datagram it receives (the handle its
//! `on_message` gets answers that datagram's sender); `AsyncUdpConnection`
//! makes one for its connected socket and keeps it while it lives. A send
//! encodes with the protocol and goes to the kernel at once as one
//! datagram, or is dropped (UDP may drop, and nothing is buffered).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use socket2::SockRef;
use tokio::net::UdpSocket;
use tokio::sync::Notify;
use tokio_util::codec::Decoder;
use workerman_protocols::Protocol;

use super::shared::{lock, with_scratch, Refused, SendFailure, SendStatus, WorkerShared};
use crate::extensions::Extensions;
use crate::process::{ConnectionRow, ConnectionState, ProtocolName, TransportKind};
use crate::stats::ConnCounters;

/// One datagram peer, shared by the handles of a datagram "connection".
pub(crate) struct Datagram<P: Protocol> {
    /// `Connection::id`: 0 for a worker's datagrams (they are not listed
    /// and live as long as a handler keeps them), a process-unique id for
    /// an `AsyncUdpConnection`.
    pub(crate) id: u64,
    /// The socket replies leave by: the worker's listening socket, or the
    /// client's own.
    socket: Arc<UdpSocket>,
    /// The peer: where replies go (`send_to`), unless `connected`.
    pub(crate) remote: SocketAddr,
    /// The socket is connected to `remote` (a client): `send`, not
    /// `send_to`, and only that peer's datagrams arrive.
    connected: bool,
    /// The protocol's codec: decodes each datagram's packages, encodes
    /// replies (`Encoder` takes `&mut`, hence the lock).
    codec: Mutex<P::Codec>,
    /// `close`/`destroy` was called (or the protocol asked to close):
    /// sends are refused from then on.
    closed: AtomicBool,
    /// Wakes a client's receive loop when it is closed (see
    /// [`until_closed`](Self::until_closed)).
    closing: Notify,
    /// Bytes and packages received, bytes sent (`Connection::stats`).
    pub(crate) counters: ConnCounters,
    /// The UDP worker instance that received the datagram (its counters,
    /// `Connection::worker`); `None` for a client.
    pub(crate) worker: Option<Arc<WorkerShared<P>>>,
    /// `Connection::insert_extension` and friends, made on first use.
    pub(crate) extensions: Mutex<Option<Box<Extensions>>>,
}

impl<P: Protocol> Datagram<P> {
    /// A peer reached through `socket`: `connected` when the socket is
    /// connected to `remote`, else each send is addressed to it.
    pub(crate) fn new(
        id: u64,
        socket: Arc<UdpSocket>,
        remote: SocketAddr,
        connected: bool,
        codec: P::Codec,
        worker: Option<Arc<WorkerShared<P>>>,
    ) -> Self {
        Datagram {
            id,
            socket,
            remote,
            connected,
            codec: Mutex::new(codec),
            closed: AtomicBool::new(false),
            closing: Notify::new(),
            counters: ConnCounters::default(),
            worker,
            extensions: Mutex::new(None),
        }
    }

    /// The socket's own address (asked of the socket: few ever want it,
    /// and a worker makes a `Datagram` per datagram).
    pub(crate) fn local(&self) -> SocketAddr {
        self.socket.local_addr().unwrap_or_else(|e| {
            tracing::debug!(error = %e, "the UDP socket's own address is unknown");
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        })
    }

    pub(crate) fn is_open(&self) -> bool {
        !self.closed.load(Ordering::Acquire)
    }

    /// Refuses sends from now on and wakes the receive loop; returns
    /// whether this call closed it.
    pub(crate) fn close(&self) -> bool {
        let first = !self.closed.swap(true, Ordering::AcqRel);
        if first {
            self.closing.notify_waiters();
        }
        first
    }

    /// Resolves once [`close`](Self::close) was called.
    pub(crate) async fn until_closed(&self) {
        loop {
            let woken = self.closing.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if !self.is_open() {
                return;
            }
            woken.await;
        }
    }

    /// Decodes every package of one received datagram (`buf`), dropping
    /// what is left (an incomplete tail, or the rest after a bad package).
    pub(crate) fn decode_all(&self, buf: &mut BytesMut) -> Vec<P::Inbound> {
        ConnCounters::add_own(&self.counters.bytes_read, buf.len() as u64);
        let mut out = Vec::new();
        let mut codec = lock(&self.codec);
        loop {
            match codec.decode(buf) {
                Ok(Some(m)) => out.push(m),
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(error = %e, "bad datagram package; dropping the rest");
                    break;
                }
            }
        }
        drop(codec);
        ConnCounters::add_own(&self.counters.messages, out.len() as u64);
        out
    }

    /// Encodes with `encode` and sends the bytes as one datagram. Refused
    /// as `Closed` once closed, and for a send error (an ICMP "port
    /// unreachable" from an earlier datagram, say), which closes nothing;
    /// as `Full` when the socket's buffer has no room (the datagram is
    /// dropped).
    pub(crate) fn send_with(
        &self,
        encode: impl FnOnce(&mut P::Codec, &mut BytesMut) -> Result<(), crate::BoxError>,
    ) -> Result<SendStatus, SendFailure> {
        if !self.is_open() {
            return Err(SendFailure::Refused(Refused::Closed));
        }
        with_scratch(|scratch| {
            // The lock orders the datagrams of concurrent senders as it
            // orders their encoding, and makes `writes` single-writer.
            let mut codec = lock(&self.codec);
            encode(&mut codec, scratch).map_err(SendFailure::Encode)?;
            let close = P::should_close(&codec);
            let sent = self.send_now(scratch);
            drop(codec);
            if close {
                self.close();
            }
            sent
        })
    }

    /// Sends the protocol's goodbye (`Protocol::close_output`), if it has
    /// one, as a datagram: what a graceful close writes on a stream.
    pub(crate) fn write_close_output(&self, shutdown: bool) {
        with_scratch(|scratch| {
            let codec = &mut *lock(&self.codec);
            P::close_output(codec, scratch, shutdown);
            if !scratch.is_empty() {
                // A failure is only logged, as for any datagram.
                let _ = self.send_now(scratch);
            }
        });
    }

    /// Straight to the kernel: tokio's `try_send` waits for a readiness
    /// event a fresh socket has not had yet, and a UDP send on a
    /// non-blocking socket either goes or fails at once.
    fn send_now(&self, data: &[u8]) -> Result<SendStatus, SendFailure> {
        let socket = SockRef::from(self.socket.as_ref());
        let sent = match self.connected {
            true => socket.send(data),
            false => socket.send_to(data, &self.remote.into()),
        };
        match sent {
            Ok(n) => {
                ConnCounters::add_own(&self.counters.bytes_written, n as u64);
                ConnCounters::add_own(&self.counters.writes, 1);
                if let Some(w) = &self.worker {
                    w.stats.bytes_written.fetch_add(n as u64, Ordering::Relaxed);
                }
                Ok(SendStatus::Written)
            }
            Err(e) => {
                if let Some(w) = &self.worker {
                    w.stats.send_fail.fetch_add(1, Ordering::Relaxed);
                }
                match e.kind() {
                    // No queue for datagrams: this one is dropped.
                    std::io::ErrorKind::WouldBlock => Err(SendFailure::Refused(Refused::Full)),
                    _ => {
                        tracing::debug!(error = %e, "datagram not sent");
                        Err(SendFailure::Refused(Refused::Closed))
                    }
                }
            }
        }
    }
}

impl<P: Protocol> crate::registry::ConnInfo for Datagram<P> {
    fn row(&self) -> ConnectionRow {
        ConnectionRow {
            pid: std::process::id(),
            worker: self.worker.as_ref().map(|w| w.name.to_string()),
            id: self.id,
            transport: TransportKind::Udp,
            protocol: ProtocolName::from(P::SCHEME),
            local: self.local().to_string(),
            remote: self.remote.to_string(),
            bytes_read: self.counters.bytes_read.load(Ordering::Relaxed),
            bytes_written: self.counters.bytes_written.load(Ordering::Relaxed),
            send_queue: 0,
            state: match self.is_open() {
                true => ConnectionState::Established,
                false => ConnectionState::Closed,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use workerman_protocols::{Payload, Text};

    use super::*;
    use crate::registry::ConnInfo;
    use crate::{Connection, SendError, SocketAddress};

    const WAIT: Duration = Duration::from_secs(10);

    /// A datagram handle on `ours` answering `peer`, and `peer` itself.
    async fn pair() -> (Connection<Text>, Arc<Datagram<Text>>, UdpSocket) {
        let ours = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let datagram = Arc::new(Datagram::new(
            7,
            Arc::clone(&ours),
            peer.local_addr().unwrap(),
            false,
            Text::codec(1024),
            None,
        ));
        let conn = Connection::datagram(Arc::clone(&datagram));
        (conn, datagram, peer)
    }

    async fn recv(peer: &UdpSocket) -> Vec<u8> {
        let mut buf = [0u8; 100];
        let n = tokio::time::timeout(WAIT, peer.recv(&mut buf))
            .await
            .expect("no datagram came")
            .unwrap();
        buf[..n].to_vec()
    }

    #[tokio::test]
    async fn sends_are_datagrams_until_it_is_closed() {
        let (conn, datagram, peer) = pair().await;
        assert!(matches!(conn.send("hi"), Ok(SendStatus::Written)));
        assert_eq!(recv(&peer).await, b"hi\n");
        assert!(matches!(conn.send_raw("raw"), Ok(SendStatus::Written)));
        assert_eq!(recv(&peer).await, b"raw");
        let stats = conn.stats();
        assert_eq!((stats.bytes_written, stats.writes), (6, 2));
        assert!(conn.is_open());

        // `until_closed` wakes when a handle closes it.
        let waiting = {
            let conn = conn.clone();
            tokio::spawn(async move { conn.until_closed().await })
        };
        tokio::task::yield_now().await;
        conn.close(Some("bye".into()));
        assert_eq!(recv(&peer).await, b"bye\n", "the last message goes first");
        tokio::time::timeout(WAIT, waiting).await.unwrap().unwrap();
        assert!(!conn.is_open());
        assert!(matches!(conn.send("late"), Err(SendError::Closed)));
        conn.close(Some("again".into()));
        conn.destroy();
        // Nothing was sent after the close: the next datagram is this one.
        let to = peer.local_addr().unwrap();
        datagram.socket.send_to(b"marker", to).await.unwrap();
        assert_eq!(recv(&peer).await, b"marker", "sent after the close");
        let row = datagram.row();
        assert_eq!(row.transport, TransportKind::Udp);
        assert_eq!(row.state, ConnectionState::Closed);
        assert_eq!(row.id, 7);
        assert_eq!(row.remote, peer.local_addr().unwrap().to_string());
        assert_eq!(row.bytes_written, 10);
    }

    /// Text with a goodbye on close, as WebSocket has.
    struct Polite;

    impl Protocol for Polite {
        const SCHEME: &'static str = "polite";
        type Inbound = Payload;
        type Outbound = Payload;
        type Error = workerman_protocols::TextCodecError;
        type Codec = workerman_protocols::TextCodec;
        fn codec(max: usize) -> Self::Codec {
            workerman_protocols::TextCodec::new(max)
        }
        fn close_output(_: &mut Self::Codec, dst: &mut BytesMut, _shutdown: bool) {
            dst.extend_from_slice(b"goodbye");
        }
    }

    #[tokio::test]
    async fn close_sends_last_then_the_protocols_goodbye() {
        let ours = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let conn = Connection::datagram(Arc::new(Datagram::<Polite>::new(
            1,
            Arc::clone(&ours),
            peer.local_addr().unwrap(),
            false,
            Polite::codec(1024),
            None,
        )));
        conn.close(Some("last".into()));
        assert_eq!(recv(&peer).await, b"last\n");
        assert_eq!(recv(&peer).await, b"goodbye");
        // Closed already: a second close sends nothing.
        conn.close(Some("again".into()));
        let to = peer.local_addr().unwrap();
        ours.send_to(b"marker", to).await.unwrap();
        assert_eq!(recv(&peer).await, b"marker", "sent after the close");
    }

    #[tokio::test]
    async fn a_datagram_peer_has_no_stream_features() {
        let (conn, datagram, peer) = pair().await;
        let ours_addr = datagram.socket.local_addr().unwrap();
        assert_eq!(conn.id(), 7);
        assert_eq!(
            conn.remote_addr(),
            SocketAddress::Inet(peer.local_addr().unwrap())
        );
        assert_eq!(conn.remote_port(), Some(peer.local_addr().unwrap().port()));
        assert_eq!(conn.local_addr(), SocketAddress::Inet(ours_addr));
        assert!(conn.worker().is_none());
        conn.pause_recv();
        assert!(!conn.is_recv_paused());
        assert!(!conn.is_connecting());
        assert!(
            !conn.reconnect(Duration::from_millis(1)),
            "nothing to reconnect"
        );
        conn.set_max_send_buffer_size(1);
        assert_eq!(conn.max_send_buffer_size(), usize::MAX);
        assert_eq!(conn.send_queue_bytes(), 0);
        tokio::time::timeout(WAIT, conn.wait_for_room())
            .await
            .unwrap();
        assert!(conn.is_open(), "none of these closed it");
        assert_eq!(datagram.row().state, ConnectionState::Established);
        assert!(matches!(conn.send("still"), Ok(SendStatus::Written)));
        assert_eq!(recv(&peer).await, b"still\n");
    }

    /// A UDP worker makes one per datagram: it stays smaller than a
    /// stream's state (which also has a task, a queue and its flags).
    #[test]
    fn a_datagram_costs_less_than_a_stream() {
        let datagram = std::mem::size_of::<Datagram<Text>>();
        let stream = std::mem::size_of::<super::super::shared::Shared<Text>>();
        assert!(
            datagram < stream,
            "datagram {datagram} B, stream {stream} B"
        );
    }

    #[tokio::test]
    async fn extensions_live_with_the_handle() {
        let (conn, _, _peer) = pair().await;
        #[derive(Clone, Debug, PartialEq)]
        struct Tag(u32);
        assert_eq!(conn.extension::<Tag>(), None);
        assert_eq!(conn.insert_extension(Tag(1)), None);
        assert_eq!(conn.clone().insert_extension(Tag(2)), Some(Tag(1)));
        assert_eq!(
            conn.with_extension(|t: Option<&mut Tag>| t.map(|t| t.0)),
            Some(2)
        );
        assert_eq!(conn.remove_extension::<Tag>(), Some(Tag(2)));
        assert_eq!(conn.extension::<Tag>(), None);
    }

    #[tokio::test]
    async fn a_datagram_decodes_whole_packages_only() {
        let (conn, datagram, _peer) = pair().await;
        let mut data = BytesMut::from(&b"one\ntwo\r\nthr"[..]);
        let got: Vec<Payload> = datagram.decode_all(&mut data);
        assert_eq!(got, vec![Payload::from("one"), Payload::from("two")]);
        let stats = conn.stats();
        assert_eq!((stats.bytes_read, stats.messages), (12, 2));
        // A package over the limit: dropped with the rest of its datagram.
        let mut big = BytesMut::from(&[b'x'; 2000][..]);
        assert!(datagram.decode_all(&mut big).is_empty());
    }
}
