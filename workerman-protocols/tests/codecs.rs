//! Unit tests of the built-in codecs (`text://`, `frame://`, raw `tcp://`),
//! in the manner of tokio-util's `tests/codecs.rs` and
//! `tests/length_delimited.rs`: pure buffer-in, buffer-out, no I/O.
//!
//! Conventions:
//! * errors are checked by variant (`matches!`), never by message text;
//! * "random" data comes from a fixed-seed LCG, so every run is the same.

use std::fmt::Debug;
use std::io;

use bytes::{BufMut, BytesMut};
use tokio_util::codec::{Decoder, Encoder};
use workerman_protocols::{
    Frame, FrameCodec, FrameCodecError, Payload, Protocol, Tcp, TcpCodec, Text, TextCodec,
    TextCodecError, DEFAULT_MAX_PACKAGE_SIZE, FRAME_HEADER_LEN,
};

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

/// Knuth's MMIX LCG: deterministic "random-ish" data without a rand crate.
struct Lcg(u64);

impl Lcg {
    fn new(seed: u64) -> Self {
        Lcg(seed)
    }

    fn next_u32(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }

    /// A value in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        self.next_u32() as usize % n
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| (self.next_u32() >> 8) as u8).collect()
    }
}

/// One package: its exact wire bytes and the message it must decode to.
type Package = (Vec<u8>, Payload);

fn pkg(wire: impl AsRef<[u8]>, message: impl Into<Payload>) -> Package {
    (wire.as_ref().to_vec(), message.into())
}

/// Wire form of a frame built by hand (not by the codec under test).
fn frame_wire(body: &[u8]) -> Vec<u8> {
    let total = u32::try_from(body.len() + FRAME_HEADER_LEN).unwrap();
    let mut wire = total.to_be_bytes().to_vec();
    wire.extend_from_slice(body);
    wire
}

fn concat(packages: &[Package]) -> Vec<u8> {
    packages
        .iter()
        .flat_map(|(w, _)| w.iter().copied())
        .collect()
}

/// Decodes every complete package in `buf`.
fn drain<C>(codec: &mut C, buf: &mut BytesMut) -> Vec<Payload>
where
    C: Decoder<Item = Payload>,
    C::Error: Debug,
{
    let mut out = Vec::new();
    while let Some(message) = codec.decode(buf).unwrap() {
        out.push(message);
    }
    out
}

/// Feeds the packages one byte at a time into one buffer: `decode` must
/// return `None` at every prefix of a package and exactly that package's
/// message once its last byte is in, then `None` again.
fn assert_byte_by_byte<C>(codec: &mut C, packages: &[Package])
where
    C: Decoder<Item = Payload>,
    C::Error: Debug,
{
    let mut buf = BytesMut::new();
    for (n, (wire, expected)) in packages.iter().enumerate() {
        for (i, &byte) in wire.iter().enumerate() {
            buf.put_u8(byte);
            let got = codec.decode(&mut buf).unwrap();
            if i + 1 < wire.len() {
                assert_eq!(
                    got,
                    None,
                    "package {n} decoded after {} of its {} bytes",
                    i + 1,
                    wire.len()
                );
            } else {
                assert_eq!(got.as_ref(), Some(expected), "package {n}");
                assert_eq!(codec.decode(&mut buf).unwrap(), None, "after package {n}");
            }
        }
    }
    assert!(buf.is_empty(), "left over: {buf:?}");
}

/// Splits the concatenated packages in two at every byte offset. The first
/// part must yield exactly the packages that end inside it, the second part
/// the rest. Run once with a fresh codec per split and once with a single
/// codec reused for all splits (its state must reset between packages).
fn assert_every_split<C, F>(make: F, packages: &[Package])
where
    C: Decoder<Item = Payload>,
    C::Error: Debug,
    F: Fn() -> C,
{
    let wire = concat(packages);
    let expected: Vec<Payload> = packages.iter().map(|(_, m)| m.clone()).collect();
    let ends: Vec<usize> = packages
        .iter()
        .scan(0, |end, (w, _)| {
            *end += w.len();
            Some(*end)
        })
        .collect();
    let mut reused = make();
    for k in 0..=wire.len() {
        let complete = ends.iter().filter(|&&end| end <= k).count();
        for codec in [&mut make(), &mut reused] {
            let mut buf = BytesMut::from(&wire[..k]);
            let first = drain(codec, &mut buf);
            assert_eq!(first, expected[..complete], "split at {k}");
            buf.extend_from_slice(&wire[k..]);
            let second = drain(codec, &mut buf);
            assert_eq!(second, expected[complete..], "split at {k}");
            assert!(buf.is_empty(), "split at {k}: left over {buf:?}");
        }
    }
}

