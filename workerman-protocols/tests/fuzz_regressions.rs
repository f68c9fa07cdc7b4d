//! Inputs found by the fuzz targets in `fuzz/` (see `fuzz/README.md`),
//! replayed through the public API so that the fixes stay fixed.

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};
use workerman_protocols::websocket::{Message, WebSocketCodec, WebSocketConfig, WsClientCodec};

/// A server and a client codec open on each other with
/// permessage-deflate (context takeover, the default).
fn deflate_pair() -> (WebSocketCodec, WsClientCodec) {
    let cfg = WebSocketConfig::default().deflate(true);
    let mut client = WsClientCodec::builder()
        .config(cfg.clone())
        .max_message_size(1024)
        .build_url("ws://127.0.0.1:1/")
        .unwrap();
    let mut server = WebSocketCodec::with_config(1024, cfg);
    let mut wire = BytesMut::new();
    client.take_output(&mut wire);
    assert_eq!(server.decode(&mut wire).unwrap(), None);
    server.take_output(&mut wire);
    assert_eq!(client.decode(&mut wire).unwrap(), None);
    assert!(server.is_open() && client.is_open());
    (server, client)
}

/// fuzz/regressions/websocket_client: an empty message compressed after
/// another one went out with an empty payload (zlib writes no second
/// sync-flush marker), the receiver appended `00 00 ff ff` to it as RFC
/// 7692 says, and that landed in the middle of the sender's next block:
/// the third message arrived as `00 ff ff`, the fourth as `00 00 ff ff`.
#[test]
fn empty_compressed_messages_keep_both_ends_in_step() {
    let (mut server, mut client) = deflate_pair();
    let msgs = [
        Message::Pong(b"\xf2\xc9\x0b\x03\x00\x00\x00"[..].into()),
        Message::Text(String::new()),
        Message::Text(String::new()),
        Message::Binary(Default::default()),
        Message::Binary(Default::default()),
        Message::Text("after".into()),
        Message::Text(String::new()),
    ];
    for m in &msgs {
        // Server to client.
        let mut wire = BytesMut::new();
        server.encode(m.clone(), &mut wire).unwrap();
        if m.is_data() && m.as_bytes() == Some(b"") {
            // RFC 7692 7.2.3.6: an empty message is one empty stored block
            // less its tail, `00`, with RSV1 set.
            assert_eq!(&wire[1..], b"\x01\x00", "{m:?}");
        }
        match client.decode(&mut wire).unwrap() {
            Some(got) => assert_eq!(&got, m),
            None => assert!(matches!(m, Message::Pong(_))),
        }
        // Client to server.
        let mut wire = BytesMut::new();
        client.encode(m.clone(), &mut wire).unwrap();
        match server.decode(&mut wire).unwrap() {
            Some(got) => assert_eq!(&got, m),
            None => assert!(matches!(m, Message::Pong(_))),
        }
    }
}
