//! `multipart/form-data` bodies (RFC 7578): form fields and uploaded
//! files, parsed from the complete body (which `max_package_size` bounds),
//! each file a zero-copy slice of it.
//!
//! ```text
//! --BOUNDARY\r\n
//! Content-Disposition: form-data; name="field"\r\n
//! \r\n
//! value\r\n
//! --BOUNDARY\r\n
//! Content-Disposition: form-data; name="upload"; filename="a.txt"\r\n
//! Content-Type: text/plain\r\n
//! \r\n
//! file bytes\r\n
//! --BOUNDARY--\r\n
//! ```

use bytes::Bytes;

use super::form::{percent_decode, Params};
use super::parse::trim;

/// One uploaded file of a `multipart/form-data` request (Workerman's
/// `$request->file()` entry).
///
/// The bytes are a slice of the request body, which is in memory already
/// (bounded by the worker's `max_package_size`), so no temporary file is
/// made here; `workerman::http::TempUpload` writes one when a path is
/// needed, and removes it when dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedFile {
    field: String,
    file_name: String,
    content_type: String,
    data: Bytes,
}

impl UploadedFile {
    /// An uploaded file from its parts (for tests and for handlers that
    /// build requests).
    pub fn new(
        field: impl Into<String>,
        file_name: impl Into<String>,
        content_type: impl Into<String>,
        data: impl Into<Bytes>,
    ) -> Self {
        UploadedFile {
            field: field.into(),
            file_name: file_name.into(),
            content_type: content_type.into(),
            data: data.into(),
        }
    }

    /// The form field name (`name="..."`).
    pub fn field_name(&self) -> &str {
        &self.field
    }

    /// The file name the client gave, without any directory part (a
    /// client's `C:\dir\a.txt` or `../a.txt` becomes `a.txt`). Never trust
    /// it as a path: it is the client's word.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The part's `Content-Type` (`text/plain` when the client sent none,
    /// RFC 7578's default).
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// Size in bytes.
    pub fn size(&self) -> usize {
        self.data.len()
    }

    /// The file's bytes.
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// Gives the bytes back.
    pub fn into_data(self) -> Bytes {
        self.data
    }
}

/// The `boundary` parameter of a `multipart/form-data` content type.
pub(crate) fn boundary(content_type: &[u8]) -> Option<&[u8]> {
    let mut parts = content_type.split(|&b| b == b';');
    let media = trim(parts.next()?);
    if !media.eq_ignore_ascii_case(b"multipart/form-data") {
        return None;
    }
    for p in parts {
        let p = trim(p);
        let Some(eq) = memchr::memchr(b'=', p) else {
            continue;
        };
        if !trim(&p[..eq]).eq_ignore_ascii_case(b"boundary") {
            continue;
        }
        let v = trim(&p[eq + 1..]);
        let v = v
            .strip_prefix(b"\"")
            .and_then(|v| v.strip_suffix(b"\""))
            .unwrap_or(v);
        return (!v.is_empty() && v.len() <= 70).then_some(v);
    }
    None
}

/// Parses `body` into fields and files, keeping at most `max_parts` parts
/// and `max_params` fields. A malformed body yields what was parsed before
/// the fault.
pub(crate) fn parse(
    body: &Bytes,
    boundary: &[u8],
    max_parts: usize,
    max_params: usize,
) -> (Params, Vec<UploadedFile>) {
    let mut fields = Params::new();
    let mut files = Vec::new();
    let mut delim = Vec::with_capacity(boundary.len() + 4);
    delim.extend_from_slice(b"\r\n--");
    delim.extend_from_slice(boundary);
    let finder = memchr::memmem::Finder::new(&delim);
    // The first delimiter may open the body (no preamble) or follow one.
    let mut pos = if body.starts_with(&delim[2..]) {
        delim.len() - 2
    } else {
        match finder.find(body) {
            Some(i) => i + delim.len(),
            None => return (fields, files),
        }
    };
    for _ in 0..max_parts {
        let rest = &body[pos..];
        if rest.starts_with(b"--") {
            break;
        }
        // Transport padding, then the line end.
        let pad = rest
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        let after = &rest[pad..];
        let nl = if after.starts_with(b"\r\n") {
            2
        } else if after.starts_with(b"\n") {
            1
        } else {
            break;
        };
        let headers_start = pos + pad + nl;
        let Some((headers_len, disposition, part_type)) = part_headers(&body[headers_start..])
        else {
            break;
        };
        let content_start = headers_start + headers_len;
        let Some(content_len) = finder.find(&body[content_start..]) else {
            break;
        };
        let content = body.slice(content_start..content_start + content_len);
        pos = content_start + content_len + delim.len();
        let Some(disposition) = disposition else {
            continue;
        };
        let Some(name) = disposition.name else {
            continue;
        };
        match disposition.file_name {
            Some(file_name) => {
                if file_name.is_empty() && content.is_empty() {
                    // A file input left empty by the user.
                    continue;
                }
                files.push(UploadedFile {
                    field: name,
                    file_name,
                    content_type: part_type.unwrap_or_else(|| "text/plain".to_owned()),
                    data: content,
                });
            }
            None => {
                if fields.len() < max_params {
                    fields.push(name, String::from_utf8_lossy(&content).into_owned());
                }
            }
        }
    }
    (fields, files)
}

struct Disposition {
    name: Option<String>,
    file_name: Option<String>,
}