/// Encodes `messages` with one codec of protocol `P`, feeds the wire to
/// another in chunks of 1..=`max_chunk` bytes and returns what it decoded.
fn round_trip<P>(max_package_size: usize, messages: &[Payload], seed: u64) -> Vec<Payload>
where
    P: Protocol<Inbound = Payload, Outbound = Payload>,
    P::Error: Debug,
{
    let mut encoder = P::codec(max_package_size);
    let mut wire = BytesMut::new();
    for message in messages {
        encoder.encode(message.clone(), &mut wire).unwrap();
    }

    let mut decoder = P::codec(max_package_size);
    let mut rng = Lcg::new(seed);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut rest = &wire[..];
    while !rest.is_empty() {
        let n = 1 + rng.below(rest.len().min(4096));
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        while let Some(message) = decoder.decode(&mut buf).unwrap() {
            out.push(message);
        }
    }
    assert!(buf.is_empty(), "left over: {} bytes", buf.len());
    out
}

// ---------------------------------------------------------------------------
// text://
// ---------------------------------------------------------------------------

/// Packages covering the text rules: plain, empty, CR runs, white space,
/// non-UTF-8, a lone inner CR.
fn text_packages() -> Vec<Package> {
    vec![
        pkg("jhdxr\n", "jhdxr"),
        pkg("\n", ""),
        pkg("abc\r\r\n", "abc"),
        pkg("  lead and\tinner  \n", "  lead and\tinner  "),
        pkg(b"\xff\xfe\x00\x80\n", &b"\xff\xfe\x00\x80"[..]),
        pkg("a\rb\r\n", "a\rb"),
        pkg("\r\n", ""),
        pkg("last one\n", "last one"),
    ]
}

#[test]
fn text_protocol_scheme_and_limit() {
    assert_eq!(Text::SCHEME, "text");
    assert_eq!(Text::codec(7).max_package_size(), 7);
    assert_eq!(
        TextCodec::default().max_package_size(),
        DEFAULT_MAX_PACKAGE_SIZE
    );
}

#[test]
fn text_spec_jhdxr() {
    let mut codec = TextCodec::default();
    let mut buf = BytesMut::from("jhdxr\n");
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "jhdxr");
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert!(buf.is_empty());
}

#[test]
fn text_decode_byte_by_byte_several_packages() {
    assert_byte_by_byte(&mut TextCodec::default(), &text_packages());
}

#[test]
fn text_decode_split_at_every_boundary() {
    assert_every_split(TextCodec::default, &text_packages());
}

#[test]
fn text_decode_many_packages_in_one_buffer() {
    let mut codec = TextCodec::new(64);
    let mut buf = BytesMut::new();
    for i in 0..1000 {
        buf.put_slice(format!("line {i}\n").as_bytes());
    }
    let lines = drain(&mut codec, &mut buf);
    assert_eq!(lines.len(), 1000);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(*line, format!("line {i}").as_str());
    }
    assert!(buf.is_empty());
}

#[test]
fn text_decode_empty_packages() {
    let mut codec = TextCodec::default();
    let mut buf = BytesMut::from("\n\r\n\n");
    assert_eq!(drain(&mut codec, &mut buf), vec![Payload::new(); 3]);
    assert!(buf.is_empty());
}

#[test]
fn text_decode_empty_buffer_is_none() {
    let mut buf = BytesMut::new();
    assert_eq!(TextCodec::default().decode(&mut buf).unwrap(), None);
}

