//! [`Payload`]: the bytes of one package, exactly as the peer sent them.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::str::Utf8Error;
use std::string::FromUtf8Error;

use bytes::{Bytes, BytesMut};

/// The bytes of one package of a byte-oriented protocol (text, frame, raw
/// tcp), inbound or outbound.
///
/// A `Payload` keeps every byte the peer sent, non-UTF-8 included, as
/// Workerman does; [`as_str`](Payload::as_str) gives a checked `&str` view.
/// It is a cheap, reference-counted [`Bytes`]: cloning it to broadcast one
/// message to many connections copies no data.
///
/// Anything byte- or string-like converts into a `Payload`, so `send` accepts
/// `"text"`, `String`, `Vec<u8>`, `&[u8]`, [`Bytes`] and another `Payload`.
///
/// # Examples
///
/// ```
/// use workerman_protocols::Payload;
///
/// let p = Payload::from("hello");
/// assert_eq!(p.as_str(), Ok("hello"));
/// assert_eq!(&p[..], b"hello");
/// assert!(Payload::from(vec![0xff]).as_str().is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Payload(Bytes);

impl Payload {
    /// An empty payload.
    pub const fn new() -> Self {
        Payload(Bytes::new())
    }

    /// The payload as a byte slice.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The payload as UTF-8 text.
    ///
    /// # Errors
    ///
    /// Fails when the bytes are not valid UTF-8.
    pub fn as_str(&self) -> Result<&str, Utf8Error> {
        std::str::from_utf8(&self.0)
    }

    /// The payload as text, with invalid UTF-8 sequences replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// Converts into an owned `String` (copies the bytes).
    ///
    /// # Errors
    ///
    /// Fails when the bytes are not valid UTF-8.
    pub fn into_string(self) -> Result<String, FromUtf8Error> {
        String::from_utf8(self.0.into())
    }

    /// Gives back the underlying [`Bytes`].
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// A reference to the underlying [`Bytes`].
    pub fn get_ref(&self) -> &Bytes {
        &self.0
    }
}

impl Deref for Payload {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Payload {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Borrow<[u8]> for Payload {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Bytes' Debug escapes non-printable bytes: `b"abc\xff"`.
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Payload {
    /// Shows the payload as text, replacing invalid UTF-8 with U+FFFD.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl From<Bytes> for Payload {
    fn from(b: Bytes) -> Self {
        Payload(b)
    }
}

impl From<BytesMut> for Payload {
    fn from(b: BytesMut) -> Self {
        Payload(b.freeze())
    }
}

impl From<Vec<u8>> for Payload {
    fn from(v: Vec<u8>) -> Self {
        Payload(Bytes::from(v))
    }
}

impl From<String> for Payload {
    fn from(s: String) -> Self {
        Payload(Bytes::from(s))
    }
}

impl From<&str> for Payload {
    fn from(s: &str) -> Self {
        Payload(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<&String> for Payload {
    fn from(s: &String) -> Self {
        Payload(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<&[u8]> for Payload {
    fn from(s: &[u8]) -> Self {
        Payload(Bytes::copy_from_slice(s))
    }
}

impl<const N: usize> From<&[u8; N]> for Payload {
    fn from(s: &[u8; N]) -> Self {
        Payload(Bytes::copy_from_slice(s))
    }
}

impl From<Payload> for Bytes {
    fn from(p: Payload) -> Self {
        p.0
    }
}

impl PartialEq<[u8]> for Payload {
    fn eq(&self, other: &[u8]) -> bool {
        self.0 == other
    }
}

impl PartialEq<&[u8]> for Payload {
    fn eq(&self, other: &&[u8]) -> bool {
        self.0 == *other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Payload {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.0 == other[..]
    }
}

impl PartialEq<str> for Payload {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Payload {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}
