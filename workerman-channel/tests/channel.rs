//! Channel over real sockets on 127.0.0.1: a `ChannelServer` worker and
//! `ChannelClient`s, plus fakes and a gate (a TCP proxy that does not
//! listen until opened) to control the link. Every wait is bounded.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use workerman_channel::{ChannelClient, ChannelServer};

const WAIT: Duration = Duration::from_secs(10);

fn start_server() -> (workerman_core::ServerHandle, String) {
    start_server_at("frame://127.0.0.1:0")
}

fn start_server_at(address: &str) -> (workerman_core::ServerHandle, String) {
    let handle = ChannelServer::worker(address)
        .spawn()
        .expect("server starts");
    let addr = handle.local_addr().as_inet().expect("an IP address");
    (handle, format!("frame://{addr}"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A handler that forwards what it receives, tagged, to a channel.
fn recorder(
    client: &ChannelClient,
    event: &str,
    tag: &'static str,
    tx: &mpsc::UnboundedSender<String>,
) {
    let tx = tx.clone();
    client.on(event, move |data: serde_json::Value| {
        let tx = tx.clone();
        async move {
            // The test may be over.
            let _ = tx.send(format!("{tag} {data}"));
        }
    });
}

async fn next(rx: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("timed out waiting for an event")
        .expect("senders gone")
}

async fn sync(c: &ChannelClient) {
    tokio::time::timeout(WAIT, c.sync())
        .await
        .expect("sync timed out")
        .expect("client open");
}

#[tokio::test]
async fn publish_reaches_every_subscriber_including_the_publishers_own() {
    let (server, addr) = start_server();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let a = ChannelClient::connect(&addr).unwrap();
    let b = ChannelClient::connect(&addr).unwrap();
    let c = ChannelClient::connect(&addr).unwrap();
    recorder(&a, "news", "a", &tx);
    recorder(&b, "news", "b", &tx);
    recorder(&c, "other", "c", &tx);
    for x in [&a, &b, &c] {
        sync(x).await;
    }
    c.publish("news", &serde_json::json!({"n": 1})).unwrap();
    a.publish("news", "from a").unwrap();
    let mut got = vec![
        next(&mut rx).await,
        next(&mut rx).await,
        next(&mut rx).await,
        next(&mut rx).await,
    ];
    got.sort();
    assert_eq!(
        got,
        [
            r#"a "from a""#,
            r#"a {"n":1}"#,
            r#"b "from a""#,
            r#"b {"n":1}"#
        ]
    );
    for x in [&a, &b, &c] {
        sync(x).await;
    }
    assert!(rx.try_recv().is_err(), "c is not subscribed to news");
    assert_eq!(c.stats().unhandled, 0);
    assert_eq!(a.stats().received, 2);
    assert_eq!(c.stats().published, 1);
    assert_eq!(c.stats().sent, 1);
    assert_eq!(server.stats().connections, 3);
    server.shutdown().await;
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Push {
    to_connection_id: u64,
    content: String,
}

#[tokio::test]
async fn typed_handlers_and_data_that_does_not_fit() {
    let (server, addr) = start_server();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let a = ChannelClient::connect(&addr).unwrap();
    a.on("push", move |p: Push| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(format!("{} {}", p.to_connection_id, p.content));
        }
    });
    sync(&a).await;
    a.publish("push", "not a Push").unwrap();
    a.publish(
        "push",
        &Push {
            to_connection_id: 3,
            content: "hi".into(),
        },
    )
    .unwrap();
    assert_eq!(next(&mut rx).await, "3 hi");
    assert_eq!(a.stats().failed, 1);
    assert_eq!(a.stats().connects, 1, "the link stayed up");
    server.shutdown().await;
}

#[tokio::test]
async fn unsubscribe_stops_delivery_and_on_replaces_the_handler() {
    let (server, addr) = start_server();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let a = ChannelClient::connect(&addr).unwrap();
    let b = ChannelClient::connect(&addr).unwrap();
    recorder(&a, "news", "a", &tx);
    recorder(&a, "marker", "a", &tx);
    recorder(&b, "news", "b", &tx);
    sync(&a).await;
    sync(&b).await;
    assert!(a.unsubscribe("news"));
    assert!(!a.unsubscribe("news"));
    sync(&a).await;
    b.publish("news", &1).unwrap();
    b.publish("marker", &2).unwrap();
    // The server handles b's publishes in order: had it still sent "news"
    // to a, a would see it before the marker.
    let mut seen = vec![next(&mut rx).await, next(&mut rx).await];
    seen.sort();
    assert_eq!(seen, ["a 2", "b 1"]);
    assert_eq!(a.events(), ["marker"]);

    // on() again replaces: only the new handler runs.
    recorder(&b, "news", "b-old", &tx);
    recorder(&b, "news", "b-new", &tx);
    sync(&b).await;
    b.publish("news", &3).unwrap();
    assert_eq!(next(&mut rx).await, "b-new 3");
    sync(&b).await;
    assert!(rx.try_recv().is_err());
    server.shutdown().await;
}

#[tokio::test]
async fn a_restarted_server_loses_no_subscription() {
    let (server, addr) = start_server();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let a = ChannelClient::builder(&addr)
        .reconnect_delay(Duration::from_millis(100))
        .connect()
        .unwrap();
    recorder(&a, "news", "a", &tx);
    sync(&a).await;
    assert!(a.is_connected());
    server.shutdown().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while a.is_connected() {
        assert!(tokio::time::Instant::now() < deadline, "a never noticed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Published while the server is gone: waits in a's queue.
    a.publish("news", "queued while down").unwrap();
    let (server, _) = start_server_at(&addr);
    // sync resolves once a is back and the server has its subscription.
    sync(&a).await;
    assert_eq!(next(&mut rx).await, r#"a "queued while down""#);
    let b = ChannelClient::connect(&addr).unwrap();
    b.publish("news", "after the restart").unwrap();
    assert_eq!(next(&mut rx).await, r#"a "after the restart""#);
    assert_eq!(a.stats().connects, 2);
    assert_eq!(a.stats().dropped, 0);
    server.shutdown().await;
}

/// A gate: a proxy from a port to `to` that only listens once opened.
struct Gate {
    port: u16,
    to: SocketAddr,
}

impl Gate {
    fn new(to: &str) -> Gate {
        Gate {
            port: free_port(),
            to: to.trim_start_matches("frame://").parse().unwrap(),
        }
    }

    fn address(&self) -> String {
        format!("frame://127.0.0.1:{}", self.port)
    }

    async fn open(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        let to = self.to;
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(to).await {
                        // Ends when either side closes.
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
    }
}

#[tokio::test]
async fn publishes_wait_while_disconnected_and_the_oldest_are_dropped() {
    let (server, addr) = start_server();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let subscriber = ChannelClient::connect(&addr).unwrap();
    recorder(&subscriber, "n", "s", &tx);
    sync(&subscriber).await;

    // The publisher's way to the server is closed: nothing listens there.
    let gate = Gate::new(&addr);
    let publisher = ChannelClient::builder(gate.address())
        .reconnect_delay(Duration::from_millis(50))
        .max_pending(3)
        .connect()
        .unwrap();
    for i in 0..10 {
        publisher.publish("n", &i).unwrap();
    }
    assert!(!publisher.is_connected());
    let stats = publisher.stats();
    assert_eq!((stats.published, stats.dropped, stats.sent), (10, 7, 0));

    gate.open().await;
    sync(&publisher).await;
    for want in ["s 7", "s 8", "s 9"] {
        assert_eq!(next(&mut rx).await, want);
    }
    sync(&subscriber).await;
    assert!(rx.try_recv().is_err());
    assert_eq!(publisher.stats().sent, 3);
    server.shutdown().await;
}

/// Writes one frame.
async fn write_frame(s: &mut TcpStream, body: &[u8]) {
    let len = u32::try_from(body.len() + 4).unwrap();
    s.write_all(&len.to_be_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
}

/// Reads one frame's body.
async fn read_frame(s: &mut TcpStream) -> Vec<u8> {
    let mut head = [0u8; 4];
    tokio::time::timeout(WAIT, s.read_exact(&mut head))
        .await
        .unwrap()
        .unwrap();
    let mut body = vec![0u8; u32::from_be_bytes(head) as usize - 4];
    s.read_exact(&mut body).await.unwrap();
    body
}

#[tokio::test]
async fn the_client_speaks_the_documented_bytes_and_ignores_events_without_handler() {
    // A fake server: we see the client's bytes and send what we like.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let client = ChannelClient::connect(format!("frame://{addr}")).unwrap();
    recorder(&client, "news", "c", &tx);
    client.publish("news", "hi").unwrap();
    let (mut s, _) = tokio::time::timeout(WAIT, listener.accept())
        .await
        .unwrap()
        .unwrap();
    let mut head = [0u8; 4];
    s.read_exact(&mut head).await.unwrap();
    assert_eq!(head, [0, 0, 0, 0x2c]);
    let mut body = vec![0u8; 0x2c - 4];
    s.read_exact(&mut body).await.unwrap();
    assert_eq!(body, br#"{"type":"subscribe","channels":["news"]}"#);
    assert_eq!(
        read_frame(&mut s).await,
        br#"{"type":"publish","channels":["news"],"data":"hi"}"#
    );

    write_frame(&mut s, br#"{"type":"event","channel":"nobody","data":1}"#).await;
    write_frame(&mut s, b"").await;
    write_frame(&mut s, b"garbage from the server").await;
    write_frame(&mut s, br#"{"type":"event","channel":"news","data":"hi"}"#).await;
    assert_eq!(next(&mut rx).await, r#"c "hi""#);
    let stats = client.stats();
    assert_eq!((stats.unhandled, stats.received, stats.connects), (1, 1, 1));
    assert!(client.is_connected());
}

#[tokio::test]
async fn a_panicking_handler_is_counted_and_the_link_stays_up() {
    let (server, addr) = start_server();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let a = ChannelClient::connect(&addr).unwrap();
    a.on("boom", |n: u32| async move {
        assert!(n != 1, "handler panics on 1");
    });
    recorder(&a, "after", "a", &tx);
    sync(&a).await;
    a.publish("boom", &1).unwrap();
    a.publish("after", &2).unwrap();
    assert_eq!(next(&mut rx).await, "a 2");
    assert_eq!(a.stats().failed, 1);
    assert_eq!(a.stats().connects, 1);
    server.shutdown().await;
}

#[tokio::test]
async fn bad_commands_close_only_that_connection() {
    let (server, addr) = start_server();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let good = ChannelClient::connect(&addr).unwrap();
    recorder(&good, "news", "good", &tx);
    sync(&good).await;
    let mut bad = TcpStream::connect(addr.trim_start_matches("frame://"))
        .await
        .unwrap();
    write_frame(&mut bad, br#"{"type":"subscribe","channels":"not a list"}"#).await;
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(WAIT, bad.read(&mut buf))
        .await
        .expect("server closes the bad connection")
        .unwrap_or(0);
    assert_eq!(n, 0);
    // A raw client that follows the protocol is served.
    let mut raw = TcpStream::connect(addr.trim_start_matches("frame://"))
        .await
        .unwrap();
    write_frame(&mut raw, br#"{"type":"subscribe","channels":["news"]}"#).await;
    write_frame(&mut raw, br#"{"type":"ping","id":41}"#).await;
    assert_eq!(read_frame(&mut raw).await, br#"{"type":"pong","id":41}"#);
    good.publish("news", &[1, 2]).unwrap();
    assert_eq!(next(&mut rx).await, "good [1,2]");
    assert_eq!(
        read_frame(&mut raw).await,
        br#"{"type":"event","channel":"news","data":[1,2]}"#
    );
    server.shutdown().await;
}

#[tokio::test]
async fn close_stops_the_client() {
    let (server, addr) = start_server();
    let a = ChannelClient::connect(&addr).unwrap();
    sync(&a).await;
    a.close();
    assert!(matches!(
        a.publish("x", &1),
        Err(workerman_channel::ChannelError::Closed)
    ));
    assert!(a.sync().await.is_err());
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.stats().connections > 0 {
        assert!(tokio::time::Instant::now() < deadline, "link not closed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.shutdown().await;
}

// ---------------------------------------------------------------------
// The Redis backend: the same API on Redis pub/sub. These need a Redis
// server (`.ci/install-services.sh` starts one) and run with
// `--features interop` (ignored without it); an unreachable Redis then
// fails them with a clear message.

/// The Redis URL to test against, once it answers PING.
async fn require_redis() -> String {
    let url = std::env::var("WORKERMAN_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned());
    let ping = async {
        let client = redis::Client::open(url.as_str())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    match tokio::time::timeout(Duration::from_secs(5), ping).await {
        Ok(Ok(_)) => url,
        Ok(Err(e)) => panic!(
            "Redis is not reachable at {url}: {e}. Start it with `bash .ci/install-services.sh` \
             (or set WORKERMAN_REDIS_URL)."
        ),
        Err(_) => panic!(
            "Redis at {url} did not answer PING within 5 s. Start it with \
             `bash .ci/install-services.sh`."
        ),
    }
}

/// A prefix no other test run shares.
fn prefix(test: &str) -> String {
    format!("wmtest:{}:{test}:", std::process::id())
}

#[tokio::test]
#[cfg_attr(
    not(feature = "interop"),
    ignore = "needs Redis: `cargo test --features interop` after .ci/install-services.sh"
)]
async fn redis_backend_publish_and_unsubscribe_with_the_same_api() {
    let url = require_redis().await;
    let client = |p: &str| {
        ChannelClient::builder(&url)
            .redis_prefix(p)
            .connect()
            .unwrap()
    };
    let p = prefix("api");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let a = client(&p);
    let b = client(&p);
    let other = client(&prefix("api-other-prefix"));
    recorder(&a, "news", "a", &tx);
    recorder(&a, "marker", "a", &tx);
    recorder(&b, "news", "b", &tx);
    recorder(&other, "news", "other", &tx);
    for c in [&a, &b, &other] {
        sync(c).await;
    }
    assert!(a.is_connected());
    b.publish("news", &serde_json::json!({"n": 1})).unwrap();
    let mut got = vec![next(&mut rx).await, next(&mut rx).await];
    got.sort();
    assert_eq!(got, [r#"a {"n":1}"#, r#"b {"n":1}"#]);

    assert!(a.unsubscribe("news"));
    sync(&a).await;
    b.publish("news", &2).unwrap();
    b.publish("marker", &3).unwrap();
    let mut got = vec![next(&mut rx).await, next(&mut rx).await];
    got.sort();
    assert_eq!(got, ["a 3", "b 2"]);
    sync(&other).await;
    assert!(
        rx.try_recv().is_err(),
        "another prefix is another namespace"
    );
    assert_eq!(b.stats().sent, 3);
    assert_eq!(a.stats().connects, 1);
}

/// A private redis-server on a free port, killed on drop.
struct PrivateRedis {
    child: std::process::Child,
}

impl PrivateRedis {
    fn start(port: u16) -> PrivateRedis {
        let spawned = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn();
        match spawned {
            Ok(child) => PrivateRedis { child },
            Err(e) => panic!(
                "cannot run redis-server: {e}. Install it with `bash .ci/install-services.sh`."
            ),
        }
    }

    async fn ready(port: u16) {
        let url = format!("redis://127.0.0.1:{port}/");
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let ping = async {
                let client = redis::Client::open(url.as_str())?;
                let mut conn = client.get_multiplexed_async_connection().await?;
                redis::cmd("PING").query_async::<String>(&mut conn).await
            };
            if ping.await.is_ok() {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        // Already gone is fine.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
#[cfg_attr(
    not(feature = "interop"),
    ignore = "needs Redis: `cargo test --features interop` after .ci/install-services.sh"
)]
async fn redis_backend_a_restarted_redis_loses_no_subscription() {
    let port = free_port();
    let first = PrivateRedis::start(port);
    PrivateRedis::ready(port).await;
    let url = format!("redis://127.0.0.1:{port}/");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let a = ChannelClient::builder(&url)
        .reconnect_delay(Duration::from_millis(100))
        .connect()
        .unwrap();
    recorder(&a, "news", "a", &tx);
    sync(&a).await;
    drop(first);
    let deadline = tokio::time::Instant::now() + WAIT;
    while a.is_connected() {
        assert!(tokio::time::Instant::now() < deadline, "a never noticed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    a.publish("news", "queued while down").unwrap();
    let _second = PrivateRedis::start(port);
    sync(&a).await;
    assert_eq!(next(&mut rx).await, r#"a "queued while down""#);
    let b = ChannelClient::connect(&url).unwrap();
    b.publish("news", "after the restart").unwrap();
    assert_eq!(next(&mut rx).await, r#"a "after the restart""#);
    assert_eq!(a.stats().connects, 2);
}
