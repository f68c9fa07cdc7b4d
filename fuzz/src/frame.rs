//! `frame`: [`FrameCodec`], 4-byte length-prefixed packages.

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};
use workerman_protocols::{Frame, FrameCodec, FrameCodecError, Payload, Protocol};

use crate::{digest, drive, pick, serial, variant, Bytes, Harness, Input, MAX_PIECE};

/// Package limits (header included); below 4 the codec raises it to 4.
const LIMITS: [usize; 8] = [0, 4, 5, 16, 64, 256, 4096, 64 * 1024];

struct H {
    limit: usize,
}

impl Harness for H {
    type Codec = FrameCodec;

    fn codec(&mut self) -> FrameCodec {
        Frame::codec(self.limit)
    }

    fn message(&mut self, _: &mut FrameCodec, p: Payload) -> u64 {
        assert!(p.len() + 4 <= self.limit.max(4), "package over the limit");
        digest(p.as_bytes())
    }

    fn error_class(&mut self, _: &mut FrameCodec, e: &FrameCodecError, _: bool) -> String {
        // Exact: everything is decided from the 4-byte header.
        variant(e, true)
    }

    /// The decoder never copies and never reserves what a header
    /// announces: a package is split off the read buffer.
    fn call_bound(&self, _: usize) -> usize {
        1024
    }

    /// As for `text`: the read buffer (at most `limit + MAX_PIECE`), 4x for
    /// BytesMut's doubling, the copy and a split-off package.
    fn session_bound(&self, _: usize) -> usize {
        4 * (self.limit.max(4) + MAX_PIECE) + 4096
    }

    /// A frame is waited for only once its header is within the limit.
    fn buffered_bound(&self) -> usize {
        self.limit.max(4)
    }
}

/// Decodes a stream of frames and checks the invariants; encodes payloads
/// taken from the input and decodes them back.
pub fn check_frame(data: &[u8]) {
    let _g = serial();
    let input = Input::parse(data);
    let limit = pick(&LIMITS, input.cfg0);
    drive(&mut H { limit }, input.stream, input.splits);

    let mut codec = Frame::codec(limit);
    let mut b = Bytes::new(input.stream);
    let mut wire = BytesMut::new();
    let mut sent = Vec::new();
    for _ in 0..8 {
        if b.is_empty() {
            break;
        }
        let payload = b.chunk();
        match codec.encode(Payload::from(payload), &mut wire) {
            Ok(()) => {
                assert!(payload.len() + 4 <= limit.max(4));
                sent.push(payload);
            }
            Err(FrameCodecError::PackageTooLarge { .. }) => {
                assert!(
                    payload.len() + 4 > limit.max(4),
                    "refused a payload within the limit"
                );
            }
            Err(e) => panic!("frame encode: {e:?}"),
        }
    }
    for payload in sent {
        let got = codec.decode(&mut wire).expect("frame round trip");
        assert_eq!(got.as_deref(), Some(payload), "frame round trip");
    }
    assert!(wire.is_empty());
}
