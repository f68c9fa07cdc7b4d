//! [`Cookie`]: one `Set-Cookie` response header.

use std::fmt;
use std::time::{Duration, SystemTime};

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

/// Bytes outside RFC 6265's cookie-octet, plus `%` so decoding is exact.
const COOKIE_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b',')
    .add(b';')
    .add(b'\\')
    .add(b'%')
    .add(0x7f);

/// The `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent only with same-site requests.
    Strict,
    /// Sent with same-site requests and top-level navigations.
    Lax,
    /// Sent with every request (browsers require `Secure` with it).
    None,
}

impl SameSite {
    fn as_str(&self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// A cookie to set, with its attributes (Workerman's
/// `Response::cookie(name, value, max_age, path, domain, secure, http_only,
/// same_site)`). Add it to a response with
/// [`Response::with_cookie`](super::Response::with_cookie).
///
/// The value is percent-encoded where RFC 6265 does not allow the byte
/// (space, `"`, `,`, `;`, `\`, controls, and `%` itself), which
/// [`Request::cookie`](super::Request::cookie) decodes. Bytes that are not
/// allowed in the name or in an attribute are dropped, so a cookie can
/// never add a header line.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use workerman_protocols::http::{Cookie, SameSite};
///
/// let c = Cookie::new("theme", "dark blue")
///     .max_age(Duration::from_secs(3600))
///     .path("/")
///     .http_only(true)
///     .same_site(SameSite::Lax);
/// assert_eq!(
///     c.to_string(),
///     "theme=dark%20blue; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    name: String,
    value: String,
    max_age: Option<Duration>,
    expires: Option<SystemTime>,
    domain: Option<String>,
    path: Option<String>,
    secure: bool,
    http_only: bool,
    same_site: Option<SameSite>,
}

impl Cookie {
    /// A session cookie (no expiry) with no attributes.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Cookie {
            name: name.into(),
            value: value.into(),
            max_age: None,
            expires: None,
            domain: None,
            path: None,
            secure: false,
            http_only: false,
            same_site: None,
        }
    }

    /// A cookie that tells the browser to delete `name` (empty value,
    /// `Max-Age=0`). Give it the same path and domain as the cookie it
    /// removes.
    pub fn removal(name: impl Into<String>) -> Self {
        Cookie::new(name, "").max_age(Duration::ZERO)
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value (not encoded).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// `Max-Age`: seconds until the browser forgets it.
    #[must_use]
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// `Expires`: when the browser forgets it.
    #[must_use]
    pub fn expires(mut self, at: SystemTime) -> Self {
        self.expires = Some(at);
        self
    }

    /// `Domain`.
    #[must_use]
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// `Path`.
    #[must_use]
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// `Secure`: sent over HTTPS only.
    #[must_use]
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// `HttpOnly`: hidden from scripts.
    #[must_use]
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.http_only = http_only;
        self
    }

    /// `SameSite`.
    #[must_use]
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = Some(same_site);
        self
    }
}

impl fmt::Display for Cookie {
    /// The `Set-Cookie` header value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name: String = self
            .name
            .chars()
            .filter(|&c| c.is_ascii() && super::response::is_tchar(c as u8))
            .collect();
        write!(
            f,
            "{name}={}",
            utf8_percent_encode(&self.value, COOKIE_VALUE)
        )?;
        if let Some(at) = self.expires {
            write!(f, "; Expires={}", httpdate::fmt_http_date(at))?;
        }
        if let Some(age) = self.max_age {
            write!(f, "; Max-Age={}", age.as_secs())?;
        }
        if let Some(d) = &self.domain {
            write!(f, "; Domain={}", attribute(d))?;
        }
        if let Some(p) = &self.path {
            write!(f, "; Path={}", attribute(p))?;
        }
        if self.secure {
            f.write_str("; Secure")?;
        }
        if self.http_only {
            f.write_str("; HttpOnly")?;
        }
        if let Some(s) = self.same_site {
            write!(f, "; SameSite={}", s.as_str())?;
        }
        Ok(())
    }
}

/// An attribute value without `;` and control characters.
fn attribute(v: &str) -> String {
    v.chars().filter(|&c| c != ';' && !c.is_control()).collect()
}
