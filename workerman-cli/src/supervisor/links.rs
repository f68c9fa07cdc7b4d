//! The master's links: the control socket the command line talks to, the
//! signals it listens to, and each worker process's private socket pair.
//! Each feeds the event loop through its channel.

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};
use workerman_core::process::signals::Signals;
use workerman_core::process::{ControlRequest, ControlResponse, FromChild, ToChild};

use super::{Event, Master};

/// How long the master waits for a child's status answer (Workerman: 1 s).
const STATUS_WAIT: Duration = Duration::from_secs(1);

/// Where a child's answer goes.
pub(super) type Reply = oneshot::Sender<FromChild>;

impl Master {
    pub(super) fn listen_control(&self) -> io::Result<()> {
        let path = &self.files.control_socket;
        if path.exists() {
            std::fs::remove_file(path)?;
        }
        // Created with mode 0600: only the owner can stop or reload.
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
        let bound = UnixListener::bind(path);
        nix::sys::stat::umask(old);
        let listener = bound?;
        let tx = self.events_tx.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let tx = tx.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve_control(stream, tx).await {
                        tracing::debug!(error = %e, "control connection failed");
                    }
                });
            }
        });
        Ok(())
    }

    pub(super) fn listen_signals(&self) {
        let mut signals = Signals::listen();
        let tx = self.events_tx.clone();
        tokio::spawn(async move {
            loop {
                let action = signals.next().await;
                if tx.send(Event::Signal(action)).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// Sends `msg` to a child and waits up to [`STATUS_WAIT`] for its answer.
pub(super) async fn ask(
    link: &mpsc::Sender<(ToChild, Option<Reply>)>,
    msg: ToChild,
) -> Option<FromChild> {
    let (tx, rx) = oneshot::channel();
    link.send((msg, Some(tx))).await.ok()?;
    tokio::time::timeout(STATUS_WAIT, rx).await.ok()?.ok()
}

/// The master's end of one child's socket pair: commands out, answers and
/// notices in. Answers come back in request order.
pub(super) async fn child_link(
    stream: UnixStream,
    pid: u32,
    events: mpsc::Sender<Event>,
    mut commands: mpsc::Receiver<(ToChild, Option<Reply>)>,
) {
    let (rd, mut wr) = stream.into_split();
    let mut lines = BufReader::new(rd).lines();
    let mut pending: VecDeque<Reply> = VecDeque::new();
    loop {
        tokio::select! {
            cmd = commands.recv() => {
                let Some((msg, reply)) = cmd else { return };
                let Ok(mut line) = serde_json::to_vec(&msg) else { continue };
                line.push(b'\n');
                if wr.write_all(&line).await.is_err() {
                    return;
                }
                if let Some(r) = reply {
                    pending.push_back(r);
                }
            }
            line = lines.next_line() => {
                let Ok(Some(line)) = line else { return };
                match serde_json::from_str::<FromChild>(&line) {
                    Ok(msg @ (FromChild::Status(_) | FromChild::Connections { .. })) => {
                        // A late answer whose asker gave up is dropped.
                        if let Some(r) = pending.pop_front() {
                            let _ = r.send(msg);
                        }
                    }
                    Ok(msg) => {
                        if events.send(Event::FromChild { pid, msg }).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => tracing::warn!(pid, error = %e, "bad message from a worker process"),
                }
            }
        }
    }
}

/// One command-line connection: one request line (at most 64 KiB), one
/// answer line.
async fn serve_control(stream: UnixStream, events: mpsc::Sender<Event>) -> io::Result<()> {
    let (rd, mut wr) = stream.into_split();
    let mut line = String::new();
    let mut rd = BufReader::new(rd.take(64 * 1024));
    rd.read_line(&mut line).await?;
    let answer = match serde_json::from_str::<ControlRequest>(&line) {
        Ok(req) => {
            let (tx, rx) = oneshot::channel();
            events
                .send(Event::Control { req, reply: tx })
                .await
                .map_err(|_| io::Error::other("master stopping"))?;
            rx.await.map_err(|_| io::Error::other("no answer"))?
        }
        Err(e) => ControlResponse::Error {
            message: format!("bad request: {e}"),
        },
    };
    let mut out = serde_json::to_vec(&answer).map_err(io::Error::other)?;
    out.push(b'\n');
    wr.write_all(&out).await?;
    wr.shutdown().await
}