#[test]
fn text_decode_strips_every_trailing_cr_and_lf() {
    let mut codec = TextCodec::default();
    for (wire, line) in [
        ("abc\n", "abc"),
        ("abc\r\n", "abc"),
        ("abc\r\r\n", "abc"),
        ("abc\r\r\r\r\n", "abc"),
        ("\r\r\n", ""),
    ] {
        let mut buf = BytesMut::from(wire);
        assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), line, "{wire:?}");
        assert!(buf.is_empty());
    }
}

#[test]
fn text_decode_package_ends_at_first_lf() {
    // "abc\r\n\r\n" is two packages, "abc" and "", not one.
    let mut codec = TextCodec::default();
    let mut buf = BytesMut::from("abc\r\n\r\n");
    assert_eq!(
        drain(&mut codec, &mut buf),
        vec![Payload::from("abc"), Payload::new()]
    );
}

#[test]
fn text_decode_lone_cr_is_not_a_delimiter() {
    let mut codec = TextCodec::default();
    let mut buf = BytesMut::from("abc\rdef\r");
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert_eq!(&buf[..], b"abc\rdef\r");
    buf.put_u8(b'\n');
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "abc\rdef");
}

#[test]
fn text_decode_keeps_leading_inner_and_trailing_spaces() {
    let mut codec = TextCodec::default();
    let mut buf = BytesMut::from("\r \t a  b \t\r\n");
    // Only CR and LF are stripped, and only at the end.
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "\r \t a  b \t");
}

#[test]
fn text_decode_delivers_non_utf8_intact() {
    let mut codec = TextCodec::default();
    let raw: Vec<u8> = (0u8..=255).filter(|&b| b != b'\n').collect();
    let mut buf = BytesMut::from(&raw[..]);
    buf.put_u8(b'\n');
    let line = codec.decode(&mut buf).unwrap().unwrap();
    assert_eq!(&line[..], &raw[..]);
    assert!(line.as_str().is_err());
}

#[test]
fn text_decode_line_continues_after_partial_scan() {
    // The codec remembers how far it searched; an LF arriving later, with
    // a second package behind it, must still be found at the right place.
    let mut codec = TextCodec::default();
    let mut buf = BytesMut::from("abc");
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    buf.put_slice(b"def\nxy");
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "abcdef");
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    buf.put_slice(b"z\n");
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "xyz");
    assert!(buf.is_empty());
}

#[test]
fn text_limit_exactly_at_max_is_accepted() {
    // max 5 counts the LF: "abcd\n" is exactly 5 bytes.
    let mut codec = TextCodec::new(5);
    let mut buf = BytesMut::from("abcd\n");
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "abcd");

    // The limit is per package, not per buffer.
    let mut buf = BytesMut::from("abcd\nefgh\n\n");
    assert_eq!(
        drain(&mut codec, &mut buf),
        ["abcd", "efgh", ""].map(Payload::from)
    );

    // CRs count too: "abc\r\n" is 5 bytes.
    let mut buf = BytesMut::from("abc\r\n");
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "abc");

    // And byte by byte, the at-limit line never trips the check.
    assert_byte_by_byte(&mut TextCodec::new(5), &vec![pkg("abcd\n", "abcd"); 3]);
}

#[test]
fn text_limit_one_over_max_is_rejected() {
    for wire in ["abcde\n", "abcd\r\n", "abcdefghijklmnop\n"] {
        let mut codec = TextCodec::new(5);
        let mut buf = BytesMut::from(wire);
        let err = codec.decode(&mut buf).unwrap_err();
        assert!(
            matches!(err, TextCodecError::PackageTooLarge { max: 5 }),
            "{wire:?}: {err:?}"
        );
    }
}

#[test]
fn text_limit_unterminated_line_rejected_once_max_bytes_buffered() {
    // Without an LF the package is at least len + 1 bytes, so 5 buffered
    // bytes already cannot fit in 5: error then, not later.
    let mut codec = TextCodec::new(5);
    let mut buf = BytesMut::new();
    for &byte in b"abcd" {
        buf.put_u8(byte);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
    }
    buf.put_u8(b'e');
    let err = codec.decode(&mut buf).unwrap_err();
    assert!(matches!(err, TextCodecError::PackageTooLarge { max: 5 }));
}

