//! UDP workers (raw and text over UDP) and AsyncUdpConnection: datagram
//! boundaries and the reply path.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::{events, inet, Events, WAIT};
use workerman::prelude::*;
use workerman::{AsyncUdpConnection, Transport};

struct RawEcho;

#[async_trait]
impl Service for RawEcho {
    type Protocol = Tcp;
    async fn on_message(&self, conn: &Connection<Tcp>, msg: Payload) {
        let _ = conn.send(msg);
    }
}

struct LineEcho;

#[async_trait]
impl Service for LineEcho {
    type Protocol = Text;
    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        let _ = conn.send(format!("got {msg}"));
    }
}

fn client() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s
}

#[test]
fn raw_udp_keeps_datagram_boundaries() {
    let server = Worker::new("udp://127.0.0.1:0", RawEcho).spawn().unwrap();
    let addr = inet(&server);
    let c = client();
    let mut buf = vec![0u8; 70_000];
    for size in [1usize, 2, 1500, 9000, 60_000] {
        let d: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        c.send_to(&d, addr).unwrap();
        let (n, from) = c.recv_from(&mut buf).unwrap();
        assert_eq!(from, addr);
        assert_eq!(&buf[..n], &d[..], "size {size}");
    }
    // Several datagrams in flight come back as several datagrams.
    for i in 0..5u8 {
        c.send_to(&[i; 10], addr).unwrap();
    }
    let mut got = Vec::new();
    for _ in 0..5 {
        let (n, _) = c.recv_from(&mut buf).unwrap();
        assert_eq!(n, 10);
        got.push(buf[0]);
    }
    got.sort();
    assert_eq!(got, vec![0, 1, 2, 3, 4]);
    assert_eq!(server.stats().total_requests, 10);
    // Another client gets its own answers.
    let other = client();
    other.send_to(b"mine", addr).unwrap();
    let (n, _) = other.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"mine");
    server.shutdown_blocking();
}

#[test]
fn text_over_udp_gives_one_message_per_line() {
    let server = Worker::new("text://127.0.0.1:0", LineEcho)
        .transport(Transport::Udp)
        .spawn()
        .unwrap();
    let addr = inet(&server);
    let c = client();
    // Three lines in one datagram, the last unterminated (dropped, as in
    // Workerman).
    c.send_to(b"one\ntwo\r\nthree", addr).unwrap();
    let mut buf = [0u8; 100];
    let (n, _) = c.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"got one\n");
    let (n, _) = c.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"got two\n");
    c.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    assert!(
        c.recv_from(&mut buf).is_err(),
        "the unterminated line was answered"
    );
    assert_eq!(server.stats().total_requests, 2);
    server.shutdown_blocking();
}

struct Pinger(Events);

#[async_trait]
impl Service for Pinger {
    type Protocol = Tcp;
    async fn on_connect(&self, conn: &Connection<Tcp>) {
        self.0.push("connect");
        let _ = conn.send("ping");
    }
    async fn on_message(&self, conn: &Connection<Tcp>, msg: Payload) {
        self.0.push(format!("message {msg}"));
        conn.close(None);
    }
    async fn on_close(&self, _conn: &Connection<Tcp>) {
        self.0.push("close");
    }
}

#[tokio::test]
async fn async_udp_connection_round_trip() {
    let server = Worker::new("udp://127.0.0.1:0", RawEcho).spawn().unwrap();
    let (ev, mut log) = events();
    let conn = AsyncUdpConnection::new(format!("udp://{}", inet(&server)), Pinger(ev))
        .connect()
        .await
        .unwrap();
    assert_eq!(conn.remote_addr().as_inet(), Some(inet(&server)));
    assert_eq!(log.next().await, "connect");
    assert_eq!(log.next().await, "message ping");
    assert_eq!(log.next().await, "close");
    assert!(conn.send("late").is_err());
    server.shutdown().await;
}

#[test]
fn udp_needs_an_ip_address() {
    let err = Worker::new("udp:///tmp/x.sock", RawEcho)
        .spawn()
        .unwrap_err();
    assert!(matches!(err, workerman::Error::Bind { .. }), "{err}");
}

/// Tells each datagram's sender what its handle says about itself.
struct Describe;

