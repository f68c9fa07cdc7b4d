//! The open connection: frames to messages and back, shared by the server
//! and the client codec. Reassembles fragmented messages, answers pings,
//! does the close handshake and enforces the message size limit.

use bytes::{Buf, BytesMut};
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};

use super::close::{close_payload, parse_close};
use super::deflate::{Deflate, Params};
use super::frame::{encode_frame, parse_header, Role, MAX_CONTROL_PAYLOAD};
use super::mask::apply_mask;
use super::{CloseCode, CloseFrame, Message, ProtocolError, WebSocketError};

/// The frame-level state of one open connection.
#[derive(Debug)]
pub(crate) struct Session {
    role: Role,
    /// The largest message, all fragments together, in payload bytes.
    max_message: usize,
    /// Deliver pings, pongs and close frames to the handler too.
    control_messages: bool,
    /// A fragmented message being reassembled: text or binary, compressed
    /// or not, and the payload so far (never more than `max_message`).
    partial: Option<(Data, bool, BytesMut)>,
    /// permessage-deflate, once negotiated.
    deflate: Option<Deflate>,
    /// A close frame went out (ours, or our reply to the peer's).
    pub(crate) close_sent: bool,
    /// The peer's close frame came in.
    pub(crate) close_received: bool,
}

impl Session {
    pub(crate) fn new(role: Role, max_message: usize, control_messages: bool) -> Self {
        Session {
            role,
            max_message,
            control_messages,
            partial: None,
            deflate: None,
            close_sent: false,
            close_received: false,
        }
    }

    /// Turns permessage-deflate on with the negotiated parameters.
    pub(crate) fn enable_deflate(&mut self, params: Params) {
        self.deflate = Some(Deflate::new(params));
    }

    /// The protocol is done with the connection: a close frame went out.
    pub(crate) fn finished(&self) -> bool {
        self.close_sent
    }

    /// Decodes frames from `src` until one message is complete (`Some`) or
    /// more bytes are needed (`None`). Control frames are answered into
    /// `out` on the way.
    pub(crate) fn read(
        &mut self,
        src: &mut BytesMut,
        out: &mut BytesMut,
    ) -> Result<Option<Message>, WebSocketError> {
        loop {
            if self.close_received {
                // Nothing after a close frame is data (RFC 6455 5.5.1).
                src.clear();
                return Ok(None);
            }
            let Some(header) = parse_header(src, self.role, self.deflate.is_some())? else {
                return Ok(None);
            };
            self.check_size(header.opcode, header.payload_len)?;
            // Checked against max_message (a usize) just above.
            let total = header
                .header_len
                .saturating_add(header.payload_len as usize);
            if src.len() < total {
                return Ok(None);
            }
            let mut payload = src.split_to(total);
            payload.advance(header.header_len);
            if let Some(key) = header.mask {
                apply_mask(&mut payload, key);
            }
            let (fin, op, rsv1) = (header.fin, header.opcode, header.rsv1);
            if let Some(msg) = self.on_frame(fin, op, rsv1, payload, src, out)? {
                return Ok(Some(msg));
            }
        }
    }

    /// Checks the frame against the fragmentation state and the size
    /// limit, before its payload is buffered.
    fn check_size(&self, opcode: OpCode, len: u64) -> Result<(), WebSocketError> {
        let so_far = match (opcode, &self.partial) {
            (OpCode::Data(Data::Continue), Some((_, _, p))) => p.len() as u64,
            (OpCode::Data(Data::Continue), None) => {
                return Err(ProtocolError::UnexpectedContinuation.into())
            }
            (OpCode::Data(_), Some(_)) => return Err(ProtocolError::ExpectedContinuation.into()),
            (OpCode::Data(_), None) => 0,
            // At most 125 bytes: parse_header checked.
            (OpCode::Control(_), _) => return Ok(()),
        };
        if so_far.saturating_add(len) > self.max_message as u64 {
            return Err(WebSocketError::MessageTooLarge {
                max: self.max_message,
            });
        }
        Ok(())
    }

    fn on_frame(
        &mut self,
        fin: bool,
        opcode: OpCode,
        compressed: bool,
        payload: BytesMut,
        src: &mut BytesMut,
        out: &mut BytesMut,
    ) -> Result<Option<Message>, WebSocketError> {
        match opcode {
            OpCode::Data(Data::Continue) => {
                let Some((kind, compressed, mut so_far)) = self.partial.take() else {
                    return Err(ProtocolError::UnexpectedContinuation.into());
                };
                so_far.extend_from_slice(&payload);
                if fin {
                    return self.finish(kind, compressed, so_far).map(Some);
                }
                self.partial = Some((kind, compressed, so_far));
                Ok(None)
            }
            OpCode::Data(kind) => {
                if fin {
                    return self.finish(kind, compressed, payload).map(Some);
                }
                self.partial = Some((kind, compressed, payload));
                Ok(None)
            }
            OpCode::Control(Control::Ping) => {
                if !self.close_sent {
                    let pong = OpCode::Control(Control::Pong);
                    encode_frame(pong, &payload, false, self.role, out);
                }
                Ok(self.control(Message::Ping(payload.freeze())))
            }
            OpCode::Control(Control::Pong) => Ok(self.control(Message::Pong(payload.freeze()))),
            OpCode::Control(Control::Close) => {
                let frame = parse_close(&payload)?;
                self.close_received = true;
                src.clear();
                if !self.close_sent {
                    // Echo the peer's code (none for none), as RFC 6455
                    // 5.5.1 suggests.
                    let reply = frame.as_ref().map(|f| CloseFrame::new(f.code, ""));
                    self.write_close(reply.as_ref(), out)?;
                }
                Ok(self.control(Message::Close(frame)))
            }
            OpCode::Control(Control::Reserved(n)) => Err(ProtocolError::ReservedOpcode(n).into()),
        }
    }

