//! GlobalData over real sockets on 127.0.0.1: a `GlobalDataServer`
//! worker and clients on their own threads and runtimes (as in separate
//! processes), a silent fake server, a raw frame client, and the Redis
//! backend against a real Redis. Every wait is bounded.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use workerman_globaldata::{GlobalDataClient, GlobalDataError, GlobalDataServer};

fn start_server() -> (workerman_core::ServerHandle, String) {
    start_server_at("frame://127.0.0.1:0")
}

fn start_server_at(address: &str) -> (workerman_core::ServerHandle, String) {
    let handle = GlobalDataServer::worker(address)
        .spawn()
        .expect("server starts");
    let addr = handle.local_addr().as_inet().expect("an IP address");
    (handle, format!("frame://{addr}"))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    name: String,
    rooms: Vec<u32>,
}

/// Workerman's documented behaviour, on any backend.
async fn semantics(g: &GlobalDataClient) {
    assert_eq!(g.get::<String>("missing").await.unwrap(), None);
    assert!(!g.isset("missing").await.unwrap());

    // add twice: true, then false.
    assert!(g.add("a", &1).await.unwrap());
    assert!(!g.add("a", &2).await.unwrap());
    assert_eq!(g.get::<i64>("a").await.unwrap(), Some(1));

    // increment: the new value; missing → None; non-numeric counts as 0.
    assert_eq!(g.increment("a", 5).await.unwrap(), Some(6));
    assert_eq!(g.increment("a", -10).await.unwrap(), Some(-4));
    assert_eq!(g.increment("nope", 1).await.unwrap(), None);
    assert!(!g.isset("nope").await.unwrap(), "increment creates nothing");
    g.set("s", "abc").await.unwrap();
    assert_eq!(g.increment("s", 3).await.unwrap(), Some(3));
    g.set("max", &i64::MAX).await.unwrap();
    assert!(matches!(
        g.increment("max", 1).await,
        Err(GlobalDataError::Overflow)
    ));
    assert_eq!(g.get::<i64>("max").await.unwrap(), Some(i64::MAX));

    // Typed values, replaced whole.
    let ann = User {
        name: "ann".into(),
        rooms: vec![1, 2],
    };
    g.set("user", &ann).await.unwrap();
    assert_eq!(g.get::<User>("user").await.unwrap(), Some(ann.clone()));
    assert!(matches!(
        g.get::<u64>("user").await,
        Err(GlobalDataError::Decode(_))
    ));

    // cas: swaps only from the value read; a stale one fails.
    let mut moved = ann.clone();
    moved.rooms.push(3);
    assert!(g.cas("user", &ann, &moved).await.unwrap());
    assert!(!g.cas("user", &ann, &ann).await.unwrap());
    assert_eq!(g.get::<User>("user").await.unwrap(), Some(moved));
    // Absent is null for cas: "create if absent".
    assert!(g.cas("fresh", &(), &"x").await.unwrap());
    assert!(!g.cas("fresh", &(), &"y").await.unwrap());

    // A stored null is no value; unset removes.
    g.set("user", &()).await.unwrap();
    assert!(!g.isset("user").await.unwrap());
    assert!(g.add("user", &"back").await.unwrap());
    g.unset("user").await.unwrap();
    g.unset("user").await.unwrap();
    assert_eq!(g.get::<String>("user").await.unwrap(), None);
}

#[tokio::test]
async fn every_command_behaves_as_workerman_documents() {
    let (server, addr) = start_server();
    let g = GlobalDataClient::new(&addr).unwrap();
    semantics(&g).await;
    server.shutdown().await;
}

/// Runs `m` increments from each of `n` clients, each on its own thread
/// with its own runtime and connection, all at once.
fn hammer(addr: &str, prefix: Option<&str>, key: &str, n: usize, m: usize) -> Vec<u64> {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (addr, key, barrier) = (addr.to_owned(), key.to_owned(), barrier.clone());
            let prefix = prefix.map(str::to_owned);
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let mut b = GlobalDataClient::builder();
                    if let Some(p) = prefix {
                        b = b.redis_prefix(p);
                    }
                    let g = b.connect([addr]).unwrap();
                    g.get::<i64>(&key).await.unwrap(); // connected
                    barrier.wait();
                    for _ in 0..m {
                        g.increment(&key, 1).await.unwrap().expect("key exists");
                    }
                    // cas from read values, retried on conflict.
                    let mut conflicts = 0;
                    for _ in 0..m {
                        loop {
                            let old: Option<i64> = g.get("cas").await.unwrap();
                            let new = old.unwrap_or(0) + 1;
                            if g.cas("cas", &old, &new).await.unwrap() {
                                break;
                            }
                            conflicts += 1;
                        }
                    }
                    conflicts
                })
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn increments_and_cas_from_many_clients_are_atomic() {
    let (server, addr) = start_server();
    let g = GlobalDataClient::new(&addr).unwrap();
    g.set("n", &0).await.unwrap();
    let (n, m) = (8, 250);
    let a = addr.clone();
    let conflicts = tokio::task::spawn_blocking(move || hammer(&a, None, "n", n, m))
        .await
        .unwrap();
    assert_eq!(g.get::<i64>("n").await.unwrap(), Some((n * m) as i64));
    assert_eq!(g.get::<i64>("cas").await.unwrap(), Some((n * m) as i64));
    eprintln!(
        "{n} clients × {m}: increment {} and cas {} (cas conflicts retried: {})",
        n * m,
        n * m,
        conflicts.iter().sum::<u64>()
    );
    server.shutdown().await;
}

