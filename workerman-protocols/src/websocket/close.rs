//! Close frame payloads (RFC 6455 5.5.1, 7.4): parsing with the code and
//! reason checked, and building.

use bytes::{BufMut, BytesMut};

use super::{CloseCode, CloseFrame, ProtocolError, WebSocketError};

/// Parses a received close payload: empty (no status), or a 2-byte code
/// that may be sent on the wire followed by a UTF-8 reason.
pub(crate) fn parse_close(payload: &[u8]) -> Result<Option<CloseFrame>, WebSocketError> {
    match payload {
        [] => Ok(None),
        [_] => Err(ProtocolError::ClosePayloadTooShort.into()),
        [hi, lo, reason @ ..] => {
            let raw = u16::from_be_bytes([*hi, *lo]);
            let code = CloseCode::from(raw);
            if !sendable(code) {
                return Err(ProtocolError::InvalidCloseCode(raw).into());
            }
            let reason = std::str::from_utf8(reason).map_err(|_| WebSocketError::InvalidUtf8)?;
            Ok(Some(CloseFrame {
                code,
                reason: reason.to_owned(),
            }))
        }
    }
}

/// Whether `code` may appear in a close frame: 1000-1003, 1007-1013 and
/// 3000-4999 (tungstenite's `is_allowed`).
pub(crate) fn sendable(code: CloseCode) -> bool {
    code.is_allowed()
}

/// The payload of a close frame: the code (big-endian) and the reason, or
/// nothing for `None`.
pub(crate) fn close_payload(frame: Option<&CloseFrame>) -> Result<BytesMut, WebSocketError> {
    let mut p = BytesMut::new();
    if let Some(f) = frame {
        let raw = u16::from(f.code);
        if !sendable(f.code) {
            return Err(WebSocketError::InvalidCloseCode(raw));
        }
        // CloseFrame::new cuts the reason, but the field is public.
        let reason = CloseFrame::new(f.code, f.reason.as_str()).reason;
        p.reserve(2 + reason.len());
        p.put_u16(raw);
        p.put_slice(reason.as_bytes());
    }
    Ok(p)
}
