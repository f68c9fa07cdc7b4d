//! `channel_wire`: the Channel component's wire protocol, JSON commands
//! and replies in `frame://` packages.

use bytes::BytesMut;
use serde_json::Value;
use tokio_util::codec::Decoder;
use workerman_channel::fuzzing::{self as ch, Command, Reply};
use workerman_protocols::{Frame, Protocol};

use crate::globaldata::value;
use crate::{pick, serial, Bytes, Input, Meter};

const LIMITS: [usize; 4] = [4, 64, 4096, 64 * 1024];

/// A command or reply body holds strings (channel names: a String header
/// of 24 bytes for two bytes of input, `""`, in a Vec that may double)
/// and the published data copied as raw text: at most 32x the body.
const JSON_FACTOR: usize = 32;

/// Frames from a peer, each parsed as the server does (a command) and as
/// a client does (a reply); a publish is forwarded as the server forwards
/// it and must reach a subscriber unchanged. Then commands and replies
/// built from the input round-trip.
pub fn check_channel_wire(data: &[u8]) {
    let _g = serial();
    let input = Input::parse(data);
    let limit = pick(&LIMITS, input.cfg0);
    let mut codec = Frame::codec(limit);
    let mut buf = BytesMut::from(input.stream);
    while let Ok(Some(body)) = codec.decode(&mut buf) {
        if body.is_empty() {
            continue;
        }
        let meter = Meter::start();
        if let Ok(Command::Publish { channels, data }) = ch::parse_command(&body) {
            serde_json::from_str::<&serde_json::value::RawValue>(&data)
                .expect("published data is JSON");
            for c in channels.iter().take(4) {
                let ev = ch::event(c, &data).expect("forwarded data is JSON");
                assert_eq!(
                    ch::parse_reply(&ev),
                    Ok(Reply::Event {
                        channel: c.clone(),
                        data: data.clone()
                    }),
                    "a forwarded event reaches the subscriber unchanged"
                );
            }
        }
        let _ = ch::parse_reply(&body);
        let grown = meter.finish();
        let bound = JSON_FACTOR * body.len() + 64 * 1024;
        assert!(
            grown <= bound,
            "a {}-byte body grew the heap by {grown}, bound {bound}",
            body.len()
        );
    }

    // Round trips.
    let mut b = Bytes::new(input.stream);
    for _ in 0..4 {
        if b.is_empty() {
            break;
        }
        let channels: Vec<String> = (0..b.byte() % 4)
            .map(|_| String::from_utf8_lossy(b.chunk()).into_owned())
            .collect();
        let refs: Vec<&str> = channels.iter().map(String::as_str).collect();
        for subscribe in [true, false] {
            let body = ch::subscription(subscribe, &refs);
            let want = if subscribe {
                Command::Subscribe {
                    channels: channels.clone(),
                }
            } else {
                Command::Unsubscribe {
                    channels: channels.clone(),
                }
            };
            assert_eq!(ch::parse_command(&body), Ok(want));
        }
        let id = b.u64();
        assert_eq!(ch::parse_command(&ch::ping(id)), Ok(Command::Ping { id }));
        assert_eq!(ch::parse_reply(&ch::pong(id)), Ok(Reply::Pong { id }));
        let event = String::from_utf8_lossy(b.chunk()).into_owned();
        let v = value(&mut b, 0);
        let body = ch::publish(&event, &v).expect("a value encodes");
        match ch::parse_command(&body) {
            Ok(Command::Publish { channels, data }) => {
                assert_eq!(channels, std::slice::from_ref(&event));
                let back: Value = serde_json::from_str(&data).expect("data parses");
                assert_eq!(back, v, "published value round trip: {data}");
                let ev = ch::event(&event, &data).expect("valid JSON");
                assert_eq!(
                    ch::parse_reply(&ev),
                    Ok(Reply::Event {
                        channel: event,
                        data
                    })
                );
            }
            other => panic!("publish round trip: {other:?}"),
        }
    }
}
