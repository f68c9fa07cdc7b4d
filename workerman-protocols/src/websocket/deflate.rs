//! permessage-deflate (RFC 7692): negotiating the extension's parameters
//! and compressing and decompressing message payloads.
//!
//! A compressed message has RSV1 set on its first frame; its payload is
//! raw DEFLATE data flushed with a sync flush, less the flush's final
//! `00 00 ff ff`. Contexts are kept between messages unless the peer asked
//! us not to (`*_no_context_takeover`); windows are limited as negotiated
//! (`*_max_window_bits`, 9 to 15 here: zlib cannot make an 8-bit window,
//! so an offer that asks for one is declined).

use std::io;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::{HandshakeError, WebSocketError};

/// What every sync-flushed block ends with, and what is stripped from (and
/// appended back to) each message.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The extension's name.
pub(crate) const NAME: &str = "permessage-deflate";

/// What a client offers: the extension, and that the server may limit our
/// window.
pub(crate) const CLIENT_OFFER: &str = "permessage-deflate; client_max_window_bits";

/// The agreed parameters, from this side's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Params {
    /// Reset our compressor after every message.
    pub(crate) reset_ours: bool,
    /// Our compressor's LZ77 window, as a power of two (9 to 15).
    pub(crate) our_window_bits: u8,
}

/// One extension in a `Sec-WebSocket-Extensions` list: its name and its
/// parameters (values unquoted).
fn extensions(header: &str) -> impl Iterator<Item = (&str, Vec<(&str, Option<&str>)>)> {
    header.split(',').filter_map(|ext| {
        let mut parts = ext.split(';').map(str::trim);
        let name = parts.next().filter(|n| !n.is_empty())?;
        let params = parts
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim().trim_matches('"'))),
                None => (p, None),
            })
            .collect();
        Some((name, params))
    })
}

/// A window size parameter's value: 8 to 15, decimal, no leading zero.
fn window_bits(v: &str) -> Option<u8> {
    if v.starts_with('0') {
        return None;
    }
    v.parse().ok().filter(|b| (8..=15).contains(b))
}

/// Server: the first acceptable `permessage-deflate` offer among the
/// request's `Sec-WebSocket-Extensions` values, as the response header
/// value and our parameters. Offers with unknown, repeated or invalid
/// parameters are declined (RFC 7692 5), as are those asking us for an
/// 8-bit window.
pub(crate) fn negotiate<'a>(headers: impl Iterator<Item = &'a str>) -> Option<(String, Params)> {
    for header in headers {
        for (name, params) in extensions(header) {
            if !name.eq_ignore_ascii_case(NAME) {
                continue;
            }
            if let Some(accepted) = accept_offer(&params) {
                return Some(accepted);
            }
        }
    }
    None
}

fn accept_offer(params: &[(&str, Option<&str>)]) -> Option<(String, Params)> {
    let mut server_no_context = false;
    let mut server_bits = None;
    let mut seen: Vec<&str> = Vec::new();
    for &(key, value) in params {
        let key_lc = key.to_ascii_lowercase();
        if seen.iter().any(|s| s.eq_ignore_ascii_case(key)) {
            return None;
        }
        seen.push(key);
        match (key_lc.as_str(), value) {
            ("server_no_context_takeover", None) => server_no_context = true,
            ("client_no_context_takeover", None) => {}
            ("server_max_window_bits", Some(v)) => server_bits = Some(window_bits(v)?),
            ("client_max_window_bits", None) => {}
            ("client_max_window_bits", Some(v)) => {
                window_bits(v)?;
            }
            _ => return None,
        }
    }
    if server_bits == Some(8) {
        return None;
    }
    let mut response = String::from(NAME);
    if server_no_context {
        response.push_str("; server_no_context_takeover");
    }
    if let Some(b) = server_bits {
        response.push_str(&format!("; server_max_window_bits={b}"));
    }
    Some((
        response,
        Params {
            reset_ours: server_no_context,
            our_window_bits: server_bits.unwrap_or(15),
        },
    ))
}

/// Client: checks the server's `Sec-WebSocket-Extensions` answer to
/// [`CLIENT_OFFER`]: exactly `permessage-deflate` with valid parameters.
pub(crate) fn accept_response(header: &str) -> Result<Params, HandshakeError> {
    let mut exts = extensions(header);
    let (Some((name, params)), None) = (exts.next(), exts.next()) else {
        return Err(HandshakeError::UnexpectedExtension);
    };
    if !name.eq_ignore_ascii_case(NAME) {
        return Err(HandshakeError::UnexpectedExtension);
    }
    let mut ours = Params {
        reset_ours: false,
        our_window_bits: 15,
    };
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in params {
        if seen.iter().any(|s| s.eq_ignore_ascii_case(key)) {
            return Err(HandshakeError::UnexpectedExtension);
        }
        seen.push(key);
        match (key.to_ascii_lowercase().as_str(), value) {
            ("server_no_context_takeover", None) => {}
            ("client_no_context_takeover", None) => ours.reset_ours = true,
            ("server_max_window_bits", Some(v)) if window_bits(v).is_some() => {}
            ("client_max_window_bits", Some(v)) => match window_bits(v) {
                Some(b) if b >= 9 => ours.our_window_bits = b,
                _ => return Err(HandshakeError::UnexpectedExtension),
            },
            _ => return Err(HandshakeError::UnexpectedExtension),
        }
    }
    Ok(ours)
}

