//! Raw byte streams: `tcp://` and `unix://` with no framing.

use bytes::{BufMut, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::{Payload, Protocol};

/// Raw byte streams: `tcp://` and `unix://` with no framing.
///
/// Each read is one message: `on_message` receives the bytes as they arrived,
/// in chunks whose boundaries mean nothing (as Workerman delivers raw TCP).
/// Encoding writes the bytes as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tcp;

impl Protocol for Tcp {
    const SCHEME: &'static str = "tcp";
    type Inbound = Payload;
    type Outbound = Payload;
    type Error = std::io::Error;
    type Codec = TcpCodec;

    fn codec(_max_package_size: usize) -> TcpCodec {
        // Nothing is buffered between reads, so there is nothing to bound:
        // a chunk is at most one read.
        TcpCodec
    }
}

/// Decoder/encoder for [`Tcp`]: every non-empty buffer is one message.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::Decoder;
/// use workerman_protocols::TcpCodec;
///
/// let mut buf = BytesMut::from("any bytes");
/// assert_eq!(TcpCodec.decode(&mut buf).unwrap().unwrap(), "any bytes");
/// assert!(TcpCodec.decode(&mut buf).unwrap().is_none());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpCodec;

impl Decoder for TcpCodec {
    type Item = Payload;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Payload>, std::io::Error> {
        if src.is_empty() {
            Ok(None)
        } else {
            Ok(Some(Payload::from(src.split().freeze())))
        }
    }
}

impl Encoder<Payload> for TcpCodec {
    type Error = std::io::Error;

    fn encode(&mut self, item: Payload, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        dst.put_slice(&item);
        Ok(())
    }
}
