//! The accept loop survives running out of file descriptors: it backs off,
//! keeps serving the open connections, and accepts again once descriptors
//! are free. (Its own test binary: it lowers this process's fd limit.)

mod common;

use std::time::Duration;

use common::{inet, LineClient};
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use workerman::prelude::*;

struct Echo;

#[async_trait]
impl Service for Echo {
    type Protocol = Text;
    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        let _ = conn.send(msg);
    }
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").unwrap().count() as u64
}

#[tokio::test]
async fn accept_loop_survives_emfile() {
    let server = Worker::new("text://127.0.0.1:0", Echo).spawn().unwrap();
    let addr = inet(&server);
    let mut first = LineClient::connect(addr).await;
    first.send(b"before\n").await;
    assert_eq!(first.line().await, "before\n");

    // Leave room for a few more descriptors only.
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, open_fds() + 12, hard).unwrap();

    // Each client costs two descriptors here (its socket and the accepted
    // one): the limit is soon hit and later clients wait in the backlog.
    let mut waiting = Vec::new();
    for _ in 0..10 {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(s) => waiting.push(s),
            Err(_) => break,
        }
    }
    // Wait until the server has failed to accept at least once.
    let mut tries = 0;
    while server.stats().accept_errors == 0 {
        tries += 1;
        assert!(tries < 500, "accept never failed; limit not reached");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The open connection is still served while accept fails.
    first.send(b"during\n").await;
    assert_eq!(first.line().await, "during\n");

    // Free descriptors: the waiting clients get accepted and served.
    setrlimit(Resource::RLIMIT_NOFILE, soft, hard).unwrap();
    for s in waiting.drain(..).take(3) {
        let mut c = LineClient {
            reader: tokio::io::BufReader::new(s),
        };
        c.send(b"after\n").await;
        assert_eq!(c.line().await, "after\n");
    }
    let mut late = LineClient::connect(addr).await;
    late.send(b"late\n").await;
    assert_eq!(late.line().await, "late\n");
    server.shutdown().await;
}
