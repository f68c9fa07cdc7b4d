//! `text`: [`TextCodec`], newline-delimited packages.

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};
use workerman_protocols::{Payload, Protocol, Text, TextCodec, TextCodecError};

use crate::{digest, drive, pick, serial, variant, Bytes, Harness, Input, MAX_PIECE};

/// Package limits: tiny ones so that the limit checks bite with short
/// inputs, and 64 KiB.
const LIMITS: [usize; 8] = [0, 1, 2, 16, 64, 256, 4096, 64 * 1024];

struct H {
    limit: usize,
}

impl Harness for H {
    type Codec = TextCodec;

    fn codec(&mut self) -> TextCodec {
        Text::codec(self.limit)
    }

    fn message(&mut self, _: &mut TextCodec, p: Payload) -> u64 {
        assert!(p.len() < self.limit.max(1), "package over the limit");
        assert!(!p.ends_with(b"\n") && !p.ends_with(b"\r"));
        digest(p.as_bytes())
    }

    fn error_class(&mut self, _: &mut TextCodec, e: &TextCodecError, _: bool) -> String {
        // Exact: the limit is checked the same way with or without LF.
        variant(e, true)
    }

    /// The decoder never copies: a package is split off the read buffer
    /// (the first split turns the buffer's Vec into a shared block, one
    /// small allocation).
    fn call_bound(&self, _: usize) -> usize {
        1024
    }

    /// The read buffer holds at most `limit + MAX_PIECE` bytes; BytesMut
    /// may double its capacity when it grows (2x), and while it copies into
    /// a new block the old one is alive too (3x), plus a package split off
    /// that still holds the old block until it is digested (4x).
    fn session_bound(&self, _: usize) -> usize {
        4 * (self.limit + MAX_PIECE) + 4096
    }

    /// Without LF, `len >= limit` is an error, so less stays.
    fn buffered_bound(&self) -> usize {
        self.limit
    }
}

/// Decodes a stream of text packages and checks the invariants; encodes
/// lines taken from the input and decodes them back.
pub fn check_text(data: &[u8]) {
    let _g = serial();
    let input = Input::parse(data);
    let limit = pick(&LIMITS, input.cfg0);
    drive(&mut H { limit }, input.stream, input.splits);

    // Round trip: lines (no LF) from the stream.
    let mut codec = Text::codec(limit);
    let mut b = Bytes::new(input.stream);
    for _ in 0..8 {
        if b.is_empty() {
            break;
        }
        let raw = b.chunk();
        let line: Vec<u8> = raw.iter().copied().filter(|&c| c != b'\n').collect();
        let mut wire = BytesMut::new();
        codec
            .encode(Payload::from(line.clone()), &mut wire)
            .expect("text encode cannot fail");
        assert_eq!(wire.len(), line.len() + 1);
        assert_eq!(wire.last(), Some(&b'\n'));
        let expected = {
            let keep = line.iter().rposition(|&c| c != b'\r').map_or(0, |i| i + 1);
            &line[..keep]
        };
        match codec.decode(&mut wire) {
            Ok(Some(p)) => {
                assert!(line.len() < limit, "accepted a line over the limit");
                assert_eq!(p.as_bytes(), expected, "text round trip");
                assert!(wire.is_empty());
            }
            Err(TextCodecError::PackageTooLarge { max }) => {
                assert_eq!(max, limit);
                assert!(line.len() + 1 > limit, "refused a line within the limit");
                codec = Text::codec(limit);
            }
            other => panic!("text round trip: {other:?}"),
        }
    }
}
