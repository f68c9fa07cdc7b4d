//! Sessions (Workerman's `Request::session()`): an id cookie, data loaded
//! from a [`SessionStore`] and saved back with the response.

mod store;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;
use workerman_protocols::http::{Cookie, Request, Response, SameSite};

pub use store::{FileStore, MemoryStore, SessionStore};

/// The data of one session: names to JSON values.
pub type SessionData = serde_json::Map<String, Value>;

/// Why a session could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The store's file system failed.
    #[error("session store I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// Another backend failed (for a store of your own).
    #[error("session store failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

/// Session settings; the defaults follow PHP's `session.*` settings as
/// Workerman reads them, except where noted.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionConfig {
    /// The id cookie's name. Default `PHPSID` (Workerman's `Session::$name`).
    pub cookie_name: String,
    /// How long a session lives without being written (or touched).
    /// Default 1440 s (`session.gc_maxlifetime`).
    pub lifetime: Duration,
    /// The cookie's `Max-Age`; `None` (default) makes a browser-session
    /// cookie (`session.cookie_lifetime = 0`).
    pub cookie_lifetime: Option<Duration>,
    /// The cookie's `Path`. Default `/`.
    pub cookie_path: String,
    /// The cookie's `Domain`. Default none.
    pub cookie_domain: Option<String>,
    /// The cookie's `Secure`. Default false (turn it on behind HTTPS).
    pub secure: bool,
    /// The cookie's `HttpOnly`. Default **true** (PHP's default is off;
    /// scripts have no business reading a session id).
    pub http_only: bool,
    /// The cookie's `SameSite`. Default **`Lax`** (PHP's default is none).
    pub same_site: Option<SameSite>,
    /// Garbage collection runs on one save in this many (default 1000,
    /// PHP's `gc_probability / gc_divisor`); 0 never (run
    /// [`Sessions::gc`] from a timer instead).
    pub gc_one_in: u32,
    /// Whether saving an unmodified session restarts its lifetime. Default
    /// false.
    pub auto_update_timestamp: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            cookie_name: "PHPSID".to_owned(),
            lifetime: Duration::from_secs(1440),
            cookie_lifetime: None,
            cookie_path: "/".to_owned(),
            cookie_domain: None,
            secure: false,
            http_only: true,
            same_site: Some(SameSite::Lax),
            gc_one_in: 1000,
            auto_update_timestamp: false,
        }
    }
}

impl SessionConfig {
    /// Sets [`cookie_name`](SessionConfig::cookie_name).
    #[must_use]
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self
    }

    /// Sets [`lifetime`](SessionConfig::lifetime).
    #[must_use]
    pub fn lifetime(mut self, d: Duration) -> Self {
        self.lifetime = d;
        self
    }

    /// Sets [`cookie_lifetime`](SessionConfig::cookie_lifetime).
    #[must_use]
    pub fn cookie_lifetime(mut self, d: Option<Duration>) -> Self {
        self.cookie_lifetime = d;
        self
    }

    /// Sets [`cookie_path`](SessionConfig::cookie_path).
    #[must_use]
    pub fn cookie_path(mut self, path: impl Into<String>) -> Self {
        self.cookie_path = path.into();
        self
    }

    /// Sets [`cookie_domain`](SessionConfig::cookie_domain).
    #[must_use]
    pub fn cookie_domain(mut self, domain: Option<String>) -> Self {
        self.cookie_domain = domain;
        self
    }

    /// Sets [`secure`](SessionConfig::secure).
    #[must_use]
    pub fn secure(mut self, on: bool) -> Self {
        self.secure = on;
        self
    }

    /// Sets [`http_only`](SessionConfig::http_only).
    #[must_use]
    pub fn http_only(mut self, on: bool) -> Self {
        self.http_only = on;
        self
    }

    /// Sets [`same_site`](SessionConfig::same_site).
    #[must_use]
    pub fn same_site(mut self, s: Option<SameSite>) -> Self {
        self.same_site = s;
        self
    }

    /// Sets [`gc_one_in`](SessionConfig::gc_one_in).
    #[must_use]
    pub fn gc_one_in(mut self, n: u32) -> Self {
        self.gc_one_in = n;
        self
    }

    /// Sets [`auto_update_timestamp`](SessionConfig::auto_update_timestamp).
    #[must_use]
    pub fn auto_update_timestamp(mut self, on: bool) -> Self {
        self.auto_update_timestamp = on;
        self
    }

    fn cookie(&self, id: &str) -> Cookie {
        let mut c = Cookie::new(self.cookie_name.clone(), id)
            .path(self.cookie_path.clone())
            .secure(self.secure)
            .http_only(self.http_only);
        if let Some(age) = self.cookie_lifetime {
            c = c.max_age(age);
        }
        if let Some(d) = &self.cookie_domain {
            c = c.domain(d.clone());
        }
        if let Some(s) = self.same_site {
            c = c.same_site(s);
        }
        c
    }
}

