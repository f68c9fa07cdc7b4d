//! Forms and uploads: a page with a form (text fields and a file upload)
//! that echoes back what it received, and a per-visitor counter kept in a
//! session.
//!
//! Run: `cargo run --release --example http_forms -- start` (add `-d` to daemonize;
//! then `status`, `connections`, `reload`, `stop` with the same command).
//! Try: open http://127.0.0.1:2349/ in a browser, or
//! `curl -c jar -b jar -F name=Ann -F upload=@Cargo.toml http://127.0.0.1:2349/submit`.
//!
//! Listens on `http://127.0.0.1:2349`; set `WORKERMAN_ADDR` to change it.
//! Sessions are files in `workerman-sessions-<uid>` under the system temporary
//! folder (shared by all worker processes); uploads are limited by the
//! worker's `max_package_size` (8 MiB here).

use std::fmt::Write as _;

use workerman::http::{FileStore, Request, Response, Sessions};
use workerman::prelude::*;

struct Forms {
    sessions: Sessions,
}

const FORM: &str = r#"<form method="post" action="/submit" enctype="multipart/form-data">
  <p><label>Name <input name="name"></label></p>
  <p><label>Message <textarea name="message"></textarea></label></p>
  <p><label><input type="checkbox" name="colors[]" value="red"> red</label>
     <label><input type="checkbox" name="colors[]" value="blue"> blue</label></p>
  <p><label>File <input type="file" name="upload"></label></p>
  <p><button>Send</button></p>
</form>"#;

/// Text made safe to put in HTML.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(visits: u64, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>workerman-rs forms</title></head><body>\
         <h1>Forms and uploads</h1><p>Your visit number {visits} (kept in a session).</p>\
         {body}</body></html>"
    )
}

/// What the form sent, as HTML.
fn echo(req: &Request) -> String {
    let mut out =
        String::from("<h2>Received</h2><table border=\"1\"><tr><th>field</th><th>value</th></tr>");
    for (name, value) in req.form().iter() {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(name),
            escape(value)
        );
    }
    out.push_str("</table><h2>Files</h2><ul>");
    for f in req.files() {
        let _ = write!(
            out,
            "<li>{}: {} ({}, {} bytes)</li>",
            escape(f.field_name()),
            escape(f.file_name()),
            escape(f.content_type()),
            f.size()
        );
    }
    out.push_str("</ul><p><a href=\"/\">again</a></p>");
    out
}

#[async_trait]
impl Service for Forms {
    type Protocol = Http;

    async fn on_message(&self, conn: &Connection<Http>, req: Request) {
        let body = match (req.method().as_str(), req.path()) {
            ("GET", "/") => FORM.to_owned(),
            ("POST", "/submit") => echo(&req),
            _ => {
                let _ = conn.send(Response::new(404).with_body("<h3>404 Not Found</h3>"));
                return;
            }
        };
        let mut session = match self.sessions.load(&req).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "session store failed");
                let _ = conn.send(Response::new(500));
                return;
            }
        };
        let visits = session.get::<u64>("visits").unwrap_or(0) + 1;
        session.set("visits", visits);
        let response = Response::html(page(visits, &body));
        match self.sessions.save(session, response).await {
            Ok(response) => {
                let _ = conn.send(response);
            }
            Err(e) => {
                tracing::warn!(error = %e, "session not saved");
                let _ = conn.send(Response::new(500));
            }
        }
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "http://127.0.0.1:2349".into());
    let store = match FileStore::in_temp_dir() {
        Ok(store) => store,
        Err(e) => {
            eprintln!("cannot create the session folder: {e}");
            std::process::exit(1);
        }
    };
    let forms = Forms {
        sessions: Sessions::new(store),
    };
    Worker::new(addr, forms)
        .name("http_forms")
        .max_package_size(8 * 1024 * 1024)
        .run_all()
}