#[test]
fn text_limit_oversized_line_after_partial_scan() {
    // The first read is under the limit; the LF arrives far past it.
    let mut codec = TextCodec::new(5);
    let mut buf = BytesMut::from("abc");
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    buf.put_slice(b"d\r\n");
    let err = codec.decode(&mut buf).unwrap_err();
    assert!(matches!(err, TextCodecError::PackageTooLarge { max: 5 }));
}

#[test]
fn text_limit_zero_rejects_any_byte_but_not_an_empty_buffer() {
    let mut codec = TextCodec::new(0);
    let mut buf = BytesMut::new();
    // Nothing buffered is no package: not a protocol error, and a clean
    // end of stream stays clean.
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
    buf.put_u8(b'\n');
    let err = codec.decode(&mut buf).unwrap_err();
    assert!(matches!(err, TextCodecError::PackageTooLarge { max: 0 }));
}

#[test]
fn text_encode_appends_exactly_one_lf() {
    let mut codec = TextCodec::default();
    let mut out = BytesMut::new();
    codec.encode(Payload::from("hi"), &mut out).unwrap();
    assert_eq!(&out[..], b"hi\n");
    codec.encode(Payload::new(), &mut out).unwrap();
    assert_eq!(&out[..], b"hi\n\n");
    // The body is written as it is, even when it ends in CR or LF.
    codec.encode(Payload::from("x\r"), &mut out).unwrap();
    assert_eq!(&out[..], b"hi\n\nx\r\n");
    codec
        .encode(Payload::from(&b"\xff\x00"[..]), &mut out)
        .unwrap();
    assert_eq!(&out[..], b"hi\n\nx\r\n\xff\x00\n");
}

#[test]
fn text_round_trip_random() {
    let mut rng = Lcg::new(0x7e47);
    let messages: Vec<Payload> = (0..500)
        .map(|_| {
            let len = [0, 1, 15, 100, 1024, 5000][rng.below(6)];
            let mut line = rng.bytes(len);
            // A line may hold anything but LF, and must not end in CR
            // (trailing CRs are stripped by design).
            for b in &mut line {
                if *b == b'\n' {
                    *b = b' ';
                }
            }
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            Payload::from(line)
        })
        .collect();
    for seed in 1..=3 {
        assert_eq!(round_trip::<Text>(8192, &messages, seed), messages);
    }
}

#[test]
fn text_eof_with_partial_line() {
    let mut codec = TextCodec::default();
    let mut buf = BytesMut::from("done\npartial");
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "done");
    // The unterminated line is no package: None, and it stays buffered.
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert_eq!(&buf[..], b"partial");
    // decode_eof is tokio's default: bytes left at end of stream are an
    // io::Error ("bytes remaining on stream"), here TextCodecError::Io.
    // The framework drops the partial line.
    let err = codec.decode_eof(&mut buf).unwrap_err();
    assert!(matches!(err, TextCodecError::Io(ref e) if e.kind() == io::ErrorKind::Other));
    assert_eq!(&buf[..], b"partial");
}

#[test]
fn text_eof_with_complete_lines() {
    let mut codec = TextCodec::default();
    let mut buf = BytesMut::from("last\n");
    assert_eq!(codec.decode_eof(&mut buf).unwrap().unwrap(), "last");
    assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
}

// ---------------------------------------------------------------------------
// frame://
// ---------------------------------------------------------------------------

/// Frames of several sizes, including an empty body, a body that looks like
/// headers and one long enough to need three header bytes.
fn frame_packages() -> Vec<Package> {
    let mut rng = Lcg::new(0xf4a3e);
    let long = rng.bytes(70_000);
    let bodies: Vec<Vec<u8>> = vec![
        b"jhdxr".to_vec(),
        Vec::new(),
        vec![0, 0, 0, 4],
        vec![0, 0, 0, 0, 0],
        rng.bytes(300),
        b"\n\r\n".to_vec(),
        long,
        b"x".to_vec(),
    ];
    bodies
        .into_iter()
        .map(|body| (frame_wire(&body), Payload::from(body)))
        .collect()
}

