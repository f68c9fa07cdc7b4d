//! Worker and peer addresses.

use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use crate::Error;

/// The address of one end of a connection: an IP socket address or a Unix
/// socket path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SocketAddress {
    /// An IPv4 or IPv6 address and port.
    Inet(SocketAddr),
    /// A Unix domain socket; `None` for an unnamed socket (the usual
    /// client end).
    Unix(Option<PathBuf>),
}

impl SocketAddress {
    /// The IP address, if this is an IP socket. IPv6 addresses come without
    /// brackets (Workerman keeps them; we return the bare address).
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            SocketAddress::Inet(a) => Some(a.ip()),
            SocketAddress::Unix(_) => None,
        }
    }

    /// The port, if this is an IP socket.
    pub fn port(&self) -> Option<u16> {
        match self {
            SocketAddress::Inet(a) => Some(a.port()),
            SocketAddress::Unix(_) => None,
        }
    }

    /// The IP socket address, if this is one.
    pub fn as_inet(&self) -> Option<SocketAddr> {
        match self {
            SocketAddress::Inet(a) => Some(*a),
            SocketAddress::Unix(_) => None,
        }
    }

    /// The Unix socket path, if this is a named Unix socket.
    pub fn as_unix_path(&self) -> Option<&Path> {
        match self {
            SocketAddress::Unix(p) => p.as_deref(),
            SocketAddress::Inet(_) => None,
        }
    }

    pub(crate) fn from_unix(addr: &tokio::net::unix::SocketAddr) -> Self {
        SocketAddress::Unix(addr.as_pathname().map(Path::to_path_buf))
    }
}

impl fmt::Display for SocketAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketAddress::Inet(a) => write!(f, "{a}"),
            SocketAddress::Unix(Some(p)) => write!(f, "unix:{}", p.display()),
            SocketAddress::Unix(None) => f.write_str("unix:(unnamed)"),
        }
    }
}

impl From<SocketAddr> for SocketAddress {
    fn from(a: SocketAddr) -> Self {
        SocketAddress::Inet(a)
    }
}

/// Where a listener or client connection goes, after parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Inet(SocketAddr),
    Unix(PathBuf),
}

/// A parsed `scheme://host:port` or `scheme:///absolute/path` address.
#[derive(Debug, Clone)]
pub(crate) struct ParsedAddress {
    pub(crate) target: Target,
    /// The scheme was `udp://` (raw datagrams).
    pub(crate) udp: bool,
}

/// Parses a worker or client address and checks that its scheme selects
/// protocol `expected`.
///
/// * `text://127.0.0.1:5678`, `tcp://[::1]:2347`, `frame://localhost:5679`;
/// * `unix:///run/app.sock`: a Unix socket with the raw protocol (`tcp`);
/// * `text:///run/app.sock`: a Unix socket with protocol `text` (Workerman
///   spells this `text://...` plus `transport = 'unix'`).
pub(crate) fn parse_address(address: &str, expected: &'static str) -> Result<ParsedAddress, Error> {
    let invalid = |reason| Error::InvalidAddress {
        address: address.to_owned(),
        reason,
    };
    let (scheme, rest) = address
        .split_once("://")
        .ok_or_else(|| invalid("expected scheme://host:port, e.g. text://127.0.0.1:5678"))?;
    let scheme = scheme.to_ascii_lowercase();
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric());
    if !scheme_ok {
        return Err(invalid(
            "the scheme must be letters and digits, starting with a letter",
        ));
    }
    // `unix://` and `udp://` are the raw protocol over a Unix socket and
    // over UDP.
    let protocol = if scheme == "unix" || scheme == "udp" {
        "tcp"
    } else {
        scheme.as_str()
    };
    if protocol != expected {
        return Err(Error::SchemeMismatch {
            address: address.to_owned(),
            scheme,
            expected,
        });
    }
    let target = if rest.starts_with('/') {
        if rest.len() < 2 {
            return Err(invalid("empty unix socket path"));
        }
        Target::Unix(PathBuf::from(rest))
    } else if scheme == "unix" {
        return Err(invalid(
            "unix:// needs an absolute path, e.g. unix:///tmp/app.sock",
        ));
    } else {
        let mut addrs = rest
            .to_socket_addrs()
            .map_err(|_| invalid("expected host:port with a numeric port, e.g. 127.0.0.1:5678"))?;
        Target::Inet(
            addrs
                .next()
                .ok_or_else(|| invalid("the host resolves to no address"))?,
        )
    };
    Ok(ParsedAddress {
        target,
        udp: scheme == "udp",
    })
}

