//! Decode and encode throughput of the `text://` and `frame://` codecs.
//!
//! The workload is a deterministic mix of message sizes (16 B, 100 B,
//! 1 KiB and 16 KiB, mostly small ones, as a chat or RPC server sees them),
//! concatenated into one wire buffer of about half a megabyte. Each bench
//! reports bytes of wire per second:
//!
//! * `decode`: every package from a fresh `BytesMut` holding the whole wire
//!   (the copy into the buffer is setup, not measured);
//! * `decode_64k_reads`: the same wire arriving in 64 KiB reads, decoding
//!   after each read as a connection does (partial packages wait);
//! * `encode`: every message appended to one output buffer (reused, so
//!   allocation is not what is measured).
//!
//! Run with `cargo bench -p workerman-protocols --bench codecs`. Each bench
//! is kept short (1 s warm-up, 3 s measurement, 20 samples).

use std::hint::black_box;
use std::time::Duration;

use bytes::BytesMut;
use criterion::{criterion_main, BatchSize, Criterion, Throughput};
use tokio_util::codec::{Decoder, Encoder};
use workerman_protocols::{Frame, Payload, Protocol, Text, DEFAULT_MAX_PACKAGE_SIZE};

/// Number of messages in the workload.
const MESSAGES: usize = 256;
/// Size of one simulated socket read in `decode_64k_reads`.
const READ_SIZE: usize = 64 * 1024;

/// A tiny LCG: deterministic data without a rand crate.
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

/// The message mix: 40 % 16 B, 30 % 100 B, 20 % 1 KiB, 10 % 16 KiB. Text
/// messages are printable ASCII (no LF, no trailing CR); frame messages are
/// arbitrary bytes.
fn workload(printable: bool) -> Vec<Payload> {
    let mut rng = Lcg(0x00c0_dec5);
    (0..MESSAGES)
        .map(|_| {
            let len = match rng.next() % 10 {
                0..=3 => 16,
                4..=6 => 100,
                7..=8 => 1024,
                _ => 16 * 1024,
            };
            let body: Vec<u8> = (0..len)
                .map(|_| {
                    let r = rng.next();
                    if printable {
                        b' ' + (r % 95) as u8
                    } else {
                        (r >> 8) as u8
                    }
                })
                .collect();
            Payload::from(body)
        })
        .collect()
}

fn bench_protocol<P>(c: &mut Criterion, printable: bool)
where
    P: Protocol<Inbound = Payload, Outbound = Payload>,
    P::Error: std::fmt::Debug,
{
    let messages = workload(printable);
    let mut codec = P::codec(DEFAULT_MAX_PACKAGE_SIZE);
    let mut wire = BytesMut::new();
    for m in &messages {
        codec.encode(m.clone(), &mut wire).unwrap();
    }
    let wire = wire.freeze();

    let mut group = c.benchmark_group(P::SCHEME);
    group.throughput(Throughput::Bytes(wire.len() as u64));

    group.bench_function("decode", |b| {
        b.iter_batched(
            || BytesMut::from(&wire[..]),
            |mut buf| {
                let mut codec = P::codec(DEFAULT_MAX_PACKAGE_SIZE);
                let mut n = 0;
                while let Some(m) = codec.decode(&mut buf).unwrap() {
                    black_box(m);
                    n += 1;
                }
                assert_eq!(n, MESSAGES);
            },
            // One ~0.5 MB input at a time, so it is as warm in cache as a
            // buffer a socket read has just filled.
            BatchSize::PerIteration,
        );
    });

    group.bench_function("decode_64k_reads", |b| {
        b.iter(|| {
            let mut codec = P::codec(DEFAULT_MAX_PACKAGE_SIZE);
            let mut buf = BytesMut::with_capacity(READ_SIZE);
            let mut n = 0;
            for read in wire.chunks(READ_SIZE) {
                buf.extend_from_slice(read);
                while let Some(m) = codec.decode(&mut buf).unwrap() {
                    black_box(m);
                    n += 1;
                }
            }
            assert_eq!(n, MESSAGES);
        });
    });

    group.bench_function("encode", |b| {
        let mut codec = P::codec(DEFAULT_MAX_PACKAGE_SIZE);
        let mut out = BytesMut::with_capacity(wire.len());
        b.iter(|| {
            out.clear();
            for m in &messages {
                codec.encode(m.clone(), &mut out).unwrap();
            }
            black_box(&out);
        });
    });

    group.finish();
}

fn text(c: &mut Criterion) {
    bench_protocol::<Text>(c, true);
}

fn frame(c: &mut Criterion) {
    bench_protocol::<Frame>(c, false);
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        // The SVG reports take longer to draw than the benches take to run.
        .without_plots()
}

/// Runs every bench with the short configuration (what `criterion_group!`
/// expands to, written out so it can carry this doc comment).
fn benches() {
    let mut c = config().configure_from_args();
    text(&mut c);
    frame(&mut c);
}

criterion_main!(benches);