/// The session manager of a service: the store and the settings. Cheap to
/// clone; keep one in the service.
///
/// A request's session is [`load`](Sessions::load)ed, read and changed,
/// then [`save`](Sessions::save)d together with the response, which gains
/// the id cookie when the session is new. (Workerman saves when the
/// response is encoded; saving is I/O here, so it is an explicit await.)
///
/// Ids are 32 hex digits from the thread's CSPRNG. An id the store does not
/// know is never adopted (PHP's `use_strict_mode`): the client gets a new
/// one, so nobody can fix a victim's session id in advance. After a login,
/// [`Session::regenerate_id`] changes the id and drops the old one.
///
/// # Examples
///
/// ```no_run
/// # #![allow(dead_code, unused_variables)]
/// use workerman_core::{async_trait, Connection, Service};
/// use workerman_http::{Http, Request, Response, Sessions};
///
/// struct Counter {
///     sessions: Sessions,
/// }
///
/// #[async_trait]
/// impl Service for Counter {
///     type Protocol = Http;
///     async fn on_message(&self, conn: &Connection<Http>, req: Request) {
///         let Ok(mut session) = self.sessions.load(&req).await else {
///             let _ = conn.send(Response::new(500));
///             return;
///         };
///         let visits = session.get::<u64>("visits").unwrap_or(0) + 1;
///         session.set("visits", visits);
///         let resp = Response::text(format!("visit number {visits}"));
///         match self.sessions.save(session, resp).await {
///             Ok(resp) => drop(conn.send(resp)),
///             Err(_) => drop(conn.send(Response::new(500))),
///         }
///     }
/// }
/// ```
#[derive(Clone)]
pub struct Sessions {
    store: Arc<dyn SessionStore>,
    config: Arc<SessionConfig>,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Sessions {
    /// Sessions in `store` with the default settings.
    pub fn new(store: impl SessionStore) -> Self {
        Sessions::with_config(store, SessionConfig::default())
    }

    /// Sessions in `store` with `config`.
    pub fn with_config(store: impl SessionStore, config: SessionConfig) -> Self {
        Sessions {
            store: Arc::new(store),
            config: Arc::new(config),
        }
    }

    /// Sessions in a [`MemoryStore`] with the default settings.
    pub fn memory() -> Self {
        Sessions::new(MemoryStore::new())
    }

    /// The settings.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &dyn SessionStore {
        &*self.store
    }

    /// The session of `req`: the one its id cookie names, if the store has
    /// it (and it has not expired), or a new, empty one.
    ///
    /// # Errors
    ///
    /// When the store fails.
    pub async fn load(&self, req: &Request) -> Result<Session, SessionError> {
        if let Some(id) = req
            .cookie(&self.config.cookie_name)
            .filter(|id| valid_id(id))
        {
            if let Some(bytes) = self.store.read(id, self.config.lifetime).await? {
                match serde_json::from_slice::<SessionData>(&bytes) {
                    Ok(data) => {
                        return Ok(Session {
                            id: id.to_owned(),
                            data,
                            is_new: false,
                            modified: false,
                            old_id: None,
                            destroyed: false,
                        })
                    }
                    Err(e) => tracing::warn!(error = %e, "unreadable session data; starting anew"),
                }
            }
        }
        Ok(Session::new())
    }

