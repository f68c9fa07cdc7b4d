//! The `frame://` protocol: a 4-byte length header, then the body.

use std::io;

use bytes::{Buf, BufMut, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::{Payload, Protocol, DEFAULT_MAX_PACKAGE_SIZE};

/// Size of the frame header in bytes.
pub const FRAME_HEADER_LEN: usize = 4;

/// The `frame://` protocol: a 4-byte length header, then the body.
///
/// ```text
/// +-----------------------------+---------------------+
/// | total length: u32, big end. | body (n bytes)      |
/// | = 4 + n (header counted)    |                     |
/// +-----------------------------+---------------------+
/// ```
///
/// The length counts its own four header bytes, as Workerman's `Frame`
/// protocol defines it: the body `jhdxr` travels as
/// `00 00 00 09 6a 68 64 78 72`, and an empty body as `00 00 00 04`.
///
/// Where we differ from Workerman: a header announcing fewer than 4 bytes is
/// a protocol error ([`FrameCodecError::LengthTooSmall`]); Workerman stalls
/// the connection forever on a 0. A header announcing more than the package
/// limit is [`FrameCodecError::PackageTooLarge`], detected from the header
/// alone, before the body is buffered.
///
/// At end of stream a partial frame is not a package: the framework drops
/// it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Frame;

impl Protocol for Frame {
    const SCHEME: &'static str = "frame";
    type Inbound = Payload;
    type Outbound = Payload;
    type Error = FrameCodecError;
    type Codec = FrameCodec;

    fn codec(max_package_size: usize) -> FrameCodec {
        FrameCodec::new(max_package_size)
    }
}

/// Decoder/encoder for [`Frame`]: Workerman's header rules with typed
/// errors.
///
/// The decoder never reserves what a header only announces: the buffer
/// grows as the body arrives (a peer that announces 9 MiB and sends 1 KiB
/// costs 1 KiB), and a header over the limit is refused at once.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::{Decoder, Encoder};
/// use workerman_protocols::{FrameCodec, Payload};
///
/// let mut codec = FrameCodec::default();
/// let mut out = BytesMut::new();
/// codec.encode(Payload::from("jhdxr"), &mut out).unwrap();
/// assert_eq!(&out[..], b"\x00\x00\x00\x09jhdxr");
/// assert_eq!(codec.decode(&mut out).unwrap(), Some(Payload::from("jhdxr")));
/// ```
#[derive(Debug, Clone)]
pub struct FrameCodec {
    /// Largest package, header included (what the header value may be).
    max_package_size: usize,
}

impl FrameCodec {
    /// A codec accepting packages of up to `max_package_size` bytes, the
    /// 4-byte header included. A limit below 4 is raised to 4 (an empty
    /// body).
    pub fn new(max_package_size: usize) -> Self {
        FrameCodec {
            max_package_size: max_package_size.max(FRAME_HEADER_LEN),
        }
    }

    /// The largest package this codec accepts, header included.
    pub fn max_package_size(&self) -> usize {
        self.max_package_size
    }
}

impl Default for FrameCodec {
    /// Uses [`DEFAULT_MAX_PACKAGE_SIZE`] (10 MiB).
    fn default() -> Self {
        FrameCodec::new(DEFAULT_MAX_PACKAGE_SIZE)
    }
}

impl Decoder for FrameCodec {
    type Item = Payload;
    type Error = FrameCodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Payload>, FrameCodecError> {
        let Some(total) = FrameCodec::peek_length(src) else {
            return Ok(None);
        };
        // Checked from the header alone, before any of the body is kept.
        let total = usize::try_from(total).unwrap_or(usize::MAX);
        if total < FRAME_HEADER_LEN {
            return Err(FrameCodecError::LengthTooSmall);
        }
        if total > self.max_package_size {
            return Err(FrameCodecError::PackageTooLarge {
                max: self.max_package_size,
            });
        }
        if src.len() < total {
            return Ok(None);
        }
        src.advance(FRAME_HEADER_LEN);
        Ok(Some(Payload::from(src.split_to(total - FRAME_HEADER_LEN))))
    }
}

impl Encoder<Payload> for FrameCodec {
    type Error = FrameCodecError;

    fn encode(&mut self, item: Payload, dst: &mut BytesMut) -> Result<(), FrameCodecError> {
        let total = item.len() + FRAME_HEADER_LEN;
        let header = match u32::try_from(total) {
            Ok(h) if total <= self.max_package_size => h,
            _ => {
                return Err(FrameCodecError::PackageTooLarge {
                    max: self.max_package_size,
                })
            }
        };
        dst.reserve(total);
        dst.put_u32(header);
        dst.extend_from_slice(item.as_bytes());
        Ok(())
    }
}

impl FrameCodec {
    /// Reads the total length announced by a frame header, if `src` holds
    /// one. Useful to protocols that build on frames.
    pub fn peek_length(src: &[u8]) -> Option<u32> {
        if src.len() < FRAME_HEADER_LEN {
            return None;
        }
        Some((&src[..FRAME_HEADER_LEN]).get_u32())
    }
}

/// Why [`FrameCodec`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameCodecError {
    /// The header announced a package (header included) over the limit, or
    /// an outbound body would not fit in it.
    #[error("frame package exceeds the {max}-byte limit")]
    PackageTooLarge {
        /// The limit in force, in bytes, header included.
        max: usize,
    },
    /// The header announced fewer than 4 bytes: less than the header itself.
    #[error("frame header announces a length smaller than the 4-byte header")]
    LengthTooSmall,
    /// Reading from or writing to the socket failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}