#[test]
fn frame_protocol_scheme_and_limit() {
    assert_eq!(Frame::SCHEME, "frame");
    assert_eq!(Frame::codec(64).max_package_size(), 64);
    assert_eq!(
        FrameCodec::default().max_package_size(),
        DEFAULT_MAX_PACKAGE_SIZE
    );
    assert_eq!(FRAME_HEADER_LEN, 4);
}

#[test]
fn frame_spec_jhdxr_bytes() {
    let wire = b"\x00\x00\x00\x09\x6a\x68\x64\x78\x72";
    let mut codec = FrameCodec::default();
    let mut out = BytesMut::new();
    codec.encode(Payload::from("jhdxr"), &mut out).unwrap();
    assert_eq!(&out[..], wire);

    let mut buf = BytesMut::from(&wire[..]);
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "jhdxr");
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert!(buf.is_empty());
}

#[test]
fn frame_spec_header_announces_42_and_waits() {
    let mut codec = FrameCodec::default();
    let mut buf = BytesMut::from(&b"\0\0\0*foobar"[..]);
    assert_eq!(FrameCodec::peek_length(&buf), Some(42));
    assert_eq!(codec.decode(&mut buf).unwrap(), None);

    // 42 - 4 = 38 body bytes, 6 are in; one short of the rest still waits.
    let rest: Vec<u8> = (0..32).map(|i| b'a' + i).collect();
    buf.put_slice(&rest[..31]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    buf.put_slice(&rest[31..]);
    let body = codec.decode(&mut buf).unwrap().unwrap();
    assert_eq!(body.len(), 38);
    assert_eq!(&body[..6], b"foobar");
    assert_eq!(&body[6..], &rest[..]);
    assert!(buf.is_empty());
}

#[test]
fn frame_decode_byte_by_byte_several_packages() {
    assert_byte_by_byte(&mut FrameCodec::default(), &frame_packages());
}

#[test]
fn frame_decode_split_at_every_boundary() {
    // Small frames only: every split of 70 kB would be quadratic.
    let packages: Vec<Package> = frame_packages()
        .into_iter()
        .filter(|(w, _)| w.len() < 1000)
        .collect();
    assert_every_split(FrameCodec::default, &packages);
}

#[test]
fn frame_decode_many_packages_in_one_buffer() {
    let mut codec = FrameCodec::new(64);
    let mut buf = BytesMut::new();
    let mut expected = Vec::new();
    for i in 0..1000 {
        let body = format!("message {i}");
        buf.put_slice(&frame_wire(body.as_bytes()));
        expected.push(Payload::from(body));
    }
    assert_eq!(drain(&mut codec, &mut buf), expected);
    assert!(buf.is_empty());
}

#[test]
fn frame_decode_empty_body() {
    let mut codec = FrameCodec::default();
    let mut buf = BytesMut::from(&b"\x00\x00\x00\x04\x00\x00\x00\x04"[..]);
    assert_eq!(drain(&mut codec, &mut buf), vec![Payload::new(); 2]);
    assert!(buf.is_empty());

    let mut out = BytesMut::new();
    codec.encode(Payload::new(), &mut out).unwrap();
    assert_eq!(&out[..], b"\x00\x00\x00\x04");
}

#[test]
fn frame_decode_empty_buffer_and_partial_header_are_none() {
    let mut codec = FrameCodec::new(16);
    let mut buf = BytesMut::new();
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    // Even a partial header that will announce too much waits for all
    // four bytes: nothing is known yet.
    buf.put_slice(b"\xff\xff\xff");
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert_eq!(buf.len(), 3);
}

#[test]
fn frame_header_values_below_4_are_length_too_small() {
    for value in 0u32..4 {
        let mut codec = FrameCodec::default();
        let mut buf = BytesMut::from(&value.to_be_bytes()[..]);
        let err = codec.decode(&mut buf).unwrap_err();
        assert!(
            matches!(err, FrameCodecError::LengthTooSmall),
            "header {value}: {err:?}"
        );
        // The same with bytes following the header.
        let mut buf = BytesMut::from(&value.to_be_bytes()[..]);
        buf.put_slice(b"trailing");
        let err = FrameCodec::default().decode(&mut buf).unwrap_err();
        assert!(matches!(err, FrameCodecError::LengthTooSmall));
    }
}

#[test]
fn frame_header_value_4_is_an_empty_body() {
    let mut codec = FrameCodec::default();
    let mut buf = BytesMut::from(&4u32.to_be_bytes()[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), Some(Payload::new()));
}

#[test]
fn frame_limit_header_equal_to_max_is_accepted() {
    // max 16 counts the header: a 12-byte body.
    let mut codec = FrameCodec::new(16);
    let wire = frame_wire(b"0123456789ab");
    assert_eq!(&wire[..4], &16u32.to_be_bytes());
    let packages = [pkg(&wire, "0123456789ab"), pkg(&wire, "0123456789ab")];
    assert_byte_by_byte(&mut codec, &packages);

    let mut out = BytesMut::new();
    codec
        .encode(Payload::from("0123456789ab"), &mut out)
        .unwrap();
    assert_eq!(&out[..], &wire[..]);
}

#[test]
fn frame_limit_header_one_over_max_is_rejected_before_the_body() {
    let mut codec = FrameCodec::new(16);
    // Header alone, no body bytes at all.
    let mut buf = BytesMut::from(&17u32.to_be_bytes()[..]);
    let err = codec.decode(&mut buf).unwrap_err();
    assert!(
        matches!(err, FrameCodecError::PackageTooLarge { max: 16 }),
        "{err:?}"
    );

    // Header arriving in two pieces: error on the piece that completes it.
    let mut codec = FrameCodec::new(16);
    let mut buf = BytesMut::from(&b"\x00\x00"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    buf.put_slice(b"\x00\x11");
    let err = codec.decode(&mut buf).unwrap_err();
    assert!(matches!(err, FrameCodecError::PackageTooLarge { max: 16 }));
}

#[test]
fn frame_limit_huge_header_is_rejected() {
    let mut codec = FrameCodec::default();
    let mut buf = BytesMut::from(&u32::MAX.to_be_bytes()[..]);
    let err = codec.decode(&mut buf).unwrap_err();
    assert!(matches!(
        err,
        FrameCodecError::PackageTooLarge {
            max: DEFAULT_MAX_PACKAGE_SIZE
        }
    ));
    let over = u32::try_from(DEFAULT_MAX_PACKAGE_SIZE + 1).unwrap();
    let mut buf = BytesMut::from(&over.to_be_bytes()[..]);
    let err = FrameCodec::default().decode(&mut buf).unwrap_err();
    assert!(matches!(err, FrameCodecError::PackageTooLarge { .. }));
}

#[test]
fn frame_limit_below_header_is_raised_to_4() {
    let mut codec = FrameCodec::new(0);
    assert_eq!(codec.max_package_size(), 4);
    let mut buf = BytesMut::from(&4u32.to_be_bytes()[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), Some(Payload::new()));
    let mut buf = BytesMut::from(&5u32.to_be_bytes()[..]);
    let err = codec.decode(&mut buf).unwrap_err();
    assert!(matches!(err, FrameCodecError::PackageTooLarge { max: 4 }));

    let mut out = BytesMut::new();
    codec.encode(Payload::new(), &mut out).unwrap();
    assert_eq!(&out[..], b"\x00\x00\x00\x04");
    let err = codec.encode(Payload::from("x"), &mut out).unwrap_err();
    assert!(matches!(err, FrameCodecError::PackageTooLarge { max: 4 }));
}

#[test]
fn frame_encode_header_is_four_plus_body_length() {
    let mut codec = FrameCodec::default();
    let mut rng = Lcg::new(0x4ead);
    for len in [0usize, 1, 5, 251, 252, 255, 256, 65_531, 65_532, 70_000] {
        let body = rng.bytes(len);
        let mut out = BytesMut::from(&b"prefix"[..]);
        codec.encode(Payload::from(&body[..]), &mut out).unwrap();
        // Appended after what was there, header value = 4 + len, big end.
        assert_eq!(&out[..6], b"prefix");
        let header = u32::from_be_bytes(out[6..10].try_into().unwrap());
        assert_eq!(header as usize, FRAME_HEADER_LEN + len, "len {len}");
        assert_eq!(&out[10..], &body[..]);
        assert_eq!(&out[6..], &frame_wire(&body)[..]);
    }
}

#[test]
fn frame_encode_over_limit_errors_and_writes_nothing() {
    let mut codec = FrameCodec::new(16);
    let mut out = BytesMut::new();
    let err = codec
        .encode(Payload::from("0123456789abc"), &mut out)
        .unwrap_err();
    assert!(
        matches!(err, FrameCodecError::PackageTooLarge { max: 16 }),
        "{err:?}"
    );
    assert!(out.is_empty());
}

#[test]
fn frame_round_trip_random() {
    let mut rng = Lcg::new(0xf7a3e);
    let messages: Vec<Payload> = (0..500)
        .map(|_| {
            let len = [0, 1, 16, 100, 1024, 16 * 1024, 70_000][rng.below(7)];
            Payload::from(rng.bytes(len))
        })
        .collect();
    for seed in 1..=3 {
        assert_eq!(
            round_trip::<Frame>(DEFAULT_MAX_PACKAGE_SIZE, &messages, seed),
            messages
        );
    }
}

#[test]
fn frame_peek_length() {
    assert_eq!(FrameCodec::peek_length(b""), None);
    assert_eq!(FrameCodec::peek_length(b"\x00\x00\x01"), None);
    assert_eq!(FrameCodec::peek_length(b"\x00\x00\x01\x02"), Some(258));
    assert_eq!(FrameCodec::peek_length(b"\x00\x00\x00\x09jhdxr"), Some(9));
    assert_eq!(FrameCodec::peek_length(b"\xff\xff\xff\xff"), Some(u32::MAX));
}

#[test]
fn frame_eof_with_partial_header() {
    let mut codec = FrameCodec::default();
    let mut buf = BytesMut::from(&b"\x00\x00\x00"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert_eq!(&buf[..], b"\x00\x00\x00");
    // tokio's default decode_eof: "bytes remaining on stream", an
    // io::Error, here FrameCodecError::Io. The framework drops it.
    let err = codec.decode_eof(&mut buf).unwrap_err();
    assert!(matches!(err, FrameCodecError::Io(ref e) if e.kind() == io::ErrorKind::Other));
}

#[test]
fn frame_eof_with_partial_body() {
    let mut codec = FrameCodec::default();
    let mut buf = BytesMut::from(&b"\0\0\0*foobar"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    // The codec keeps no state: the partial frame stays in the buffer,
    // header included, and nothing was reserved for the announced 42.
    assert_eq!(&buf[..], b"\0\0\0*foobar");
    assert!(buf.capacity() < 42);
    // tokio's default decode_eof: "bytes remaining on stream", an
    // io::Error, here FrameCodecError::Io. The framework drops it.
    let err = codec.decode_eof(&mut buf).unwrap_err();
    assert!(matches!(err, FrameCodecError::Io(ref e) if e.kind() == io::ErrorKind::Other));
    assert_eq!(&buf[..], b"\0\0\0*foobar");
}

#[test]
fn frame_eof_right_after_a_header_is_a_partial_frame() {
    // A frame cut off right after its header is reported like any partial
    // frame (the header stays in the buffer): dropped, never delivered.
    let mut codec = FrameCodec::default();
    let mut buf = BytesMut::from(&b"\x00\x00\x00\x09"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert_eq!(&buf[..], b"\x00\x00\x00\x09");
    let err = codec.decode_eof(&mut buf).unwrap_err();
    assert!(matches!(err, FrameCodecError::Io(ref e) if e.kind() == io::ErrorKind::Other));
}

#[test]
fn frame_header_announcing_much_reserves_nothing() {
    // 9 MiB announced, 1 KiB sent: the buffer holds what arrived.
    let mut codec = FrameCodec::default();
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&(9u32 << 20).to_be_bytes());
    buf.extend_from_slice(&[7u8; 1024]);
    let cap = buf.capacity();
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert_eq!(buf.capacity(), cap);
    assert!(buf.capacity() < 64 * 1024);
}

#[test]
fn frame_eof_with_complete_frames() {
    let mut codec = FrameCodec::default();
    let mut buf = BytesMut::from(&frame_wire(b"last")[..]);
    assert_eq!(codec.decode_eof(&mut buf).unwrap().unwrap(), "last");
    assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
}

// ---------------------------------------------------------------------------
// tcp:// (raw)
// ---------------------------------------------------------------------------

#[test]
fn tcp_protocol_scheme_ignores_limit() {
    assert_eq!(Tcp::SCHEME, "tcp");
    // Nothing is buffered across reads, so the limit does not apply.
    let mut codec = Tcp::codec(1);
    let mut buf = BytesMut::from(&[7u8; 100][..]);
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap().len(), 100);
}

#[test]
fn tcp_each_buffer_is_one_message() {
    let mut codec = TcpCodec;
    let raw = b"one\ntwo\r\n\x00\x00\x00\x04\xff";
    let mut buf = BytesMut::from(&raw[..]);
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), &raw[..]);
    assert!(buf.is_empty());
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
}

#[test]
fn tcp_empty_buffer_is_none() {
    let mut buf = BytesMut::new();
    assert_eq!(TcpCodec.decode(&mut buf).unwrap(), None);
    assert_eq!(TcpCodec.decode_eof(&mut buf).unwrap(), None);
}

#[test]
fn tcp_decode_byte_by_byte() {
    // With no framing, every byte that arrives alone is a message.
    let raw = b"hello\n\xff";
    let mut codec = TcpCodec;
    let mut buf = BytesMut::new();
    for &byte in raw {
        buf.put_u8(byte);
        assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), &[byte]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
    }
}

