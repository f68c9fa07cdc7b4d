//! The `text://` protocol: one package per line.

use bytes::{BufMut, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::{Payload, Protocol, DEFAULT_MAX_PACKAGE_SIZE};

/// The `text://` protocol: one package per line.
///
/// ```text
/// +------------------------+----+
/// | line bytes (no 0x0A)   | LF |      package size = line bytes + 1
/// +------------------------+----+
/// ```
///
/// Decoding ends a package at the first `\n` and removes **every** trailing
/// `\r` and `\n` from it (`"abc\r\n"` and `"abc\r\r\n"` both give `abc`), as
/// Workerman's `Text::decode` does; leading and inner white space is kept.
/// Encoding appends one `\n`. Bytes that are not UTF-8 are delivered as they
/// are.
///
/// At end of stream an unterminated last line is not a package: the
/// framework drops it, as Workerman does.
#[derive(Debug, Clone, Copy, Default)]
pub struct Text;

impl Protocol for Text {
    const SCHEME: &'static str = "text";
    type Inbound = Payload;
    type Outbound = Payload;
    type Error = TextCodecError;
    type Codec = TextCodec;

    fn codec(max_package_size: usize) -> TextCodec {
        TextCodec::new(max_package_size)
    }
}

/// Decoder/encoder for [`Text`].
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::{Decoder, Encoder};
/// use workerman_protocols::{Payload, TextCodec};
///
/// let mut codec = TextCodec::default();
/// let mut buf = BytesMut::from("hello\r\nwor");
/// assert_eq!(codec.decode(&mut buf).unwrap(), Some(Payload::from("hello")));
/// assert_eq!(codec.decode(&mut buf).unwrap(), None); // "wor" waits for its LF
///
/// let mut out = BytesMut::new();
/// codec.encode(Payload::from("hi"), &mut out).unwrap();
/// assert_eq!(&out[..], b"hi\n");
/// ```
#[derive(Debug, Clone)]
pub struct TextCodec {
    /// Largest package, LF included. A line that cannot fit is an error as
    /// soon as that is known, so the buffer never grows past this.
    max_package_size: usize,
    /// How far the buffer has already been searched for LF, so a line that
    /// arrives in many small reads is scanned once, not once per read.
    next_index: usize,
}

impl TextCodec {
    /// A codec accepting lines of up to `max_package_size` bytes, the LF
    /// included.
    pub fn new(max_package_size: usize) -> Self {
        TextCodec {
            max_package_size,
            next_index: 0,
        }
    }

    /// The largest package this codec accepts, LF included.
    pub fn max_package_size(&self) -> usize {
        self.max_package_size
    }
}

impl Default for TextCodec {
    /// Uses [`DEFAULT_MAX_PACKAGE_SIZE`] (10 MiB).
    fn default() -> Self {
        TextCodec::new(DEFAULT_MAX_PACKAGE_SIZE)
    }
}

impl Decoder for TextCodec {
    type Item = Payload;
    type Error = TextCodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Payload>, TextCodecError> {
        let start = self.next_index.min(src.len());
        match memchr_lf(&src[start..]) {
            Some(offset) => {
                let package_len = start + offset + 1;
                self.next_index = 0;
                if package_len > self.max_package_size {
                    return Err(TextCodecError::PackageTooLarge {
                        max: self.max_package_size,
                    });
                }
                let mut line = src.split_to(package_len);
                let keep = line
                    .iter()
                    .rposition(|&b| b != b'\n' && b != b'\r')
                    .map_or(0, |i| i + 1);
                line.truncate(keep);
                Ok(Some(Payload::from(line.freeze())))
            }
            None => {
                // Without an LF yet, the package is at least len + 1 bytes.
                // An empty buffer holds no package yet, whatever the limit.
                if !src.is_empty() && src.len() >= self.max_package_size {
                    self.next_index = 0;
                    return Err(TextCodecError::PackageTooLarge {
                        max: self.max_package_size,
                    });
                }
                self.next_index = src.len();
                Ok(None)
            }
        }
    }
}

impl Encoder<Payload> for TextCodec {
    type Error = TextCodecError;

    fn encode(&mut self, item: Payload, dst: &mut BytesMut) -> Result<(), TextCodecError> {
        dst.reserve(item.len() + 1);
        dst.put_slice(&item);
        dst.put_u8(b'\n');
        Ok(())
    }
}

fn memchr_lf(haystack: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', haystack)
}

/// Why [`TextCodec`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TextCodecError {
    /// A line (LF included) is longer than the codec's limit.
    #[error("text package exceeds the {max}-byte limit")]
    PackageTooLarge {
        /// The limit in force, in bytes.
        max: usize,
    },
    /// Reading from or writing to the socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
