//! [`TrustedProxies`]: the real client address behind reverse proxies
//! (manual FAQ "real client IP behind a proxy").

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::request::Request;

/// The reverse proxies whose `X-Forwarded-For` / `X-Real-IP` headers are
/// believed.
///
/// A client can send those headers itself, so they only mean something
/// when the connection comes from a proxy you run. [`client_ip`] returns
/// the peer address unless the peer is trusted; then it walks
/// `X-Forwarded-For` from the right (the entry added by the nearest proxy)
/// past every trusted proxy and returns the first address that is not one
/// (as nginx's `real_ip_recursive on` does). Without `X-Forwarded-For`, a
/// trusted peer's `X-Real-IP` is used. An entry that is not an IP address
/// stops the walk at the last trusted hop.
///
/// The default trusts nobody.
///
/// [`client_ip`]: TrustedProxies::client_ip
///
/// # Examples
///
/// ```
/// use std::net::IpAddr;
/// use workerman_protocols::http::{Request, TrustedProxies};
///
/// let proxies = TrustedProxies::parse(["127.0.0.1", "10.0.0.0/8"]).unwrap();
/// let req = Request::parse(
///     b"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.7, 10.1.2.3\r\n\r\n",
/// )
/// .unwrap();
/// let nginx: IpAddr = "127.0.0.1".parse().unwrap();
/// let stranger: IpAddr = "198.51.100.1".parse().unwrap();
/// assert_eq!(proxies.client_ip(nginx, &req), "203.0.113.7".parse::<IpAddr>().unwrap());
/// // Not from a trusted proxy: the header is the client's word, ignored.
/// assert_eq!(proxies.client_ip(stranger, &req), stranger);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
}

/// A trusted proxy entry that is neither an IP address nor a CIDR block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an IP address or CIDR block: {input:?}")]
pub struct InvalidProxy {
    /// What was given.
    pub input: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    a[full] & mask == b[full] & mask
}

impl FromStr for IpNet {
    type Err = InvalidProxy;
    fn from_str(s: &str) -> Result<Self, InvalidProxy> {
        let invalid = || InvalidProxy {
            input: s.to_owned(),
        };
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| invalid())?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= max)
                .ok_or_else(invalid)?,
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, n) in self.nets.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}/{}", n.addr, n.prefix)?;
        }
        Ok(())
    }
}

impl TrustedProxies {
    /// Trusts nobody: [`client_ip`](TrustedProxies::client_ip) is always
    /// the peer.
    pub fn none() -> Self {
        TrustedProxies::default()
    }

    /// Trusts a proxy on the same machine (127.0.0.0/8 and ::1), the usual
    /// nginx-in-front set-up.
    pub fn loopback() -> Self {
        TrustedProxies {
            nets: vec![
                IpNet {
                    addr: IpAddr::from([127, 0, 0, 0]),
                    prefix: 8,
                },
                IpNet {
                    addr: IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
                    prefix: 128,
                },
            ],
        }
    }

    /// Trusts the given addresses and CIDR blocks (`"10.0.0.0/8"`,
    /// `"::1"`, `"192.168.1.10"`).
    ///
    /// # Errors
    ///
    /// The first entry that is not an address or a block.
    pub fn parse<I, S>(entries: I) -> Result<Self, InvalidProxy>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let nets = entries
            .into_iter()
            .map(|e| e.as_ref().parse())
            .collect::<Result<_, _>>()?;
        Ok(TrustedProxies { nets })
    }

    /// Adds an address or CIDR block.
    ///
    /// # Errors
    ///
    /// When `entry` is not an address or a block.
    pub fn add(&mut self, entry: &str) -> Result<(), InvalidProxy> {
        self.nets.push(entry.parse()?);
        Ok(())
    }

    /// Whether `ip` is a trusted proxy (IPv4-mapped IPv6 addresses count as
    /// IPv4).
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|n| n.contains(ip))
    }

    /// The client's address for a request that arrived from `peer`; see
    /// the type docs for the rules.
    pub fn client_ip(&self, peer: IpAddr, req: &Request) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.is_trusted(peer) {
            return peer;
        }
        let mut forwarded = req.header_all("x-forwarded-for").peekable();
        if forwarded.peek().is_some() {
            let entries: Vec<&[u8]> = forwarded
                .flat_map(|line| line.split(|&b| b == b','))
                .collect();
            let mut candidate = peer;
            for entry in entries.iter().rev() {
                let Some(ip) = parse_forwarded_ip(entry) else {
                    return candidate;
                };
                candidate = ip;
                if !self.is_trusted(ip) {
                    return ip;
                }
            }
            return candidate;
        }
        req.header_bytes("x-real-ip")
            .and_then(parse_forwarded_ip)
            .unwrap_or(peer)
    }
}

/// `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]`, `[::1]:80`.
fn parse_forwarded_ip(entry: &[u8]) -> Option<IpAddr> {
    let s = std::str::from_utf8(entry).ok()?.trim();
    if let Some(rest) = s.strip_prefix('[') {
        let (inside, _) = rest.split_once(']')?;
        return inside.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    let (host, port) = s.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn nets() {
        let t = TrustedProxies::parse(["10.0.0.0/8", "192.168.1.0/25", "fd00::/8"]).unwrap();
        assert!(t.is_trusted(ip("10.200.1.1")));
        assert!(t.is_trusted(ip("192.168.1.127")));
        assert!(!t.is_trusted(ip("192.168.1.128")));
        assert!(t.is_trusted(ip("fd12::1")));
        assert!(t.is_trusted(ip("::ffff:10.0.0.1")));
        assert!(!t.is_trusted(ip("11.0.0.1")));
        assert!(TrustedProxies::parse(["10.0.0.0/33"]).is_err());
        assert!(TrustedProxies::parse(["nope"]).is_err());
    }

    #[test]
    fn forwarded_entries() {
        assert_eq!(parse_forwarded_ip(b" 1.2.3.4 "), Some(ip("1.2.3.4")));
        assert_eq!(parse_forwarded_ip(b"1.2.3.4:80"), Some(ip("1.2.3.4")));
        assert_eq!(parse_forwarded_ip(b"[::1]:80"), Some(ip("::1")));
        assert_eq!(parse_forwarded_ip(b"2001:db8::1"), Some(ip("2001:db8::1")));
        assert_eq!(parse_forwarded_ip(b"unknown"), None);
    }

    #[test]
    fn walk() {
        let t = TrustedProxies::parse(["127.0.0.1", "10.0.0.0/8"]).unwrap();
        let req = |h: &str| {
            Request::parse(format!("GET / HTTP/1.1\r\nHost: a\r\n{h}\r\n").as_bytes()).unwrap()
        };
        let local = ip("127.0.0.1");
        // Every hop trusted: the leftmost.
        assert_eq!(
            t.client_ip(local, &req("X-Forwarded-For: 10.0.0.2, 10.0.0.3\r\n")),
            ip("10.0.0.2")
        );
        // A spoofed left part is skipped: the first untrusted from the right.
        assert_eq!(
            t.client_ip(
                local,
                &req("X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-For: 1.1.1.1, 10.0.0.9\r\n")
            ),
            ip("1.1.1.1")
        );
        assert_eq!(
            t.client_ip(local, &req("X-Forwarded-For: junk, 10.0.0.9\r\n")),
            ip("10.0.0.9")
        );
        assert_eq!(
            t.client_ip(local, &req("X-Real-IP: 9.9.9.9\r\n")),
            ip("9.9.9.9")
        );
        assert_eq!(t.client_ip(local, &req("")), local);
    }
}
