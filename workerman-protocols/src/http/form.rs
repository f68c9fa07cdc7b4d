//! [`Params`]: decoded name/value pairs from a query string, a form body or
//! a `Cookie` header.

use std::borrow::Cow;

/// Name/value pairs, decoded, in the order they were sent.
///
/// Names are kept as sent: PHP turns `a[]=1&a[]=2` into a nested array,
/// here the name is `"a[]"` and both values are there
/// (`get_all("a[]")`). A name sent more than once gives its last value to
/// [`get`](Params::get) (PHP's rule) and all of them to
/// [`get_all`](Params::get_all). Bytes that are not UTF-8 after decoding
/// are replaced by U+FFFD.
///
/// # Examples
///
/// ```
/// use workerman_protocols::http::Params;
///
/// let p = Params::parse_urlencoded(b"name=J%C3%BCrgen+M&tag=a&tag=b&flag");
/// assert_eq!(p.get("name"), Some("Jürgen M"));
/// assert_eq!(p.get("tag"), Some("b"));
/// assert_eq!(p.get_all("tag").collect::<Vec<_>>(), ["a", "b"]);
/// assert_eq!(p.get("flag"), Some(""));
/// assert_eq!(p.get("missing"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

/// The most pairs parsed from one input unless the configuration says
/// otherwise (PHP's `max_input_vars`).
pub const DEFAULT_MAX_PARAMS: usize = 1000;

impl Params {
    /// No pairs.
    pub const fn new() -> Self {
        Params { pairs: Vec::new() }
    }

    /// Parses `application/x-www-form-urlencoded` (also the query string
    /// syntax): `&`-separated `name=value`, `+` for space, `%XX` escapes.
    /// At most [`DEFAULT_MAX_PARAMS`] pairs are kept.
    pub fn parse_urlencoded(input: &[u8]) -> Self {
        Self::parse_urlencoded_limited(input, DEFAULT_MAX_PARAMS)
    }

    /// As [`parse_urlencoded`](Params::parse_urlencoded), keeping at most
    /// `max` pairs (the rest are ignored).
    pub fn parse_urlencoded_limited(input: &[u8], max: usize) -> Self {
        let pairs = form_urlencoded::parse(input)
            .take(max)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Params { pairs }
    }

    /// Parses a `Cookie` header value: `name=value` pairs separated by `;`,
    /// white space trimmed, optional double quotes removed, `%XX` decoded
    /// (`+` is kept as is: cookie values are often base64). At most `max`
    /// pairs are kept.
    pub fn parse_cookie_header(input: &[u8], max: usize) -> Self {
        let mut pairs = Vec::new();
        for part in input.split(|&b| b == b';') {
            if pairs.len() >= max {
                break;
            }
            let part = super::parse::trim(part);
            if part.is_empty() {
                continue;
            }
            let (name, value) = match memchr::memchr(b'=', part) {
                Some(i) => (
                    super::parse::trim(&part[..i]),
                    super::parse::trim(&part[i + 1..]),
                ),
                None => (part, &b""[..]),
            };
            if name.is_empty() {
                continue;
            }
            let value = value
                .strip_prefix(b"\"")
                .and_then(|v| v.strip_suffix(b"\""))
                .unwrap_or(value);
            pairs.push((percent_decode(name), percent_decode(value)));
        }
        Params { pairs }
    }

    /// The last value sent for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value sent for `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `name` was sent (with any value, even empty).
    pub fn contains(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }

    /// Every pair, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many pairs there are.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Adds a pair at the end.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.pairs.push((name.into(), value.into()));
    }
}

impl<'a> IntoIterator for &'a Params {
    type Item = (&'a str, &'a str);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a str, &'a str),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// `%XX` decoding (no `+`), lossy UTF-8.
pub(crate) fn percent_decode(input: &[u8]) -> String {
    match percent_encoding::percent_decode(input).decode_utf8_lossy() {
        Cow::Borrowed(s) => s.to_owned(),
        Cow::Owned(s) => s,
    }
}
