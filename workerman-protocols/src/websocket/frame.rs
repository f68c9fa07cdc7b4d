//! Frame headers (RFC 6455 5.2): parsing with every length checked before
//! anything is allocated, and encoding.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! | Masking-key (continued)       |          Payload Data         |
//! +-------------------------------- - - - - - - - - - - - - - - - +
//! ```

use bytes::{BufMut, BytesMut};
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};

use super::mask::apply_mask;
use super::ProtocolError;

/// The largest control frame payload (RFC 6455 5.5).
pub(crate) const MAX_CONTROL_PAYLOAD: usize = 125;

/// Which end of the connection a codec is: the server expects masked
/// frames and sends plain ones; the client the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Server,
    Client,
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) fin: bool,
    /// RSV1: a compressed message (permessage-deflate).
    pub(crate) rsv1: bool,
    pub(crate) opcode: OpCode,
    pub(crate) mask: Option<[u8; 4]>,
    /// Header length in bytes (2 to 14).
    pub(crate) header_len: usize,
    /// Payload length as announced: not yet checked against any limit, so
    /// never allocate from it before the caller has.
    pub(crate) payload_len: u64,
}

/// Parses the header at the start of `buf`: `Ok(None)` when more bytes
/// are needed. Checks what the header alone can tell: reserved bits (RSV1
/// only with `deflate`, and only on the first frame of a data message),
/// reserved opcodes, the mask bit for `role`, control frame rules.
pub(crate) fn parse_header(
    buf: &[u8],
    role: Role,
    deflate: bool,
) -> Result<Option<Header>, ProtocolError> {
    let (b0, b1) = match buf {
        [b0, b1, ..] => (*b0, *b1),
        _ => return Ok(None),
    };
    let rsv1 = b0 & 0x40 != 0;
    if b0 & 0x30 != 0 || (rsv1 && !deflate) {
        return Err(ProtocolError::ReservedBits);
    }
    let fin = b0 & 0x80 != 0;
    let opcode = OpCode::from(b0 & 0x0f);
    if rsv1 && !matches!(opcode, OpCode::Data(Data::Text | Data::Binary)) {
        return Err(ProtocolError::ReservedBits);
    }
    match opcode {
        OpCode::Data(Data::Reserved(n)) | OpCode::Control(Control::Reserved(n)) => {
            return Err(ProtocolError::ReservedOpcode(n))
        }
        _ => {}
    }
    let masked = b1 & 0x80 != 0;
    match (role, masked) {
        (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
        (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
        _ => {}
    }
    let len7 = b1 & 0x7f;
    let (payload_len, mut at) = match len7 {
        126 => match buf.get(2..4) {
            Some(&[a, b]) => (u64::from(u16::from_be_bytes([a, b])), 4),
            _ => return Ok(None),
        },
        127 => match buf.get(2..10).and_then(|s| <[u8; 8]>::try_from(s).ok()) {
            Some(b) => {
                let n = u64::from_be_bytes(b);
                if n >> 63 != 0 {
                    return Err(ProtocolError::LengthOverflow);
                }
                (n, 10)
            }
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    if let OpCode::Control(_) = opcode {
        if !fin {
            return Err(ProtocolError::FragmentedControl);
        }
        if payload_len > MAX_CONTROL_PAYLOAD as u64 {
            return Err(ProtocolError::ControlTooLong);
        }
    }
    let mask = if masked {
        match buf
            .get(at..at + 4)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
        {
            Some(key) => {
                at += 4;
                Some(key)
            }
            None => return Ok(None),
        }
    } else {
        None
    };
    Ok(Some(Header {
        fin,
        rsv1,
        opcode,
        mask,
        header_len: at,
        payload_len,
    }))
}

/// Appends one FIN frame with `payload` to `dst`: plain for the server,
/// masked with a fresh random key for the client; RSV1 set when
/// `compressed`.
pub(crate) fn encode_frame(
    opcode: OpCode,
    payload: &[u8],
    compressed: bool,
    role: Role,
    dst: &mut BytesMut,
) {
    let len = payload.len();
    dst.reserve(14 + len);
    let rsv1 = if compressed { 0x40 } else { 0 };
    dst.put_u8(0x80 | rsv1 | u8::from(opcode));
    let mask_bit = if role == Role::Client { 0x80 } else { 0 };
    if len < 126 {
        dst.put_u8(mask_bit | len as u8);
    } else if let Ok(n) = u16::try_from(len) {
        dst.put_u8(mask_bit | 126);
        dst.put_u16(n);
    } else {
        dst.put_u8(mask_bit | 127);
        dst.put_u64(len as u64);
    }
    match role {
        Role::Server => dst.put_slice(payload),
        Role::Client => {
            let key: [u8; 4] = rand::random();
            dst.put_slice(&key);
            let start = dst.len();
            dst.put_slice(payload);
            apply_mask(&mut dst[start..], key);
        }
    }
}