    /// A complete message: inflated if compressed, text checked for UTF-8.
    fn finish(
        &mut self,
        kind: Data,
        compressed: bool,
        payload: BytesMut,
    ) -> Result<Message, WebSocketError> {
        if !compressed {
            return finish(kind, payload);
        }
        let Some(deflate) = self.deflate.as_mut() else {
            return Err(ProtocolError::ReservedBits.into());
        };
        let inflated = deflate.decompress(&payload, self.max_message)?;
        match kind {
            Data::Text => String::from_utf8(inflated)
                .map(Message::Text)
                .map_err(|_| WebSocketError::InvalidUtf8),
            _ => Ok(Message::Binary(inflated.into())),
        }
    }

    fn control(&self, msg: Message) -> Option<Message> {
        self.control_messages.then_some(msg)
    }

    /// Encodes one outbound message into `dst`.
    pub(crate) fn write(&mut self, msg: Message, dst: &mut BytesMut) -> Result<(), WebSocketError> {
        if self.close_sent {
            return Err(WebSocketError::Closed);
        }
        match msg {
            Message::Text(t) => self.write_data(Data::Text, t.as_bytes(), dst)?,
            Message::Binary(b) => self.write_data(Data::Binary, &b, dst)?,
            Message::Ping(b) => self.write_control(Control::Ping, &b, dst)?,
            Message::Pong(b) => self.write_control(Control::Pong, &b, dst)?,
            Message::Close(frame) => self.write_close(frame.as_ref(), dst)?,
            // The codecs answer a handshake before it gets here.
            Message::Handshake(_) => {}
        }
        Ok(())
    }

    /// A text or binary frame, compressed when permessage-deflate is on.
    fn write_data(
        &mut self,
        kind: Data,
        payload: &[u8],
        dst: &mut BytesMut,
    ) -> Result<(), WebSocketError> {
        match self.deflate.as_mut() {
            Some(deflate) => {
                let compressed = deflate.compress(payload)?;
                encode_frame(OpCode::Data(kind), &compressed, true, self.role, dst);
            }
            None => encode_frame(OpCode::Data(kind), payload, false, self.role, dst),
        }
        Ok(())
    }

    fn write_control(
        &mut self,
        op: Control,
        payload: &[u8],
        dst: &mut BytesMut,
    ) -> Result<(), WebSocketError> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(WebSocketError::ControlTooLong);
        }
        encode_frame(OpCode::Control(op), payload, false, self.role, dst);
        Ok(())
    }

    /// Writes a close frame and marks the close as sent.
    pub(crate) fn write_close(
        &mut self,
        frame: Option<&CloseFrame>,
        dst: &mut BytesMut,
    ) -> Result<(), WebSocketError> {
        let payload = close_payload(frame)?;
        encode_frame(
            OpCode::Control(Control::Close),
            &payload,
            false,
            self.role,
            dst,
        );
        self.close_sent = true;
        // A message half reassembled is abandoned.
        self.partial = None;
        Ok(())
    }

    /// The close frame answering a decode error (`None` if a close frame
    /// already went out or the error has no close code).
    pub(crate) fn error_close(&mut self, err: &WebSocketError) -> Option<BytesMut> {
        let code = err.close_code()?;
        if self.close_sent {
            return None;
        }
        let mut dst = BytesMut::new();
        let frame = CloseFrame::new(code, err.to_string());
        self.write_close(Some(&frame), &mut dst).ok()?;
        Some(dst)
    }

    /// A close frame with `code`, unless one already went out.
    pub(crate) fn close_with(&mut self, code: CloseCode, reason: &str) -> Option<BytesMut> {
        if self.close_sent {
            return None;
        }
        let mut dst = BytesMut::new();
        self.write_close(Some(&CloseFrame::new(code, reason)), &mut dst)
            .ok()?;
        Some(dst)
    }
}

/// A complete message: text is checked for UTF-8 here.
fn finish(kind: Data, payload: BytesMut) -> Result<Message, WebSocketError> {
    match kind {
        Data::Text => match std::str::from_utf8(&payload) {
            Ok(s) => Ok(Message::Text(s.to_owned())),
            Err(_) => Err(WebSocketError::InvalidUtf8),
        },
        _ => Ok(Message::Binary(payload.freeze())),
    }
}