    /// Saves `session` (if it changed; an emptied one is deleted) and
    /// returns `response` with the id cookie added when the client does
    /// not have it yet (or a removal cookie after
    /// [`Session::destroy`]). Now and then, garbage-collects the store.
    ///
    /// # Errors
    ///
    /// When the store fails; the response is then dropped (answer 500).
    pub async fn save(
        &self,
        session: Session,
        response: Response,
    ) -> Result<Response, SessionError> {
        let cfg = &*self.config;
        let mut response = response;
        if let Some(old) = &session.old_id {
            self.store.destroy(old).await?;
        }
        if session.destroyed {
            self.store.destroy(&session.id).await?;
            let removal = Cookie::removal(cfg.cookie_name.clone()).path(cfg.cookie_path.clone());
            let removal = match &cfg.cookie_domain {
                Some(d) => removal.domain(d.clone()),
                None => removal,
            };
            return Ok(response.with_cookie(removal));
        }
        if session.data.is_empty() {
            if session.modified && !session.is_new {
                self.store.destroy(&session.id).await?;
            }
        } else {
            if session.modified || session.is_new {
                let bytes = serde_json::to_vec(&session.data)
                    .map_err(|e| SessionError::Backend(Box::new(e)))?;
                self.store.write(&session.id, &bytes, cfg.lifetime).await?;
            } else if cfg.auto_update_timestamp {
                self.store.touch(&session.id, cfg.lifetime).await?;
            }
            if session.is_new {
                response = response.with_cookie(cfg.cookie(&session.id));
            }
        }
        if cfg.gc_one_in > 0 && rand::random_ratio(1, cfg.gc_one_in) {
            match self.store.gc(cfg.lifetime).await {
                Ok(n) => tracing::debug!(removed = n, "session garbage collection"),
                Err(e) => tracing::warn!(error = %e, "session garbage collection failed"),
            }
        }
        Ok(response)
    }

    /// Deletes every expired session now; returns how many.
    ///
    /// # Errors
    ///
    /// When the store fails.
    pub async fn gc(&self) -> Result<usize, SessionError> {
        self.store.gc(self.config.lifetime).await
    }
}

/// Ids we make and accept: ASCII letters and digits, 1 to 128 of them.
fn valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn new_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// One request's session (Workerman's `Session` object).
///
/// Values are JSON: anything `serde` can serialise goes in with
/// [`set`](Session::set) (strings, numbers, booleans, `serde_json::json!`
/// values) and comes out typed with [`get`](Session::get).
#[derive(Debug, Clone)]
pub struct Session {
    id: String,
    data: SessionData,
    is_new: bool,
    modified: bool,
    old_id: Option<String>,
    destroyed: bool,
}

impl Session {
    /// A new, empty session with a fresh id (not stored until saved with
    /// data in it).
    pub fn new() -> Self {
        Session {
            id: new_id(),
            data: SessionData::new(),
            is_new: true,
            modified: false,
            old_id: None,
            destroyed: false,
        }
    }

    /// The id (the cookie's value).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the client does not have this id yet.
    pub fn is_new(&self) -> bool {
        self.is_new
    }

    /// Whether something changed since it was loaded.
    pub fn is_modified(&self) -> bool {
        self.modified
    }

    /// Value `key` as a `T`; `None` when missing or not a `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.data.get(key).and_then(|v| T::deserialize(v).ok())
    }

    /// Value `key` as JSON.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.data.get(key)
    }

    /// Sets `key`.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        self.data.insert(key.into(), value.into());
        self.modified = true;
    }

    /// Sets several keys.
    pub fn put<K: Into<String>, V: Into<Value>>(
        &mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) {
        for (k, v) in pairs {
            self.set(k, v);
        }
    }

    /// Removes `key`, returning its value.
    pub fn delete(&mut self, key: &str) -> Option<Value> {
        let old = self.data.remove(key);
        self.modified |= old.is_some();
        old
    }

    /// Removes several keys (Workerman's `forget`).
    pub fn forget<'a>(&mut self, keys: impl IntoIterator<Item = &'a str>) {
        for k in keys {
            self.delete(k);
        }
    }

    /// Value `key` as a `T`, removed from the session.
    pub fn pull<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        self.delete(key).and_then(|v| T::deserialize(v).ok())
    }

    /// Every value.
    pub fn all(&self) -> &SessionData {
        &self.data
    }

    /// Removes every value (the session is deleted when saved).
    pub fn flush(&mut self) {
        if !self.data.is_empty() {
            self.data.clear();
            self.modified = true;
        }
    }

    /// Whether `key` is set and not null.
    pub fn has(&self, key: &str) -> bool {
        self.data.get(key).is_some_and(|v| !v.is_null())
    }

    /// Whether `key` is set, even to null.
    pub fn exists(&self, key: &str) -> bool {
        self.data.contains_key(key)
    }

    /// Gives the session a new id, keeping its data; the old id is deleted
    /// when saved and the client gets the new cookie (do this after a
    /// login).
    pub fn regenerate_id(&mut self) {
        if !self.is_new && self.old_id.is_none() {
            self.old_id = Some(std::mem::replace(&mut self.id, new_id()));
        } else {
            self.id = new_id();
        }
        self.is_new = true;
        self.modified = true;
    }

    /// Ends the session: its data is deleted when saved and the browser is
    /// told to drop the cookie (a logout).
    pub fn destroy(&mut self) {
        self.data.clear();
        self.destroyed = true;
    }
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}
