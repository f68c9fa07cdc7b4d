//! Fuzz harnesses for every decoder a peer can reach (see `README.md`).
//!
//! Each target is a plain function `check_<target>(data: &[u8])`, called
//! by its libFuzzer entry point (`fuzz_targets/<target>.rs`), by the same
//! binary built without libFuzzer (a replayer), and by the replay test
//! (`tests/replay.rs`) over the committed corpus and regressions. A check
//! panics when an invariant breaks:
//!
//! * **memory**: a counting global allocator (below) measures the peak of
//!   live heap bytes; the growth while one input is decoded must stay
//!   within the target's bound, a small multiple of the configured limit
//!   plus a constant (each target explains its factor);
//! * **split invariance**: the input decoded from one buffer and fed in
//!   pieces (lengths taken from the input) gives the same messages, and an
//!   error in one iff an error in the other ([`drive`]);
//! * **round trip**: what the encoder writes, the decoder gives back.
//!
//! Input layout shared by the codec targets ([`Input`]): two config
//! bytes, one byte `n` (`n % 32` split lengths), the stream, and the `n`
//! split lengths at the end.

#![allow(clippy::missing_panics_doc)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Debug;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use bytes::BytesMut;
use tokio_util::codec::Decoder;

mod channel;
mod frame;
mod globaldata;
mod http;
mod text;
mod websocket;

pub use channel::check_channel_wire;
pub use frame::check_frame;
pub use globaldata::check_globaldata_wire;
pub use http::check_http_request;
pub use text::check_text;
pub use websocket::{check_websocket_client, check_websocket_server};

/// A target's check function.
pub type Check = fn(&[u8]);

/// Every target, by name, for the replayers.
pub const TARGETS: &[(&str, Check)] = &[
    ("text", check_text),
    ("frame", check_frame),
    ("websocket_server", check_websocket_server),
    ("websocket_client", check_websocket_client),
    ("http_request", check_http_request),
    ("channel_wire", check_channel_wire),
    ("globaldata_wire", check_globaldata_wire),
];

// ---------------------------------------------------------------------
// The counting allocator.

