//! Decode and encode throughput of the WebSocket codecs (frames only: the
//! handshake is done in setup).
//!
//! The workload is the mix of `benches/codecs.rs` (16 B, 100 B, 1 KiB,
//! 16 KiB; mostly small), half text and half binary messages, 256 in all,
//! about half a megabyte of wire. Each bench reports bytes of wire per
//! second:
//!
//! * `server_decode`: masked client frames, unmasked, text checked for
//!   UTF-8, from one buffer holding the whole wire;
//! * `server_decode_64k_reads`: the same wire arriving in 64 KiB reads;
//! * `server_encode`: plain server frames into one reused buffer;
//! * `client_encode`: masked client frames (a fresh random key each);
//! * `client_decode`: plain server frames;
//! * `server_decode_1mib_binary`: one 1 MiB binary message (unmasking);
//! * `deflate_server_encode`, `deflate_server_decode`: the mix with
//!   permessage-deflate (throughput counted in uncompressed payload bytes).
//!
//! Run with `cargo bench --bench websocket`. Each bench is kept short (1 s
//! warm-up, 3 s measurement, 20 samples).

use std::hint::black_box;
use std::time::Duration;

use bytes::BytesMut;
use criterion::{criterion_main, BatchSize, Criterion, Throughput};
use tokio_util::codec::{Decoder, Encoder};
use workerman::websocket::{Message, WebSocketCodec, WebSocketConfig, WsClientCodec};
use workerman::ClientTarget;

const MESSAGES: usize = 256;
const READ_SIZE: usize = 64 * 1024;
const MAX: usize = 16 << 20;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }
}

fn workload() -> Vec<Message> {
    let mut rng = Lcg(0x00c0_dec5);
    (0..MESSAGES)
        .map(|i| {
            let len = match rng.next() % 10 {
                0..=3 => 16,
                4..=6 => 100,
                7..=8 => 1024,
                _ => 16 * 1024,
            };
            let body: Vec<u8> = (0..len).map(|_| b' ' + (rng.next() % 95) as u8).collect();
            if i % 2 == 0 {
                Message::Text(String::from_utf8(body).expect("ASCII"))
            } else {
                Message::from(body)
            }
        })
        .collect()
}

/// A server and a client codec past the handshake.
fn open_pair() -> (WebSocketCodec, WsClientCodec) {
    open_pair_with(WebSocketConfig::default())
}

fn open_pair_with(config: WebSocketConfig) -> (WebSocketCodec, WsClientCodec) {
    let mut client = WsClientCodec::builder()
        .max_message_size(MAX)
        .config(config.clone())
        .build(&ClientTarget::new("127.0.0.1", Some(2346), "/"));
    let mut server = WebSocketCodec::with_config(MAX, config);
    let mut wire = BytesMut::new();
    client.take_output(&mut wire);
    assert!(server.decode(&mut wire).unwrap().is_none());
    server.take_output(&mut wire);
    assert!(client.decode(&mut wire).unwrap().is_none());
    assert!(server.is_open() && client.is_open());
    (server, client)
}

fn bench(c: &mut Criterion) {
    let messages = workload();
    let (mut server, mut client) = open_pair();
    let mut masked = BytesMut::new();
    let mut plain = BytesMut::new();
    for m in &messages {
        client.encode(m.clone(), &mut masked).unwrap();
        server.encode(m.clone(), &mut plain).unwrap();
    }
    let masked = masked.freeze();
    let plain = plain.freeze();

    let mut group = c.benchmark_group("websocket");
    group.throughput(Throughput::Bytes(masked.len() as u64));
    group.bench_function("server_decode", |b| {
        b.iter_batched(
            || (open_pair().0, BytesMut::from(&masked[..])),
            |(mut codec, mut buf)| {
                let mut n = 0;
                while let Some(m) = codec.decode(&mut buf).unwrap() {
                    black_box(m);
                    n += 1;
                }
                assert_eq!(n, MESSAGES);
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("server_decode_64k_reads", |b| {
        b.iter_batched(
            || open_pair().0,
            |mut codec| {
                let mut buf = BytesMut::with_capacity(READ_SIZE);
                let mut n = 0;
                for read in masked.chunks(READ_SIZE) {
                    buf.extend_from_slice(read);
                    while let Some(m) = codec.decode(&mut buf).unwrap() {
                        black_box(m);
                        n += 1;
                    }
                }
                assert_eq!(n, MESSAGES);
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("client_encode", |b| {
        let mut out = BytesMut::with_capacity(masked.len());
        b.iter(|| {
            out.clear();
            for m in &messages {
                client.encode(m.clone(), &mut out).unwrap();
            }
            black_box(&out);
        });
    });
    group.throughput(Throughput::Bytes(plain.len() as u64));
    group.bench_function("server_encode", |b| {
        let mut out = BytesMut::with_capacity(plain.len());
        b.iter(|| {
            out.clear();
            for m in &messages {
                server.encode(m.clone(), &mut out).unwrap();
            }
            black_box(&out);
        });
    });
    group.bench_function("client_decode", |b| {
        b.iter_batched(
            || (open_pair().1, BytesMut::from(&plain[..])),
            |(mut codec, mut buf)| {
                let mut n = 0;
                while let Some(m) = codec.decode(&mut buf).unwrap() {
                    black_box(m);
                    n += 1;
                }
                assert_eq!(n, MESSAGES);
            },
            BatchSize::PerIteration,
        );
    });

    let mut big = BytesMut::new();
    client
        .encode(Message::from(vec![0x5a; 1 << 20]), &mut big)
        .unwrap();
    let big = big.freeze();
    group.throughput(Throughput::Bytes(big.len() as u64));
    group.bench_function("server_decode_1mib_binary", |b| {
        b.iter_batched(
            || (open_pair().0, BytesMut::from(&big[..])),
            |(mut codec, mut buf)| {
                black_box(codec.decode(&mut buf).unwrap().expect("one message"));
            },
            BatchSize::PerIteration,
        );
    });

    // permessage-deflate: the client compresses, the server inflates; the
    // server compresses. Throughput in payload bytes.
    let deflate = || open_pair_with(WebSocketConfig::default().deflate(true));
    let payload: usize = messages
        .iter()
        .filter_map(|m| m.as_bytes())
        .map(<[u8]>::len)
        .sum();
    group.throughput(Throughput::Bytes(payload as u64));
    let (_, mut zclient) = deflate();
    let mut zwire = BytesMut::new();
    for m in &messages {
        zclient.encode(m.clone(), &mut zwire).unwrap();
    }
    let zwire = zwire.freeze();
    group.bench_function("deflate_server_decode", |b| {
        b.iter_batched(
            || (deflate().0, BytesMut::from(&zwire[..])),
            |(mut codec, mut buf)| {
                let mut n = 0;
                while let Some(m) = codec.decode(&mut buf).unwrap() {
                    black_box(m);
                    n += 1;
                }
                assert_eq!(n, MESSAGES);
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("deflate_server_encode", |b| {
        let (mut zserver, _) = deflate();
        let mut out = BytesMut::new();
        b.iter(|| {
            out.clear();
            for m in &messages {
                zserver.encode(m.clone(), &mut out).unwrap();
            }
            black_box(&out);
        });
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .without_plots()
}

/// Runs every bench with the short configuration.
fn benches() {
    let mut c = config().configure_from_args();
    bench(&mut c);
}

criterion_main!(benches);