/// Parses a part's header block; gives its length (blank line included),
/// its disposition and its content type.
fn part_headers(buf: &[u8]) -> Option<(usize, Option<Disposition>, Option<String>)> {
    let mut slots = [httparse::EMPTY_HEADER; 16];
    let (len, headers) = match httparse::parse_headers(buf, &mut slots) {
        Ok(httparse::Status::Complete(done)) => done,
        _ => return None,
    };
    let mut disposition = None;
    let mut content_type = None;
    for h in headers {
        if h.name.eq_ignore_ascii_case("content-disposition") {
            disposition = Some(parse_disposition(h.value));
        } else if h.name.eq_ignore_ascii_case("content-type") {
            content_type = Some(String::from_utf8_lossy(trim(h.value)).into_owned());
        }
    }
    Some((len, disposition, content_type))
}

/// `form-data; name="a"; filename="b.txt"` (also `filename*=UTF-8''...`).
fn parse_disposition(v: &[u8]) -> Disposition {
    let mut d = Disposition {
        name: None,
        file_name: None,
    };
    let mut star_name = None;
    let mut rest = match memchr::memchr(b';', v) {
        Some(i) => &v[i + 1..],
        None => &[][..],
    };
    while !rest.is_empty() {
        rest = trim(rest);
        let key_end = rest
            .iter()
            .position(|&b| b == b'=' || b == b';')
            .unwrap_or(rest.len());
        let key = trim(&rest[..key_end]);
        rest = &rest[key_end..];
        let mut value = Vec::new();
        if rest.first() == Some(&b'=') {
            rest = trim(&rest[1..]);
            if rest.first() == Some(&b'"') {
                // A quoted string; `\"` is an escaped quote, other
                // backslashes are literal (old browsers send Windows paths).
                let mut i = 1;
                while i < rest.len() {
                    match rest[i] {
                        b'\\' if rest.get(i + 1) == Some(&b'"') => {
                            value.push(b'"');
                            i += 2;
                        }
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b => {
                            value.push(b);
                            i += 1;
                        }
                    }
                }
                rest = &rest[i..];
            } else {
                let end = memchr::memchr(b';', rest).unwrap_or(rest.len());
                value.extend_from_slice(trim(&rest[..end]));
                rest = &rest[end..];
            }
        }
        if let Some(r) = rest.strip_prefix(b";") {
            rest = r;
        } else if !rest.is_empty() {
            // Junk after a value: skip to the next parameter.
            rest = match memchr::memchr(b';', rest) {
                Some(i) => &rest[i + 1..],
                None => &[][..],
            };
        }
        if key.eq_ignore_ascii_case(b"name") {
            d.name = Some(String::from_utf8_lossy(&value).into_owned());
        } else if key.eq_ignore_ascii_case(b"filename") {
            d.file_name = Some(base_name(&String::from_utf8_lossy(&value)));
        } else if key.eq_ignore_ascii_case(b"filename*") {
            // RFC 5987: charset'language'percent-encoded
            let mut it = value.splitn(3, |&b| b == b'\'');
            if let (Some(_charset), Some(_lang), Some(encoded)) = (it.next(), it.next(), it.next())
            {
                star_name = Some(base_name(&percent_decode(encoded)));
            }
        }
    }
    if star_name.is_some() {
        d.file_name = star_name;
    }
    d
}

/// The last path component, with `/` and `\` both taken as separators.
fn base_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    match base {
        "." | ".." => String::new(),
        b => b.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries() {
        assert_eq!(
            boundary(b"multipart/form-data; boundary=abc"),
            Some(&b"abc"[..])
        );
        assert_eq!(
            boundary(b"Multipart/Form-Data;charset=utf-8; boundary=\"a b\""),
            Some(&b"a b"[..])
        );
        assert_eq!(boundary(b"text/plain; boundary=abc"), None);
        assert_eq!(boundary(b"multipart/form-data"), None);
    }

    #[test]
    fn dispositions() {
        let d = parse_disposition(br#"form-data; name="a;b"; filename="C:\dir\x.txt""#);
        assert_eq!(d.name.as_deref(), Some("a;b"));
        assert_eq!(d.file_name.as_deref(), Some("x.txt"));
        let d = parse_disposition(b"form-data; name=plain; filename*=UTF-8''%E2%82%AC.txt");
        assert_eq!(d.name.as_deref(), Some("plain"));
        assert_eq!(d.file_name.as_deref(), Some("\u{20ac}.txt"));
        let d = parse_disposition(br#"form-data; name="q\"uote"; filename="../../etc/passwd""#);
        assert_eq!(d.name.as_deref(), Some("q\"uote"));
        assert_eq!(d.file_name.as_deref(), Some("passwd"));
    }

    #[test]
    fn parts() {
        let body = Bytes::from_static(
            b"preamble\r\n--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n\
              --XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f.bin\"\r\n\
              Content-Type: application/octet-stream\r\n\r\n\x00\x01\r\n--X\r\n--XX--\r\n",
        );
        let (fields, files) = parse(&body, b"XX", 10, 10);
        assert_eq!(fields.get("a"), Some("1"));
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].data(), &b"\x00\x01\r\n--X"[..]);
        assert_eq!(files[0].content_type(), "application/octet-stream");
        // The part limit stops parsing.
        let (fields, files) = parse(&body, b"XX", 1, 10);
        assert_eq!((fields.len(), files.len()), (1, 0));
    }
}
