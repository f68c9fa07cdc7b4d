//! The `frame://` protocol: a 4-byte length header, then the body.
//!
//! ```text
//! +-----------------------------+---------------------+
//! | total length: u32, big end. | body (n bytes)      |
//! | = 4 + n (header counted)    |                     |
//! +-----------------------------+---------------------+
//! ```
//!
//! The length counts its own four header bytes, as Workerman's `Frame`
//! protocol defines it: the body `jhdxr` travels as
//! `00 00 00 09 6a 68 64 78 72`, and an empty body as `00 00 00 04`.
//!
//! Where we differ from Workerman: a header announcing fewer than 4 bytes is
//! a protocol error ([`FrameCodecError::LengthTooSmall`]); Workerman stalls
//! the connection forever on a 0. A header announcing more than the package
//! limit is [`FrameCodecError::PackageTooLarge`], detected from the header
//! alone, before the body is buffered.
//!
//! At end of stream a partial frame is not a package: the framework drops
//! it.

use std::io;

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec, LengthDelimitedCodecError};

use crate::{Payload, Protocol, DEFAULT_MAX_PACKAGE_SIZE};

/// Size of the frame header in bytes.
pub const FRAME_HEADER_LEN: usize = 4;

/// The `frame://` protocol (length-prefixed packages). See the
/// [module docs](crate::frame) for the wire format.
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

/// Decoder/encoder for [`Frame`]: a configured
/// [`LengthDelimitedCodec`] with Workerman's header rules and typed errors.
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
#[derive(Debug)]
pub struct FrameCodec {
    inner: LengthDelimitedCodec,
    /// Largest package, header included (what the header value may be).
    max_package_size: usize,
}

impl FrameCodec {
    /// A codec accepting packages of up to `max_package_size` bytes, the
    /// 4-byte header included. A limit below 4 is raised to 4 (an empty
    /// body).
    pub fn new(max_package_size: usize) -> Self {
        let max_package_size = max_package_size.max(FRAME_HEADER_LEN);
        let inner = LengthDelimitedCodec::builder()
            .big_endian()
            .length_field_length(FRAME_HEADER_LEN)
            // The header counts itself: body length = value - 4.
            .length_adjustment(-(FRAME_HEADER_LEN as isize))
            // tokio checks the raw header value against this limit, which
            // is exactly Workerman's "package length > maxPackageSize".
            .max_frame_length(max_package_size)
            .new_codec();
        FrameCodec {
            inner,
            max_package_size,
        }
    }

    /// The largest package this codec accepts, header included.
    pub fn max_package_size(&self) -> usize {
        self.max_package_size
    }

    fn map_err(&self, err: io::Error) -> FrameCodecError {
        let too_large = err
            .get_ref()
            .is_some_and(|inner| inner.is::<LengthDelimitedCodecError>());
        if too_large {
            FrameCodecError::PackageTooLarge {
                max: self.max_package_size,
            }
        } else if err.kind() == io::ErrorKind::InvalidInput {
            // tokio's "provided length would overflow after adjustment":
            // the header announced fewer bytes than the header itself.
            FrameCodecError::LengthTooSmall
        } else {
            FrameCodecError::Io(err)
        }
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
        match self.inner.decode(src) {
            Ok(frame) => Ok(frame.map(Payload::from)),
            Err(e) => Err(self.map_err(e)),
        }
    }
}

impl Encoder<Payload> for FrameCodec {
    type Error = FrameCodecError;

    fn encode(&mut self, item: Payload, dst: &mut BytesMut) -> Result<(), FrameCodecError> {
        let total = item.len() + FRAME_HEADER_LEN;
        if total > self.max_package_size || u32::try_from(total).is_err() {
            return Err(FrameCodecError::PackageTooLarge {
                max: self.max_package_size,
            });
        }
        let body = item.into_bytes();
        self.inner.encode(body, dst).map_err(|e| self.map_err(e))
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