/// Wraps the system allocator and counts live heap bytes (current and
/// peak) with atomics. Only sizes are counted: the allocator's own
/// bookkeeping is not, which is fine for bounds that are about what the
/// decoders ask for.
#[derive(Debug)]
pub struct CountingAlloc;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grow(n: usize) {
    let now = CURRENT.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn shrink(n: usize) {
    CURRENT.fetch_sub(n, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` with the same arguments;
// the counters do not touch the memory.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) };
        shrink(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grow(new_size - layout.size());
            } else {
                shrink(layout.size() - new_size);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Live heap bytes now.
pub fn live_bytes() -> usize {
    CURRENT.load(Ordering::Relaxed)
}

/// Measures the peak growth of live heap bytes over a stretch of code.
/// Meters nest: an outer meter still sees the peaks inside an inner one.
#[derive(Debug)]
pub struct Meter {
    base: usize,
    outer_peak: usize,
}

impl Meter {
    /// Starts measuring from the live bytes now.
    pub fn start() -> Meter {
        let base = CURRENT.load(Ordering::Relaxed);
        let outer_peak = PEAK.swap(base, Ordering::Relaxed);
        Meter { base, outer_peak }
    }

    /// The highest growth over the start so far.
    pub fn peak(&self) -> usize {
        PEAK.load(Ordering::Relaxed).saturating_sub(self.base)
    }

    /// Stops measuring; gives the highest growth over the start.
    pub fn finish(self) -> usize {
        let peak = self.peak();
        PEAK.fetch_max(self.outer_peak, Ordering::Relaxed);
        peak
    }
}

/// Checks are run one at a time (the replay test runs them from several
/// threads; the counters are global).
static SERIAL: Mutex<()> = Mutex::new(());

/// Holds the lock that serialises checks.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

// ---------------------------------------------------------------------
// Input helpers.

/// A reader of fuzz bytes that never fails: past the end it gives zeros
/// and empty slices.
#[derive(Debug, Clone)]
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    /// Reads `data` from the start.
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte, 0 past the end.
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    /// A little-endian u64 of the next 8 bytes (zeros past the end).
    pub fn u64(&mut self) -> u64 {
        let mut v = [0u8; 8];
        for b in &mut v {
            *b = self.byte();
        }
        u64::from_le_bytes(v)
    }

    /// The next `n` bytes (fewer at the end).
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (a, b) = self.data.split_at(n);
        self.data = b;
        a
    }

    /// A length byte, then that many bytes.
    pub fn chunk(&mut self) -> &'a [u8] {
        let n = self.byte() as usize;
        self.take(n)
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        self.take(self.data.len())
    }
}

/// The common layout of the codec targets' inputs.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    /// First config byte.
    pub cfg0: u8,
    /// Second config byte.
    pub cfg1: u8,
    /// The bytes a peer sends.
    pub stream: &'a [u8],
    /// Piece lengths for the split run (see [`pieces`]).
    pub splits: &'a [u8],
}

impl<'a> Input<'a> {
    /// Splits `data` into config, stream and split lengths.
    pub fn parse(data: &'a [u8]) -> Input<'a> {
        let mut b = Bytes::new(data);
        let cfg0 = b.byte();
        let cfg1 = b.byte();
        let n = (b.byte() % 32) as usize;
        let rest = b.rest();
        let n = n.min(rest.len());
        let (stream, splits) = rest.split_at(rest.len() - n);
        Input {
            cfg0,
            cfg1,
            stream,
            splits,
        }
    }
}

/// The largest piece [`pieces`] makes.
pub const MAX_PIECE: usize = 0x7f * 16 + 16;

/// Cuts `stream` into pieces whose lengths come from `splits` (cycled):
/// a byte `b` below 128 is `b + 1` bytes, from 128 on `(b - 127) * 16`.
/// Without split bytes the pieces are 1, 7, 64, 1, 7, 64, ... bytes.
pub fn pieces<'a>(stream: &'a [u8], splits: &[u8]) -> Vec<&'a [u8]> {
    const DEFAULT: [u8; 3] = [0, 6, 63];
    let splits = if splits.is_empty() {
        &DEFAULT[..]
    } else {
        splits
    };
    let mut out = Vec::new();
    let mut rest = stream;
    let mut i = 0;
    while !rest.is_empty() {
        let b = splits[i % splits.len()];
        i += 1;
        let n = if b < 128 {
            b as usize + 1
        } else {
            (b as usize - 127) * 16
        };
        let (a, r) = rest.split_at(n.min(rest.len()));
        out.push(a);
        rest = r;
    }
    out
}

/// A stable 64-bit digest of anything hashable (std's SipHash with fixed
/// keys: no allocation).
pub fn digest<T: Hash + ?Sized>(v: &T) -> u64 {
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new();
    v.hash(&mut h);
    h.finish()
}

// ---------------------------------------------------------------------
// The split-invariance driver.

/// One decoder under test, as a connection would drive it.
pub trait Harness {
    /// The codec.
    type Codec: Decoder;

    /// A fresh codec for one connection.
    fn codec(&mut self) -> Self::Codec;

    /// The bytes the peer sends to this codec (a client's test needs the
    /// key its codec drew). Called once per run, before decoding.
    fn prepare(&mut self, codec: &mut Self::Codec, stream: &[u8]) -> Vec<u8> {
        let _ = codec;
        stream.to_vec()
    }

    /// What is stable about a decoded message (a digest), after
    /// exercising what a handler may call on it.
    fn message(&mut self, codec: &mut Self::Codec, item: <Self::Codec as Decoder>::Item) -> u64;

    /// After every decode call: moves what the codec wants written of its
    /// own accord into `out`.
    fn drain(&mut self, codec: &mut Self::Codec, out: &mut Vec<u8>) {
        let _ = (codec, out);
    }

    /// What about an error must be the same however the input was split
    /// (see each target for the classes that may legitimately differ).
    fn error_class(
        &mut self,
        codec: &mut Self::Codec,
        err: &<Self::Codec as Decoder>::Error,
        at_eof: bool,
    ) -> String;

    /// The most one `decode` call may add to the live heap, with
    /// `buffered` bytes in the read buffer when it starts.
    fn call_bound(&self, buffered: usize) -> usize;

    /// The most a whole run may add to the live heap (read buffer
    /// included, fed in pieces of at most [`MAX_PIECE`] bytes, messages
    /// dropped once digested).
    fn session_bound(&self, messages: usize) -> usize;

    /// The most bytes the codec may leave in the read buffer when it asks
    /// for more.
    fn buffered_bound(&self) -> usize;

    /// Whether the bytes written of the codec's own accord must be the
    /// same however the input was split.
    fn compare_output(&self) -> bool {
        true
    }
}

/// What one run gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Digests of the messages, in order.
    pub messages: Vec<u64>,
    /// The error's class, if decoding failed.
    pub error: Option<String>,
    /// What the codec wrote of its own accord.
    pub output: Vec<u8>,
}

fn step<H: Harness>(
    h: &mut H,
    codec: &mut H::Codec,
    buf: &mut BytesMut,
    eof: bool,
    outcome: &mut Outcome,
) -> bool {
    loop {
        let buffered = buf.len();
        let meter = Meter::start();
        let r = if eof {
            codec.decode_eof(buf)
        } else {
            codec.decode(buf)
        };
        let grown = meter.finish();
        let bound = h.call_bound(buffered);
        assert!(
            grown <= bound,
            "one decode call grew the heap by {grown} bytes, bound {bound}"
        );
        h.drain(codec, &mut outcome.output);
        match r {
            Ok(Some(item)) => {
                let d = h.message(codec, item);
                outcome.messages.push(d);
                h.drain(codec, &mut outcome.output);
            }
            Ok(None) => {
                let max = h.buffered_bound();
                assert!(
                    buf.len() <= max,
                    "decoder asked for more with {} bytes buffered, bound {max}",
                    buf.len()
                );
                return true;
            }
            Err(e) => {
                outcome.error = Some(h.error_class(codec, &e, eof));
                return false;
            }
        }
    }
}

/// Decodes `input.stream` in one buffer, then in pieces, and checks the
/// invariants; returns the one-buffer outcome.
pub fn drive<H: Harness>(h: &mut H, stream: &[u8], splits: &[u8]) -> Outcome {
    // One buffer (as if one read returned everything).
    let mut whole = Outcome {
        messages: Vec::new(),
        error: None,
        output: Vec::new(),
    };
    {
        let mut codec = h.codec();
        let stream = h.prepare(&mut codec, stream);
        let mut buf = BytesMut::from(&stream[..]);
        if step(h, &mut codec, &mut buf, false, &mut whole) {
            step(h, &mut codec, &mut buf, true, &mut whole);
        }
    }

    // In pieces, as reads return them.
    let mut codec = h.codec();
    let stream = h.prepare(&mut codec, stream);
    let pieces = pieces(&stream, splits);
    let mut split = Outcome {
        messages: Vec::with_capacity(whole.messages.len() + 1),
        error: None,
        output: Vec::with_capacity(whole.output.len() + 64),
    };
    let meter = Meter::start();
    {
        let mut buf = BytesMut::new();
        let mut ok = true;
        for p in &pieces {
            buf.extend_from_slice(p);
            if !step(h, &mut codec, &mut buf, false, &mut split) {
                ok = false;
                break;
            }
        }
        if ok {
            step(h, &mut codec, &mut buf, true, &mut split);
        }
    }
    let grown = meter.finish();
    let bound = h.session_bound(split.messages.len());
    assert!(
        grown <= bound,
        "decoding one input in pieces grew the heap by {grown} bytes, bound {bound}"
    );

    // Messages up to the first error must agree, and an error in one iff
    // an error in the other.
    let n = whole.messages.len().min(split.messages.len());
    assert_eq!(
        whole.messages[..n],
        split.messages[..n],
        "messages differ between one buffer and pieces"
    );
    assert_eq!(
        whole.messages.len(),
        split.messages.len(),
        "message count differs between one buffer ({:?}) and pieces ({:?})",
        whole.error,
        split.error
    );
    assert_eq!(
        whole.error, split.error,
        "errors differ between one buffer and pieces"
    );
    if h.compare_output() {
        assert!(
            whole.output == split.output,
            "output differs between one buffer ({} bytes) and pieces ({} bytes)",
            whole.output.len(),
            split.output.len()
        );
    }
    whole
}

/// The kind of an error as its `Debug` text up to the first `(` or `{`
/// (the variant name), or the whole text when `full`.
pub fn variant<E: Debug>(e: &E, full: bool) -> String {
    let s = format!("{e:?}");
    if full {
        return s;
    }
    let end = s.find(['(', '{', ' ']).unwrap_or(s.len());
    s[..end].to_owned()
}

/// An `io::Error` from tokio-util's default `decode_eof` (bytes left in
/// the buffer at end of stream).
pub fn is_eof_leftover(e: &std::io::Error) -> bool {
    e.to_string().contains("bytes remaining on stream")
}

/// A length limit chosen by two bits of config.
pub fn pick<T: Copy>(choices: &[T], bits: u8) -> T {
    choices[bits as usize % choices.len()]
}

// ---------------------------------------------------------------------
// Replaying files.

/// Runs `check` over every file in `dir` (not recursive); the number of
/// files. Panics, naming the file, when a check fails.
pub fn replay_dir(check: Check, dir: &std::path::Path) -> std::io::Result<usize> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            // `.gitkeep` and notes are not inputs.
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            name.is_some_and(|n| !n.starts_with('.') && !n.ends_with(".md"))
        })
        .collect();
    entries.sort();
    for path in &entries {
        let data = std::fs::read(path)?;
        let r = std::panic::catch_unwind(|| check(&data));
        if let Err(e) = r {
            eprintln!("replay failed on {}", path.display());
            std::panic::resume_unwind(e);
        }
    }
    Ok(entries.len())
}

/// The `main` of a target binary built without libFuzzer: replays the
/// files and folders named on the command line.
pub fn replay_main(check: Check) {
    let mut n = 0usize;
    for arg in std::env::args_os().skip(1) {
        let path = std::path::PathBuf::from(arg);
        if path.is_dir() {
            n += replay_dir(check, &path).expect("read the folder");
        } else {
            let data = std::fs::read(&path).expect("read the file");
            check(&data);
            n += 1;
        }
    }
    println!("replayed {n} inputs");
}

/// A `Hash` wrapper for `f64` by bits, for digests.
#[derive(Debug, Clone, Copy)]
pub struct Bits(pub f64);

impl Hash for Bits {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}