#[test]
fn tcp_decode_split_at_every_boundary() {
    let raw = b"abc\ndef\r\n\x00\x01\x02";
    for k in 0..=raw.len() {
        let mut codec = TcpCodec;
        let mut buf = BytesMut::from(&raw[..k]);
        let first = codec.decode(&mut buf).unwrap();
        assert_eq!(first.is_none(), k == 0, "split at {k}");
        buf.extend_from_slice(&raw[k..]);
        let second = codec.decode(&mut buf).unwrap();
        assert_eq!(second.is_none(), k == raw.len(), "split at {k}");
        let mut joined = Vec::new();
        for part in first.iter().chain(second.iter()) {
            joined.extend_from_slice(part);
        }
        assert_eq!(joined, raw, "split at {k}");
        assert!(buf.is_empty());
    }
}

#[test]
fn tcp_many_packages_in_one_buffer_are_one_message() {
    let mut codec = TcpCodec;
    let mut buf = BytesMut::new();
    let mut raw = Vec::new();
    for i in 0..1000 {
        raw.extend_from_slice(format!("line {i}\n").as_bytes());
    }
    buf.put_slice(&raw);
    assert_eq!(drain(&mut codec, &mut buf), vec![Payload::from(raw)]);
}

#[test]
fn tcp_encode_writes_bytes_verbatim() {
    let mut codec = TcpCodec;
    let mut out = BytesMut::from(&b"x"[..]);
    codec.encode(Payload::new(), &mut out).unwrap();
    assert_eq!(&out[..], b"x");
    codec
        .encode(Payload::from(&b"a\nb\r\n\xff"[..]), &mut out)
        .unwrap();
    assert_eq!(&out[..], b"xa\nb\r\n\xff");
}

#[test]
fn tcp_round_trip_random() {
    let mut rng = Lcg::new(0x7c9);
    let messages: Vec<Payload> = (0..200)
        .map(|_| {
            let len = rng.below(20_000);
            Payload::from(rng.bytes(len))
        })
        .collect();
    let sent: Vec<u8> = messages.iter().flat_map(|m| m.iter().copied()).collect();
    for seed in 1..=3 {
        let received: Vec<u8> = round_trip::<Tcp>(1, &messages, seed)
            .iter()
            .inspect(|chunk| assert!(!chunk.is_empty()))
            .flat_map(|chunk| chunk.iter().copied())
            .collect();
        assert_eq!(received, sent);
    }
}

#[test]
fn tcp_eof_delivers_what_is_left() {
    let mut buf = BytesMut::from("tail");
    assert_eq!(TcpCodec.decode_eof(&mut buf).unwrap().unwrap(), "tail");
    assert_eq!(TcpCodec.decode_eof(&mut buf).unwrap(), None);
}