/// Parses an outgoing connection's URL: like [`parse_address`], and the
/// part after `host:port` (`/path?query`) is the path of the target.
pub(crate) fn parse_client_address(
    address: &str,
    expected: &'static str,
) -> Result<(ParsedAddress, workerman_protocols::ClientTarget, bool), Error> {
    let (scheme, rest) = address.split_once("://").unwrap_or(("", address));
    // `wss://` for a `ws` protocol (any `<scheme>s://`): the same protocol
    // over TLS.
    let secure = scheme.eq_ignore_ascii_case(&format!("{expected}s"));
    let scheme = if secure { expected } else { scheme };
    if rest.starts_with('/') {
        let parsed = parse_address(&format!("{scheme}://{rest}"), expected)?;
        return Ok((
            parsed,
            workerman_protocols::ClientTarget::new("", None, "/"),
            secure,
        ));
    }
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
        Some(i) => (&rest[..i], rest[i..].to_owned()),
        None => (rest, "/".to_owned()),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (
            h.trim_start_matches('[').trim_end_matches(']'),
            p.parse::<u16>().ok(),
        ),
        None => (authority, None),
    };
    // A host name is resolved when connecting (without blocking the
    // runtime), not here: keep the port and an unspecified address.
    let to_parse = match (host.parse::<std::net::IpAddr>(), port) {
        (Err(_), Some(p)) if !host.is_empty() => format!("{scheme}://0.0.0.0:{p}"),
        _ => format!("{scheme}://{authority}"),
    };
    let parsed = parse_address(&to_parse, expected).map_err(|e| match e {
        Error::InvalidAddress { reason, .. } => Error::InvalidAddress {
            address: address.to_owned(),
            reason,
        },
        Error::SchemeMismatch {
            scheme, expected, ..
        } => Error::SchemeMismatch {
            address: address.to_owned(),
            scheme,
            expected,
        },
        other => other,
    })?;
    Ok((
        parsed,
        workerman_protocols::ClientTarget::new(host, port, path),
        secure,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_schemes_and_targets() {
        let a = parse_address("text://127.0.0.1:5678", "text").unwrap();
        assert_eq!(a.target, Target::Inet("127.0.0.1:5678".parse().unwrap()));
        let a = parse_address("TCP://[::1]:80", "tcp").unwrap();
        assert_eq!(a.target, Target::Inet("[::1]:80".parse().unwrap()));
        let a = parse_address("unix:///tmp/x.sock", "tcp").unwrap();
        assert_eq!(a.target, Target::Unix("/tmp/x.sock".into()));
        let a = parse_address("text:///tmp/x.sock", "text").unwrap();
        assert_eq!(a.target, Target::Unix("/tmp/x.sock".into()));
    }

    #[test]
    fn rejects_bad_addresses() {
        for bad in [
            "127.0.0.1:80",
            "text//127.0.0.1:80",
            "1x://127.0.0.1:80",
            "te-xt://127.0.0.1:80",
            "text://127.0.0.1",
            "text://127.0.0.1:port",
            "text://127.0.0.1:99999",
            "unix://relative.sock",
            "text:///",
        ] {
            let err = parse_address(bad, "text").unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::InvalidAddress { .. } | Error::SchemeMismatch { .. }
                ),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn client_urls_keep_host_and_path() {
        let (p, t, secure) =
            parse_client_address("text://localhost:80/chat?room=1", "text").unwrap();
        assert!(!secure);
        let (_, _, secure) = parse_client_address("texts://localhost:443/", "text").unwrap();
        assert!(secure);
        assert!(matches!(p.target, Target::Inet(a) if a.port() == 80));
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("localhost", Some(80), "/chat?room=1")
        );
        let (_, t, _) = parse_client_address("text://[::1]:9?x", "text").unwrap();
        assert_eq!((t.host.as_str(), t.path.as_str()), ("::1", "/?x"));
        let (_, t, _) = parse_client_address("text://127.0.0.1:9", "text").unwrap();
        assert_eq!(t.path, "/");
        let (p, _, _) = parse_client_address("text:///tmp/s.sock", "text").unwrap();
        assert_eq!(p.target, Target::Unix("/tmp/s.sock".into()));
        assert!(parse_client_address("text://nohost/x", "text").is_err());
        // Names are not resolved here.
        let (p, t, _) = parse_client_address("text://no-such-host.invalid:7/", "text").unwrap();
        assert!(matches!(p.target, Target::Inet(a) if a.port() == 7));
        assert_eq!(t.host, "no-such-host.invalid");
    }

    #[test]
    fn scheme_must_match_protocol() {
        let err = parse_address("frame://127.0.0.1:1", "text").unwrap_err();
        assert!(matches!(
            err,
            Error::SchemeMismatch {
                expected: "text",
                ..
            }
        ));
        let err = parse_address("unix:///tmp/a", "text").unwrap_err();
        assert!(matches!(err, Error::SchemeMismatch { .. }));
    }
}
