//! Server-Sent Events: a page that receives a stream of events from the
//! server (the clock, once a second) over one kept-open response.
//!
//! Run: `cargo run --release --example http_sse -- start` (add `-d` to daemonize;
//! then `status`, `connections`, `reload`, `stop` with the same command).
//! Try: open http://127.0.0.1:2352/ in a browser, or
//! `curl -N http://127.0.0.1:2352/events`.
//!
//! Listens on `http://127.0.0.1:2352`; set `WORKERMAN_ADDR` to change it.
//! Each stream gets a timer (as in Workerman's SSE example) that stops
//! itself once the browser has gone.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use workerman::http::{EventStream, Request, Response, ServerSentEvent};
use workerman::prelude::*;

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>workerman-rs SSE</title></head>
<body>
  <h1>Server-Sent Events</h1>
  <p>Events from <code>/events</code>:</p>
  <ol id="log"></ol>
  <script>
    const log = document.getElementById('log');
    const source = new EventSource('/events');
    source.addEventListener('tick', (e) => {
      const li = document.createElement('li');
      li.textContent = 'tick ' + e.lastEventId + ': ' + e.data;
      log.appendChild(li);
    });
    source.onerror = () => {
      const li = document.createElement('li');
      li.textContent = 'connection lost; the browser reconnects by itself';
      log.appendChild(li);
    };
  </script>
</body>
</html>
"#;

struct Clock;

#[async_trait]
impl Service for Clock {
    type Protocol = Http;

    async fn on_message(&self, conn: &Connection<Http>, req: Request) {
        if req.path() != "/events" {
            let _ = conn.send(Response::html(PAGE));
            return;
        }
        let Ok(events) = EventStream::start(conn).await else {
            return;
        };
        // Where a reconnecting browser left off (it sends Last-Event-ID).
        let mut n: u64 = req
            .header("last-event-id")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        // A retry hint first, then a tick every second.
        let _ = events.try_send(ServerSentEvent::comment_only("stream open").retry(2000));
        let timer = Timer::add(Duration::from_secs(1), move || {
            if !events.is_open() {
                if let Some(me) = Timer::current() {
                    Timer::del(me);
                }
                return;
            }
            n += 1;
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let event = ServerSentEvent::new(format!("unix time {now}"))
                .event("tick")
                .id(n.to_string());
            if let Err(e) = events.try_send(event) {
                tracing::debug!(error = %e, "event not sent");
            }
        });
        if let Err(e) = timer {
            tracing::warn!(error = %e, "no timer; closing the stream");
            conn.close(None);
        }
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "http://127.0.0.1:2352".into());
    Worker::new(addr, Clock).name("http_sse").run_all()
}