/// serde_json gives the object key `$serde_json::private::RawValue` a
/// meaning of its own once its `raw_value` feature is on (the Channel crate
/// turns it on for the whole build): such a value would be stored but
/// never read back. The client refuses it with a clear error instead (a
/// fuzzing finding); the same key as a plain string, or another key, is
/// fine.
#[tokio::test]
async fn a_value_with_serde_jsons_reserved_key_is_refused_not_lost() {
    let (server, addr) = start_server();
    let g = GlobalDataClient::new(&addr).unwrap();
    let reserved = "$serde_json::private::RawValue";
    let top = serde_json::json!({ reserved: 1.5 });
    let nested = serde_json::json!([1, { "a": [{ reserved: "x", "b": 2 }] }]);
    for bad in [&top, &nested] {
        let err = g.set("k", bad).await.unwrap_err();
        assert!(
            matches!(err, GlobalDataError::Encode(_)) && err.to_string().contains(reserved),
            "{err}"
        );
        assert!(matches!(
            g.add("k", bad).await,
            Err(GlobalDataError::Encode(_))
        ));
        assert!(matches!(
            g.cas("k", &1, bad).await,
            Err(GlobalDataError::Encode(_))
        ));
        assert!(matches!(
            g.cas("k", bad, &1).await,
            Err(GlobalDataError::Encode(_))
        ));
    }
    assert_eq!(g.get::<serde_json::Value>("k").await.unwrap(), None);
    // The connection is still good, and near misses are stored and read.
    let fine = serde_json::json!({ "a": reserved, "$serde_json": [reserved] });
    g.set("k", &fine).await.unwrap();
    assert_eq!(g.get::<serde_json::Value>("k").await.unwrap(), Some(fine));
    server.shutdown().await;
}

#[tokio::test]
async fn a_restarted_server_is_reached_again_and_a_starting_one_waited_for() {
    let (server, addr) = start_server();
    let g = GlobalDataClient::new(&addr).unwrap();
    g.set("k", &1).await.unwrap();
    server.shutdown().await;
    // Down: the call waits (retrying) until its timeout.
    let quick = GlobalDataClient::builder()
        .io_timeout(Duration::from_millis(200))
        .connect([addr.clone()])
        .unwrap();
    let t0 = std::time::Instant::now();
    assert!(matches!(
        quick.get::<i64>("k").await,
        Err(GlobalDataError::Io { .. } | GlobalDataError::Timeout { .. })
    ));
    assert!(t0.elapsed() < Duration::from_secs(2));
    // Back (memory only: the value is gone). The old connection is stale;
    // the call goes through on a new one.
    let (server, _) = start_server_at(&addr);
    assert_eq!(g.get::<i64>("k").await.unwrap(), None);
    g.set("k", &2).await.unwrap();
    assert_eq!(g.get::<i64>("k").await.unwrap(), Some(2));
    server.shutdown().await;
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let keep = tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(s);
    });
    let g = GlobalDataClient::builder()
        .io_timeout(Duration::from_millis(200))
        .connect([format!("frame://{addr}")])
        .unwrap();
    assert!(matches!(
        g.get::<i64>("k").await,
        Err(GlobalDataError::Timeout { .. })
    ));
    keep.abort();
}

