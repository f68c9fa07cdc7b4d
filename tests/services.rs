//! The real-service examples as processes, against real servers: MariaDB
//! (or MySQL) and Redis started by `.ci/install-services.sh`, an HTTP
//! server this test runs on loopback, and the example's own task workers.
//!
//! The MariaDB and Redis tests run with `--features interop` (ignored
//! without it); a server that is not reachable then fails the test with a
//! clear message. Settings: WORKERMAN_MYSQL_URL
//! (default `mysql://workerman:workerman@127.0.0.1:3306/workerman_test`),
//! WORKERMAN_REDIS_URL (default `redis://127.0.0.1:6379/`).

#[path = "common/program.rs"]
mod program;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use program::{free_port, redis_url, request, request_when_up, service_missing, Program, WAIT};

fn mysql_url() -> String {
    std::env::var("WORKERMAN_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://workerman:workerman@127.0.0.1:3306/workerman_test".to_owned())
}

/// A pool to the test database, once it answers.
async fn require_mysql() -> sqlx::MySqlPool {
    let url = mysql_url();
    let connect = sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&url);
    match tokio::time::timeout(Duration::from_secs(10), connect).await {
        Ok(Ok(pool)) => pool,
        Ok(Err(e)) => service_missing(format!("MySQL/MariaDB is not reachable at {url}: {e}")),
        Err(_) => service_missing(format!("MySQL/MariaDB at {url} did not answer in 10 s")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(feature = "interop"),
    ignore = "needs MariaDB: `cargo test --features interop` after .ci/install-services.sh"
)]
async fn mysql_query_answers_from_the_database() {
    let db = require_mysql().await;
    let table = format!("wm_test_{}", std::process::id());
    let port = free_port();
    let p = Program::new(
        "mysql_query",
        "mysql",
        &[
            ("WORKERMAN_ADDR", format!("text://127.0.0.1:{port}")),
            ("MYSQL_URL", mysql_url()),
            ("MYSQL_TABLE", table.clone()),
            ("WORKERS", "2".into()),
        ],
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    tokio::task::block_in_place(|| {
        p.start();
        let id = request_when_up(addr, "add ann");
        assert!(id.starts_with("id "), "{id}");
        let id = id.trim_start_matches("id ");
        assert_eq!(request(addr, &format!("get {id}")).unwrap(), "ann");
        assert_eq!(request(addr, "get 999999").unwrap(), "not found");
        // Many clients at once, spread over both processes and their pools.
        let clients: Vec<_> = (0..8)
            .map(|i| std::thread::spawn(move || request(addr, &format!("add user{i}")).unwrap()))
            .collect();
        for c in clients {
            assert!(c.join().unwrap().starts_with("id "));
        }
        assert_eq!(request(addr, "count").unwrap(), "9");
    });
    // What the workers wrote is in the database.
    let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(n, 9);
    drop(p);
    sqlx::query(&format!("DROP TABLE IF EXISTS {table}"))
        .execute(&db)
        .await
        .unwrap();
}

#[test]
#[cfg_attr(
    not(feature = "interop"),
    ignore = "needs Redis: `cargo test --features interop` after .ci/install-services.sh"
)]
fn redis_counter_counts_across_processes() {
    let url = redis_url();
    let prefix = format!("wmtest:{}:counter:", std::process::id());
    let port = free_port();
    let p = Program::new(
        "redis_counter",
        "redis",
        &[
            ("WORKERMAN_ADDR", format!("text://127.0.0.1:{port}")),
            ("REDIS_URL", url.clone()),
            ("REDIS_PREFIX", prefix.clone()),
            ("WORKERS", "2".into()),
        ],
    );
    p.start();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    assert_eq!(request_when_up(addr, "incr home"), "1");
    let clients: Vec<_> = (0..10)
        .map(|_| std::thread::spawn(move || request(addr, "incr home").unwrap()))
        .collect();
    let mut seen: Vec<u64> = clients
        .into_iter()
        .map(|c| c.join().unwrap().parse().unwrap())
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        (2..=11).collect::<Vec<_>>(),
        "every INCR counted once"
    );
    assert_eq!(request(addr, "get home").unwrap(), "11");
    assert_eq!(request(addr, "cache motd hello 60").unwrap(), "ok");
    assert_eq!(request(addr, "get motd").unwrap(), "hello");
    let ttl: i64 = request(addr, "ttl motd").unwrap().parse().unwrap();
    assert!((1..=60).contains(&ttl), "{ttl}");
    // Tidy up the keys this test made.
    let clean = redis::Client::open(url.as_str())
        .and_then(|c| c.get_connection())
        .and_then(|mut c| {
            redis::cmd("DEL")
                .arg(format!("{prefix}home"))
                .arg(format!("{prefix}motd"))
                .query::<i64>(&mut c)
        });
    if let Err(e) = clean {
        eprintln!("keys not removed: {e}");
    }
}