/// The compressor and decompressor of one connection, made on first use
/// (a zlib compressor holds a few hundred KiB).
pub(crate) struct Deflate {
    params: Params,
    compress: Option<Compress>,
    decompress: Option<Decompress>,
}

impl std::fmt::Debug for Deflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflate")
            .field("params", &self.params)
            .finish()
    }
}

impl Deflate {
    pub(crate) fn new(params: Params) -> Deflate {
        Deflate {
            params,
            compress: None,
            decompress: None,
        }
    }

    /// Compresses one message payload (without the trailing `00 00 ff ff`).
    pub(crate) fn compress(&mut self, input: &[u8]) -> Result<Vec<u8>, WebSocketError> {
        let bits = self.params.our_window_bits;
        let c = self.compress.get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::fast(), false, bits)
        });
        let start = c.total_in();
        let mut out = Vec::with_capacity(input.len() / 2 + 64);
        loop {
            let consumed = usize::try_from(c.total_in() - start).unwrap_or(input.len());
            c.compress_vec(
                &input[consumed.min(input.len())..],
                &mut out,
                FlushCompress::Sync,
            )
            .map_err(|e| WebSocketError::Io(io::Error::other(e)))?;
            let done = c.total_in() - start == input.len() as u64;
            // A sync flush is complete when output space was left over.
            if done && out.len() < out.capacity() {
                break;
            }
            out.reserve(out.capacity().max(64));
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        } else if out.is_empty() {
            // Nothing new since the last sync flush (an empty message after
            // another message): zlib writes no second flush marker. RFC 7692
            // 7.2.1 asks for an empty stored block, which after a flush is
            // byte-aligned: `00 00 00 ff ff`, less the tail the receiver
            // appends back. Without it the receiver's `00 00 ff ff` lands in
            // the middle of our next block and every later message is
            // garbled.
            out.push(0x00);
        }
        if self.params.reset_ours {
            c.reset();
        }
        Ok(out)
    }

    /// Decompresses one message payload, refusing to produce more than
    /// `max` bytes (1009) and answering bad data with 1007.
    pub(crate) fn decompress(
        &mut self,
        input: &[u8],
        max: usize,
    ) -> Result<Vec<u8>, WebSocketError> {
        let d = self
            .decompress
            .get_or_insert_with(|| Decompress::new(false));
        let too_large = || WebSocketError::MessageTooLarge { max };
        let capacity = input
            .len()
            .saturating_mul(2)
            .max(64)
            .min(max.saturating_add(1));
        let mut out: Vec<u8> = Vec::with_capacity(capacity);
        let mut ended = false;
        for chunk in [input, &TAIL[..]] {
            let mut consumed = 0usize;
            while !ended {
                if out.len() == out.capacity() {
                    if out.len() > max {
                        return Err(too_large());
                    }
                    let room = max.saturating_add(1) - out.len();
                    out.reserve(out.capacity().max(64).min(room).max(1));
                }
                let (in_before, out_before) = (d.total_in(), out.len());
                let status = d
                    .decompress_vec(&chunk[consumed..], &mut out, FlushDecompress::Sync)
                    .map_err(|_| WebSocketError::BadCompressedData)?;
                consumed += usize::try_from(d.total_in() - in_before).unwrap_or(chunk.len());
                if out.len() > max {
                    return Err(too_large());
                }
                ended = status == Status::StreamEnd;
                let progress = d.total_in() != in_before || out.len() != out_before;
                if consumed >= chunk.len() && out.len() < out.capacity() {
                    break;
                }
                if !progress && out.len() < out.capacity() {
                    // Input the inflater cannot use: a truncated stream.
                    return Err(WebSocketError::BadCompressedData);
                }
            }
        }
        if ended {
            // The peer ended its DEFLATE stream (a final block): the next
            // message starts a new one.
            d.reset(false);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_negotiation() {
        let n = |h: &str| negotiate(std::iter::once(h));
        let (resp, p) = n("permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(resp, "permessage-deflate");
        assert_eq!(
            p,
            Params {
                reset_ours: false,
                our_window_bits: 15
            }
        );
        let (resp, p) =
            n("permessage-deflate; server_no_context_takeover; server_max_window_bits=10").unwrap();
        assert_eq!(
            resp,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"
        );
        assert_eq!(
            p,
            Params {
                reset_ours: true,
                our_window_bits: 10
            }
        );
        // Declined: an 8-bit window, unknown or repeated parameters, bad
        // values; the next offer is taken.
        assert!(n("permessage-deflate; server_max_window_bits=8").is_none());
        assert!(n("permessage-deflate; foo").is_none());
        assert!(
            n("permessage-deflate; server_no_context_takeover; server_no_context_takeover")
                .is_none()
        );
        assert!(n("permessage-deflate; server_max_window_bits=016").is_none());
        assert!(n("permessage-deflate; client_max_window_bits=16").is_none());
        assert!(n("x-webkit-deflate-frame").is_none());
        let (resp, _) =
            n("permessage-deflate; server_max_window_bits=8, permessage-deflate").unwrap();
        assert_eq!(resp, "permessage-deflate");
    }

    #[test]
    fn client_acceptance() {
        assert_eq!(
            accept_response(
                "permessage-deflate; client_max_window_bits=10; client_no_context_takeover"
            ),
            Ok(Params {
                reset_ours: true,
                our_window_bits: 10
            })
        );
        assert!(accept_response("permessage-deflate; server_max_window_bits=12").is_ok());
        for bad in [
            "permessage-deflate; client_max_window_bits=8",
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; nope",
            "permessage-deflate, permessage-deflate",
            "other",
        ] {
            assert_eq!(
                accept_response(bad),
                Err(HandshakeError::UnexpectedExtension),
                "{bad}"
            );
        }
    }

    #[test]
    fn round_trips_with_and_without_context() {
        for reset in [false, true] {
            let params = Params {
                reset_ours: reset,
                our_window_bits: 15,
            };
            let mut a = Deflate::new(params);
            let mut b = Deflate::new(params);
            let msg = b"Hello, hello, hello, world".repeat(40);
            let first = a.compress(&msg).unwrap();
            let second = a.compress(&msg).unwrap();
            assert!(first.len() < msg.len() / 4);
            // With context takeover the second copy is a back reference.
            assert_eq!(reset, first == second);
            assert_eq!(b.decompress(&first, 1 << 20).unwrap(), msg);
            assert_eq!(b.decompress(&second, 1 << 20).unwrap(), msg);
            assert_eq!(
                a.compress(b"")
                    .map(|c| b.decompress(&c, 10).unwrap())
                    .unwrap(),
                b""
            );
        }
    }

    #[test]
    fn rfc_7692_examples() {
        let mut d = Deflate::new(Params {
            reset_ours: false,
            our_window_bits: 15,
        });
        // 7.2.3.1 "Hello", then 7.2.3.2 the same with the shared context.
        assert_eq!(
            d.decompress(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 100)
                .unwrap(),
            b"Hello"
        );
        assert_eq!(
            d.decompress(&[0xf2, 0x00, 0x11, 0x00, 0x00], 100).unwrap(),
            b"Hello"
        );
        // 7.2.3.3: a stored block.
        let mut d = Deflate::new(Params {
            reset_ours: false,
            our_window_bits: 15,
        });
        let stored = [
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ];
        assert_eq!(d.decompress(&stored, 100).unwrap(), b"Hello");
        // Compressing "Hello" with no history gives the RFC's bytes.
        let mut c = Deflate::new(Params {
            reset_ours: true,
            our_window_bits: 15,
        });
        assert_eq!(
            c.compress(b"Hello").unwrap(),
            [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
        );
    }

    #[test]
    fn bombs_and_garbage() {
        let mut c = Deflate::new(Params {
            reset_ours: false,
            our_window_bits: 15,
        });
        let bomb = c.compress(&vec![0u8; 1 << 20]).unwrap();
        assert!(bomb.len() < 1 << 14, "{}", bomb.len());
        let mut d = Deflate::new(Params {
            reset_ours: false,
            our_window_bits: 15,
        });
        assert!(matches!(
            d.decompress(&bomb, 1000),
            Err(WebSocketError::MessageTooLarge { max: 1000 })
        ));
        let mut d = Deflate::new(Params {
            reset_ours: false,
            our_window_bits: 15,
        });
        assert!(matches!(
            d.decompress(&[0xff, 0xff, 0xff, 0xff], 1000),
            Err(WebSocketError::BadCompressedData)
        ));
        // Exactly at the limit is fine.
        let mut c = Deflate::new(Params {
            reset_ours: false,
            our_window_bits: 15,
        });
        let mut d = Deflate::new(Params {
            reset_ours: false,
            our_window_bits: 15,
        });
        let exact = c.compress(&[7u8; 1000]).unwrap();
        assert_eq!(d.decompress(&exact, 1000).unwrap().len(), 1000);
    }
}