#[tokio::test]
async fn a_bad_request_is_answered_and_closed_and_others_go_on() {
    let (server, addr) = start_server();
    let g = GlobalDataClient::new(&addr).unwrap();
    g.set("abc", &1).await.unwrap();
    let mut raw = tokio::net::TcpStream::connect(addr.trim_start_matches("frame://"))
        .await
        .unwrap();
    // A keep-alive, then garbage.
    raw.write_all(b"\x00\x00\x00\x04").await.unwrap();
    raw.write_all(b"\x00\x00\x00\x0d{\"cmd\":1}").await.unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), raw.read_to_end(&mut got))
        .await
        .expect("closed")
        .unwrap();
    assert_eq!(got, b"\x00\x00\x00\x1b{\"error\":\"bad_request\"}");
    // The documented bytes (see the crate docs) from a raw client.
    let mut raw = tokio::net::TcpStream::connect(addr.trim_start_matches("frame://"))
        .await
        .unwrap();
    raw.write_all(b"\x00\x00\x00\x1d{\"cmd\":\"get\",\"key\":\"abc\"}")
        .await
        .unwrap();
    let mut reply = [0u8; 4 + 11];
    tokio::time::timeout(Duration::from_secs(10), raw.read_exact(&mut reply))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&reply, b"\x00\x00\x00\x0f{\"value\":1}");
    assert_eq!(g.increment("abc", 1).await.unwrap(), Some(2));
    server.shutdown().await;
}

#[tokio::test]
async fn a_cluster_routes_each_key_by_crc32() {
    let (s0, a0) = start_server();
    let (s1, a1) = start_server();
    let cluster = GlobalDataClient::cluster([a0.clone(), a1.clone()]).unwrap();
    // crc32("abc") = 891568578 (even), crc32("key") = 2324736937 (odd).
    cluster.set("abc", "on 0").await.unwrap();
    cluster.set("key", "on 1").await.unwrap();
    let only0 = GlobalDataClient::new(&a0).unwrap();
    let only1 = GlobalDataClient::new(&a1).unwrap();
    assert_eq!(
        only0.get::<String>("abc").await.unwrap().as_deref(),
        Some("on 0")
    );
    assert_eq!(only0.get::<String>("key").await.unwrap(), None);
    assert_eq!(
        only1.get::<String>("key").await.unwrap().as_deref(),
        Some("on 1")
    );
    assert_eq!(
        cluster.get::<String>("key").await.unwrap().as_deref(),
        Some("on 1")
    );
    s0.shutdown().await;
    s1.shutdown().await;
}

// ---------------------------------------------------------------------
// The Redis backend: the same API and semantics on Redis. These need a
// Redis server (`.ci/install-services.sh` starts one) and run with
// `--features interop` (ignored without it); an unreachable Redis then
// fails them with a clear message.

async fn require_redis() -> String {
    let url = std::env::var("WORKERMAN_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned());
    let ping = async {
        let client = redis::Client::open(url.as_str())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    let err = match tokio::time::timeout(Duration::from_secs(5), ping).await {
        Ok(Ok(_)) => return url,
        Ok(Err(e)) => e.to_string(),
        Err(_) => "no answer to PING within 5 s".to_owned(),
    };
    panic!(
        "Redis is not reachable at {url}: {err}. Start it with `bash .ci/install-services.sh` \
         (or set WORKERMAN_REDIS_URL)."
    );
}

fn prefix(test: &str) -> String {
    format!("wmtest:{}:{test}:", std::process::id())
}

#[tokio::test]
#[cfg_attr(
    not(feature = "interop"),
    ignore = "needs Redis: `cargo test --features interop` after .ci/install-services.sh"
)]
async fn redis_backend_behaves_the_same() {
    let url = require_redis().await;
    let g = GlobalDataClient::builder()
        .redis_prefix(prefix("semantics"))
        .connect([url])
        .unwrap();
    semantics(&g).await;
    for k in ["a", "s", "max", "fresh"] {
        g.unset(k).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(feature = "interop"),
    ignore = "needs Redis: `cargo test --features interop` after .ci/install-services.sh"
)]
async fn redis_backend_increments_and_cas_from_many_clients_are_atomic() {
    let url = require_redis().await;
    let p = prefix("atomic");
    let g = GlobalDataClient::builder()
        .redis_prefix(&p)
        .connect([url.clone()])
        .unwrap();
    g.set("n", &0).await.unwrap();
    g.unset("cas").await.unwrap();
    let (n, m) = (8, 250);
    let conflicts = tokio::task::spawn_blocking(move || hammer(&url, Some(&p), "n", n, m))
        .await
        .unwrap();
    assert_eq!(g.get::<i64>("n").await.unwrap(), Some((n * m) as i64));
    assert_eq!(g.get::<i64>("cas").await.unwrap(), Some((n * m) as i64));
    eprintln!(
        "redis: {n} clients × {m}: cas conflicts retried: {}",
        conflicts.iter().sum::<u64>()
    );
    g.unset("n").await.unwrap();
    g.unset("cas").await.unwrap();
}