/// A small upstream API on loopback: `/hello` and a 404 for the rest.
/// Aborting the returned task closes the listener and every connection.
async fn upstream() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    use http_body_util::Full;
    use hyper::body::Bytes;
    use hyper::service::service_fn;
    use hyper::{Request, Response};
    use hyper_util::rt::TokioIo;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        // Owned by this task: aborting it ends every connection too.
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            connections.spawn(async move {
                let service = service_fn(|req: Request<hyper::body::Incoming>| async move {
                    let (status, body) = match req.uri().path() {
                        "/hello" => (200, "hi from upstream\nsecond line"),
                        _ => (404, "not here"),
                    };
                    Ok::<_, std::convert::Infallible>(
                        Response::builder()
                            .status(status)
                            .body(Full::new(Bytes::from_static(body.as_bytes())))
                            .unwrap(),
                    )
                });
                // A client that goes away is fine.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_client_calls_a_real_http_server() {
    let (api, server) = upstream().await;
    let port = free_port();
    let p = Program::new(
        "http_client",
        "http",
        &[
            ("WORKERMAN_ADDR", format!("text://127.0.0.1:{port}")),
            ("UPSTREAM_URL", format!("http://{api}")),
            ("WORKERS", "2".into()),
        ],
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    tokio::task::block_in_place(|| {
        p.start();
        assert_eq!(
            request_when_up(addr, "/hello"),
            "200 hi from upstream second line"
        );
        assert_eq!(request(addr, "/missing").unwrap(), "404 not here");
        // Several at once: pooled connections, answers in each client's order.
        let clients: Vec<_> = (0..6)
            .map(|_| std::thread::spawn(move || request(addr, "hello").unwrap()))
            .collect();
        for c in clients {
            assert_eq!(c.join().unwrap(), "200 hi from upstream second line");
        }
    });
    // The API goes away: a clear error, and the worker goes on.
    server.abort();
    let _ = server.await;
    tokio::task::block_in_place(|| {
        let deadline = Instant::now() + WAIT;
        loop {
            let r = request(addr, "/hello").unwrap();
            if r.starts_with("error: ") {
                break;
            }
            // A pooled connection may still answer once.
            assert!(Instant::now() < deadline, "{r}");
            std::thread::sleep(Duration::from_millis(50));
        }
    });
}

#[test]
fn async_task_runs_tasks_in_the_task_workers_without_blocking_the_front() {
    let (port, task_port) = (free_port(), free_port());
    let p = Program::new(
        "async_task",
        "tasks",
        &[
            ("WORKERMAN_ADDR", format!("text://127.0.0.1:{port}")),
            ("TASK_ADDR", format!("text://127.0.0.1:{task_port}")),
            ("TASK_WORKERS", "2".into()),
        ],
    );
    p.start();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    assert_eq!(request_when_up(addr, "add 2 3"), "task complete: 5");
    assert_eq!(
        request(addr, "upper hello").unwrap(),
        "task complete: HELLO"
    );
    assert_eq!(
        request(addr, "nope").unwrap(),
        "task failed: unknown function nope"
    );
    // A slow task does not hold up the front worker's other clients.
    let slow = std::thread::spawn(move || {
        let t0 = Instant::now();
        let r = request(addr, "sleep 1500").unwrap();
        (r, t0.elapsed())
    });
    std::thread::sleep(Duration::from_millis(200));
    let t0 = Instant::now();
    assert_eq!(request(addr, "add 1 1").unwrap(), "task complete: 2");
    let quick = t0.elapsed();
    let (r, slow_took) = slow.join().unwrap();
    assert!(r.starts_with("task complete: slept 1500ms"), "{r}");
    assert!(
        quick < Duration::from_millis(1000) && slow_took >= Duration::from_millis(1500),
        "quick {quick:?}, slow {slow_took:?}"
    );
    // The task workers are their own processes.
    assert_eq!(p.pids("TaskWorker").len(), 2);
}
