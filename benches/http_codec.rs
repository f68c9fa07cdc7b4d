//! The HTTP codec in memory (criterion): request parsing in bytes/s and
//! requests/s, and response encoding.
//!
//! Run: `cargo bench --bench http_codec`
//!
//! Inputs: the `wrk`-style hello GET (the `http_load` request), a GET with
//! a browser's headers (about 700 bytes), a urlencoded POST with a 1 KiB
//! body, a 16 KiB chunked upload in 1 KiB chunks, and 16 pipelined hello
//! GETs in one buffer. Each decode includes building the `Request` (no
//! lazy part is parsed); the form bench also reads one field.

use bytes::BytesMut;
use criterion::{criterion_main, BatchSize, Criterion, Throughput};
use tokio_util::codec::{Decoder, Encoder};
use workerman::http::{HttpCodec, Response};

const HELLO: &[u8] =
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: http_load\r\nAccept: */*\r\n\r\n";

const BROWSER: &[u8] = b"GET /static/app.js?v=12345 HTTP/1.1\r\n\
Host: www.example.com\r\n\
Connection: keep-alive\r\n\
sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
sec-ch-ua-platform: \"Linux\"\r\n\
Accept: */*\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-Mode: no-cors\r\n\
Sec-Fetch-Dest: script\r\n\
Referer: https://www.example.com/index.html\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Cookie: PHPSID=0123456789abcdef0123456789abcdef; theme=dark; _ga=GA1.2.1234567890.1234567890\r\n\r\n";

fn form_post() -> Vec<u8> {
    let mut body = String::from("name=workerman");
    while body.len() < 1024 {
        body.push_str("&field=some+value%21");
    }
    let mut req = format!(
        "POST /submit HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body.as_bytes());
    req
}

fn chunked_upload() -> Vec<u8> {
    let mut req =
        b"POST /upload HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for _ in 0..16 {
        req.extend_from_slice(b"400\r\n");
        req.extend_from_slice(&[b'x'; 1024]);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    req
}

/// Decodes every request in `input`; returns how many.
fn decode_all(input: BytesMut) -> usize {
    let mut codec = HttpCodec::default();
    let mut buf = input;
    let mut n = 0;
    while let Some(req) = codec.decode(&mut buf).expect("valid input") {
        criterion::black_box(&req);
        n += 1;
    }
    n
}

fn parse(c: &mut Criterion) {
    let form = form_post();
    let chunked = chunked_upload();
    let pipelined = HELLO.repeat(16);
    let inputs: [(&str, &[u8], u64); 5] = [
        ("hello_get", HELLO, 1),
        ("browser_get", BROWSER, 1),
        ("form_post_1k", &form, 1),
        ("chunked_16k", &chunked, 1),
        ("pipelined_16", &pipelined, 16),
    ];

    let mut bytes = c.benchmark_group("http_parse_bytes");
    for (name, input, _) in inputs {
        bytes.throughput(Throughput::Bytes(input.len() as u64));
        bytes.bench_function(name, |b| {
            b.iter_batched(|| BytesMut::from(input), decode_all, BatchSize::SmallInput)
        });
    }
    bytes.finish();

    let mut reqs = c.benchmark_group("http_parse_requests");
    for (name, input, count) in inputs {
        reqs.throughput(Throughput::Elements(count));
        reqs.bench_function(name, |b| {
            b.iter_batched(|| BytesMut::from(input), decode_all, BatchSize::SmallInput)
        });
    }
    reqs.bench_function("form_post_1k_read_field", |b| {
        b.iter_batched(
            || BytesMut::from(&form[..]),
            |mut buf| {
                let mut codec = HttpCodec::default();
                let req = codec.decode(&mut buf).expect("valid").expect("complete");
                criterion::black_box(req.post("name").map(str::len))
            },
            BatchSize::SmallInput,
        )
    });
    reqs.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("http_encode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("hello_response", |b| {
        let mut codec = HttpCodec::default();
        let mut out = BytesMut::with_capacity(4096);
        b.iter(|| {
            out.clear();
            let r = Response::new(200)
                .with_header("Content-Type", "text/plain")
                .with_body("Hello World");
            codec.encode(r, &mut out).expect("encodes");
            criterion::black_box(out.len())
        })
    });
    group.finish();
}

/// Runs every bench (what `criterion_group!` expands to, written out so it
/// can carry this doc comment), with shorter timings than criterion's
/// defaults and no plots.
fn benches() {
    let mut c = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3))
        .without_plots()
        .configure_from_args();
    parse(&mut c);
    encode(&mut c);
}

criterion_main!(benches);
