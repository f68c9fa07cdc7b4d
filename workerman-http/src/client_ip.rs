//! [`client_ip`]: the client's address, behind trusted proxies or not.

use std::net::{IpAddr, Ipv4Addr};

use workerman_core::Connection;
use workerman_protocols::http::{Http, HttpSettings, Request, TrustedProxies};

/// The address of the client that sent `req` on `conn`: the peer address,
/// or, when the peer is one of `trusted`, what its `X-Forwarded-For` /
/// `X-Real-IP` headers say (see [`TrustedProxies`] for the rules).
///
/// A peer on a Unix socket (a proxy on the same machine) counts as trusted
/// when `trusted` trusts loopback; otherwise the result is `None`, since
/// such a peer has no IP address.
///
/// # Examples
///
/// ```no_run
/// # #![allow(dead_code, unused_variables)]
/// # use workerman_core::Connection;
/// # use workerman_http::{client_ip, Http, Request, TrustedProxies};
/// # fn f(conn: &Connection<Http>, req: &Request) {
/// // nginx on the same machine sets X-Real-IP / X-Forwarded-For:
/// let proxies = TrustedProxies::loopback();
/// let ip = client_ip(conn, req, &proxies);
/// # }
/// ```
pub fn client_ip<S: HttpSettings>(
    conn: &Connection<Http<S>>,
    req: &Request,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    match conn.remote_ip() {
        Some(peer) => Some(trusted.client_ip(peer, req)),
        None => {
            let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
            let ip = trusted.client_ip(local, req);
            (trusted.is_trusted(local) && ip != local).then_some(ip)
        }
    }
}