#[async_trait]
impl Service for Describe {
    type Protocol = Text;
    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        let worker = conn.worker().map(|w| w.name().to_string());
        let reply = format!(
            "{msg} worker={} remote={} id={} open={}",
            worker.as_deref().unwrap_or("-"),
            conn.remote_addr(),
            conn.id(),
            conn.is_open(),
        );
        if msg.as_ref() == b"close" {
            conn.close(Some(reply.into()));
            let refused = conn.send("after close").is_err();
            let _ = conn.send_raw(format!("refused={refused}\n"));
        } else {
            let _ = conn.send(reply);
        }
    }
}

#[test]
fn a_datagram_handle_knows_its_worker_and_its_sender() {
    let server = Worker::new("text://127.0.0.1:0", Describe)
        .transport(Transport::Udp)
        .name("describer")
        .spawn()
        .unwrap();
    let addr = inet(&server);
    let c = client();
    let me = c.local_addr().unwrap();
    let mut buf = [0u8; 200];
    c.send_to(b"hello\n", addr).unwrap();
    let (n, _) = c.recv_from(&mut buf).unwrap();
    assert_eq!(
        std::str::from_utf8(&buf[..n]).unwrap(),
        format!("hello worker=describer remote={me} id=0 open=true\n")
    );
    // `close(last)` sends `last`, then the handle refuses sends: neither
    // the two after it nor the reply to the datagram's second package
    // (same sender, same handle) leave.
    c.send_to(b"close\nping\n", addr).unwrap();
    let (n, _) = c.recv_from(&mut buf).unwrap();
    assert_eq!(
        std::str::from_utf8(&buf[..n]).unwrap(),
        format!("close worker=describer remote={me} id=0 open=true\n")
    );
    // The next datagram gets a new handle, open again.
    c.send_to(b"again\n", addr).unwrap();
    let (n, _) = c.recv_from(&mut buf).unwrap();
    assert_eq!(
        std::str::from_utf8(&buf[..n]).unwrap(),
        format!("again worker=describer remote={me} id=0 open=true\n"),
    );
    assert_eq!(server.stats().total_requests, 4);
    server.shutdown_blocking();
}

/// Pipes each TCP connection into a new UDP client connection to `udp`.
struct ToUdp {
    udp: std::net::SocketAddr,
    log: Events,
}

#[async_trait]
impl Service for ToUdp {
    type Protocol = Text;
    async fn on_connect(&self, conn: &Connection<Text>) {
        let upstream =
            AsyncUdpConnection::new(format!("text://{}", self.udp), Record(self.log.clone()))
                .connect()
                .await
                .unwrap();
        conn.pipe(&upstream);
        // A datagram peer cannot be a pipe source: its packages still
        // reach its own service.
        upstream.pipe(conn);
        self.log.push("piped");
    }
    async fn on_message(&self, _conn: &Connection<Text>, msg: Payload) {
        self.log.push(format!("not piped: {msg}"));
    }
}

/// Records what a UDP client connection receives.
struct Record(Events);

#[async_trait]
impl Service for Record {
    type Protocol = Text;
    async fn on_message(&self, _conn: &Connection<Text>, msg: Payload) {
        self.0.push(format!("client got {msg}"));
    }
}

#[tokio::test]
async fn a_stream_pipes_into_a_datagram_peer() {
    let udp = Worker::new("text://127.0.0.1:0", LineEcho)
        .transport(Transport::Udp)
        .spawn()
        .unwrap();
    let (ev, mut log) = events();
    let tcp = Worker::new(
        "text://127.0.0.1:0",
        ToUdp {
            udp: inet(&udp),
            log: ev,
        },
    )
    .spawn()
    .unwrap();
    let mut c = common::LineClient::connect(inet(&tcp)).await;
    assert_eq!(log.next().await, "piped");
    c.send(b"one\ntwo\n").await;
    // Each line went out as a datagram; the echo came back to the UDP
    // client's own `on_message`, not down the pipe to the TCP client.
    let mut got = vec![log.next().await, log.next().await];
    got.sort();
    assert_eq!(got, ["client got got one", "client got got two"]);
    tcp.shutdown().await;
    udp.shutdown().await;
}
