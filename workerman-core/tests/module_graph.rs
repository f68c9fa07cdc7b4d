//! Core's module graph points one way: no module of `workerman-core` uses
//! an item of a module that uses one of its own, directly or through
//! others (issue 14). Run it alone to see the graph, one layer per line:
//!
//! ```text
//! cargo test -p workerman-core --test module_graph -- --nocapture
//! ```
//!
//! The graph is read from the source with the standard library only, so
//! the check needs nothing installed: every `use` and every path through
//! `crate::`, `super::`, `self::` or a child module is an edge from the
//! module it is written in to the module that *defines* the item it names
//! (re-exports are followed, as `cargo modules dependencies` does; a module
//! that only declares and re-exports its children is a facade, not a step
//! of a cycle). Code under `#[cfg(test)]` is left out: a test module may
//! use whatever it tests. The same graph can be drawn with the
//! `cargo-modules` tool: `cargo modules dependencies --lib -p
//! workerman-core --no-fns --no-types --no-traits --no-externs --no-sysroot
//! --no-owns` (DOT).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// One module: its source file and the text that counts (comments,
/// literals and test-only items blanked out).
struct Module {
    file: PathBuf,
    code: String,
    /// Child modules declared with `mod name;`.
    children: BTreeSet<String>,
    /// Items defined here, by name.
    defined: BTreeSet<String>,
    /// `pub`/`pub(crate)` re-exports: name → the path it names.
    reexports: BTreeMap<String, Vec<String>>,
    /// `pub use path::*` re-exports.
    globs: Vec<Vec<String>>,
}

fn module_path(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    match last.as_str() {
        "lib.rs" | "mod.rs" => {}
        other => parts.push(other.trim_end_matches(".rs").to_owned()),
    }
    if parts.is_empty() {
        "crate".to_owned()
    } else {
        parts.join("::")
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("readable src")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Blanks comments, string and character literals (keeping line breaks,
/// so byte offsets still map to lines).
fn strip(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let blank = |c: u8| if c == b'\n' { b'\n' } else { b' ' };
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                out.push(b' ');
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    out.extend([b' ', b' ']);
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    out.extend([b' ', b' ']);
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == b'r'
            && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            // A raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            out.push(b'"');
            i = j + 1;
            while i < b.len() && !b[i..].starts_with(&close) {
                out.push(blank(b[i]));
                i += 1;
            }
            out.push(b'"');
            i += close.len();
        } else if c == b'"' {
            out.push(b'"');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    out.push(b' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            out.push(b'"');
            i += 1;
        } else if c == b'\'' {
            // A character literal ('x', '\n', '\''), not a lifetime ('a).
            let lit_len = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..].iter().position(|&x| x == b'\'').map(|p| p + 3)
            } else if b.get(i + 2) == Some(&b'\'') {
                Some(3)
            } else {
                None
            };
            match lit_len {
                Some(n) => {
                    out.extend(std::iter::repeat_n(b' ', n));
                    i += n;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).expect("ASCII blanks keep UTF-8")
}

/// The end of the item starting at `from`: its matching closing brace, or
/// the `;` that ends it when that comes first.
fn item_end(code: &[u8], from: usize) -> usize {
    let mut depth = 0usize;
    let mut i = from;
    while i < code.len() {
        match code[i] {
            b';' if depth == 0 => return i + 1,
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 && code[i] == b'}' {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    code.len()
}

/// Blanks every item under `#[cfg(test)]`.
fn drop_test_items(code: &str) -> String {
    let mut b = code.as_bytes().to_vec();
    let mut from = 0;
    while let Some(pos) = code[from..].find("#[cfg(test)]") {
        let start = from + pos;
        let mut i = start + "#[cfg(test)]".len();
        // Further attributes of the same item.
        loop {
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if b[i..].starts_with(b"#[") {
                i = item_end(&b, i + 1);
            } else {
                break;
            }
        }
        let end = item_end(&b, i);
        for x in &mut b[start..end] {
            if *x != b'\n' {
                *x = b' ';
            }
        }
        from = end;
    }
    String::from_utf8(b).expect("ASCII blanks keep UTF-8")
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The `use` trees of `code`: (visibility is public, leaf path, alias).
fn use_items(code: &str) -> Vec<(bool, Vec<String>, String, usize)> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = code[from..].find("use ") {
        let at = from + pos;
        from = at + 4;
        if at > 0 && is_ident(b[at - 1]) {
            continue;
        }
        // Only `use` at the start of an item: after `;`, `{`, `}`, `]`,
        // a visibility or the start of the file.
        let before = code[..at].trim_end();
        let public = before.ends_with("pub") || before.ends_with(')');
        let ok = before.is_empty()
            || before.ends_with(';')
            || before.ends_with('{')
            || before.ends_with('}')
            || before.ends_with(']')
            || public;
        if !ok {
            continue;
        }
        let end = at + code[at..].find(';').expect("a use ends with ;");
        let tree: String = code[at + 4..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        expand(&tree, &mut Vec::new(), &mut |path, alias| {
            out.push((public, path, alias, at));
        });
        from = end;
    }
    out
}

/// Calls `f` for each leaf of a use tree such as `a::{b, c::{d as e, *}}`.
fn expand(tree: &str, prefix: &mut Vec<String>, f: &mut dyn FnMut(Vec<String>, String)) {
    let tree = tree.trim_start_matches("::");
    if let Some(open) = tree.find('{') {
        let head = &tree[..open];
        let n = prefix.len();
        prefix.extend(
            head.split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
        let inner = &tree[open + 1..tree.len() - 1];
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    if !inner[start..i].is_empty() {
                        expand(&inner[start..i], prefix, f);
                    }
                    start = i + 1;
                }
                _ => {}
            }
        }
        if !inner[start..].is_empty() {
            expand(&inner[start..], prefix, f);
        }
        prefix.truncate(n);
    } else {
        let (path, alias) = match tree.split_once("as") {
            Some((p, a)) if !p.ends_with(':') => (p, Some(a)),
            _ => (tree, None),
        };
        let mut full = prefix.clone();
        full.extend(path.split("::").map(str::to_owned));
        let alias = alias
            .map(str::to_owned)
            .unwrap_or_else(|| full.last().cloned().unwrap_or_default());
        let alias = if alias == "self" {
            full.pop();
            full.last().cloned().unwrap_or_default()
        } else {
            alias
        };
        f(full, alias);
    }
}

/// Names of items defined in `code` (not inside function bodies: a path
/// to a name defined in a body cannot be written from outside anyway).
fn defined_names(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for kw in [
        "fn ", "struct ", "enum ", "trait ", "type ", "const ", "static ", "union ",
    ] {
        let mut from = 0;
        while let Some(pos) = code[from..].find(kw) {
            let at = from + pos;
            from = at + kw.len();
            if at > 0 && is_ident(code.as_bytes()[at - 1]) {
                continue;
            }
            let name: String = code[from..]
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                names.insert(name);
            }
        }
    }
    let mut from = 0;
    while let Some(pos) = code[from..].find("macro_rules!") {
        from += pos + "macro_rules!".len();
        let name: String = code[from..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        names.insert(name);
    }
    names
}

struct Graph {
    modules: BTreeMap<String, Module>,
}

impl Graph {
    fn load(src: &Path) -> Graph {
        let mut files = Vec::new();
        rust_files(src, &mut files);
        let mut modules = BTreeMap::new();
        for file in files {
            let text = fs::read_to_string(&file).expect("readable source");
            let code = drop_test_items(&strip(&text));
            let mut children = BTreeSet::new();
            for line in code.lines() {
                let t = line.trim_start();
                let t = t
                    .strip_prefix("pub(crate) ")
                    .or_else(|| t.strip_prefix("pub "))
                    .unwrap_or(t);
                if let Some(rest) = t.strip_prefix("mod ") {
                    let name = rest.trim_end_matches(';').trim();
                    assert!(
                        rest.trim_end().ends_with(';'),
                        "{}: an inline module outside #[cfg(test)] ({line}); give it a file",
                        file.display()
                    );
                    children.insert(name.to_owned());
                }
            }
            let mut reexports = BTreeMap::new();
            let mut globs = Vec::new();
            for (public, path, alias, _) in use_items(&code) {
                if !public {
                    continue;
                }
                if alias == "*" {
                    let mut p = path;
                    p.pop();
                    globs.push(p);
                } else {
                    reexports.insert(alias, path);
                }
            }
            let defined = defined_names(&code);
            let path = module_path(src, &file);
            modules.insert(
                path,
                Module {
                    file,
                    code,
                    children,
                    defined,
                    reexports,
                    globs,
                },
            );
        }
        Graph { modules }
    }

    fn parent(m: &str) -> String {
        match m.rsplit_once("::") {
            Some((p, _)) => p.to_owned(),
            None => "crate".to_owned(),
        }
    }

    fn child(m: &str, name: &str) -> String {
        if m == "crate" {
            name.to_owned()
        } else {
            format!("{m}::{name}")
        }
    }

    /// The module a path written in module `at` leads to: the one that
    /// defines the item it names, following re-exports. `None` for paths
    /// out of the crate.
    fn resolve(&self, at: &str, path: &[String], depth: usize) -> Option<String> {
        assert!(depth < 32, "re-export loop at {at}: {path:?}");
        let (mut cur, rest) = match path.first().map(String::as_str) {
            Some("crate") => ("crate".to_owned(), &path[1..]),
            Some("self") => (at.to_owned(), &path[1..]),
            Some("super") => {
                let mut cur = at.to_owned();
                let mut i = 0;
                while path.get(i).map(String::as_str) == Some("super") {
                    cur = Self::parent(&cur);
                    i += 1;
                }
                (cur, &path[i..])
            }
            Some(first) if self.modules[at].children.contains(first) => (at.to_owned(), path),
            _ => return None,
        };
        for (i, seg) in rest.iter().enumerate() {
            let module = &self.modules[&cur];
            if module.children.contains(seg) {
                cur = Self::child(&cur, seg);
                continue;
            }
            if seg == "*" || module.defined.contains(seg) {
                return Some(cur);
            }
            if let Some(target) = module.reexports.get(seg) {
                let mut p = target.clone();
                p.extend(rest[i + 1..].iter().cloned());
                return self.resolve(&cur, &p, depth + 1).or(Some(cur));
            }
            for glob in &module.globs {
                let mut p = glob.clone();
                p.extend(rest[i..].iter().cloned());
                if let Some(m) = self.resolve(&cur, &p, depth + 1) {
                    if self.modules[&m].defined.contains(seg) || m != cur {
                        return Some(m);
                    }
                }
            }
            // A name this tool cannot see defined (a macro-made item, an
            // enum variant reached through a module): the module itself.
            return Some(cur);
        }
        Some(cur)
    }

    /// Whether `path` (written in `at`) names a module, not an item.
    fn names_module(&self, at: &str, path: &[String]) -> bool {
        let Some(last) = path.last() else {
            return false;
        };
        let mut parent = path.to_vec();
        parent.pop();
        if parent.is_empty() {
            return self.modules[at].children.contains(last);
        }
        self.module_path_is_modules(at, &parent)
            && self
                .resolve(at, &parent, 0)
                .is_some_and(|m| self.modules.contains_key(&Self::child(&m, last)))
    }

    /// Whether every segment of `path` after its start is a module.
    fn module_path_is_modules(&self, at: &str, path: &[String]) -> bool {
        let mut cur = match path.first().map(String::as_str) {
            Some("crate") => "crate".to_owned(),
            Some("self") => at.to_owned(),
            Some("super") => Self::parent(at),
            Some(first) if self.modules[at].children.contains(first) => Self::child(at, first),
            _ => return false,
        };
        for seg in &path[1..] {
            if seg == "super" {
                cur = Self::parent(&cur);
            } else if self.modules[&cur].children.contains(seg) {
                cur = Self::child(&cur, seg);
            } else {
                return false;
            }
        }
        true
    }

    /// Every edge: (from, to) → the first line that makes it.
    fn edges(&self) -> BTreeMap<(String, String), String> {
        let mut edges = BTreeMap::new();
        for (name, module) in &self.modules {
            let code = &module.code;
            let line_of = |at: usize| code[..at].matches('\n').count() + 1;
            let mut add = |to: Option<String>, at: usize| {
                if let Some(to) = to {
                    if &to != name {
                        edges.entry((name.clone(), to)).or_insert_with(|| {
                            format!("{}:{}", module.file.display(), line_of(at))
                        });
                    }
                }
            };
            // Aliases of modules brought in by `use` (`use crate::process;`
            // then `process::X`) resolve where they are used.
            let mut module_aliases: BTreeMap<String, String> = BTreeMap::new();
            for (_, path, alias, at) in use_items(code) {
                let to = self.resolve(name, &path, 0);
                let is_module = self.names_module(name, &path);
                if let (true, Some(to)) = (is_module, &to) {
                    module_aliases.insert(alias, to.clone());
                } else {
                    add(to, at);
                }
            }
            // Paths in code: crate::..., super::..., self::..., child::...,
            // alias::...
            let b = code.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if is_ident(b[i]) && (i == 0 || !(is_ident(b[i - 1]) || b[i - 1] == b':')) {
                    let start = i;
                    let mut segs = Vec::new();
                    loop {
                        let s = i;
                        while i < b.len() && is_ident(b[i]) {
                            i += 1;
                        }
                        segs.push(code[s..i].to_owned());
                        if b[i..].starts_with(b"::") && b.get(i + 2).is_some_and(|&c| is_ident(c)) {
                            i += 2;
                        } else {
                            break;
                        }
                    }
                    if segs.len() < 2 {
                        continue;
                    }
                    // `use` lines were counted above.
                    let line_start = code[..start].rfind(['\n', ';', '{']).map_or(0, |p| p + 1);
                    if code[line_start..start].trim_start().starts_with("use")
                        || code[line_start..start].contains(" use ")
                    {
                        continue;
                    }
                    if let Some(m) = module_aliases.get(&segs[0]) {
                        let mut p: Vec<String> = vec!["crate".to_owned()];
                        p.extend(m.split("::").map(str::to_owned));
                        p.extend(segs[1..].iter().cloned());
                        add(self.resolve(name, &p, 0), start);
                    } else {
                        add(self.resolve(name, &segs, 0), start);
                    }
                } else {
                    i += 1;
                }
            }
        }
        // A module's `pub use` of its children is a facade, not a use of
        // them by anything the module defines; it stays an edge, as it is
        // one in `cargo modules`, and it matters only when a child uses an
        // item the facade itself defines.
        edges
    }
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(
    nodes: &BTreeSet<String>,
    edges: &BTreeMap<(String, String), String>,
) -> Vec<Vec<String>> {
    struct T<'a> {
        adj: BTreeMap<&'a str, Vec<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        for w in t.adj.get(v).cloned().unwrap_or_default() {
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = t.stack.pop().expect("on the stack");
                t.on.remove(w);
                comp.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        adj: BTreeMap::new(),
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for (a, b) in edges.keys() {
        t.adj.entry(a.as_str()).or_default().push(b.as_str());
    }
    for n in nodes {
        if !t.index.contains_key(n.as_str()) {
            visit(&mut t, n);
        }
    }
    t.out
}

/// Layers, bottom first: each module sits one above the highest module it
/// uses (only meaningful for an acyclic graph).
fn layers(
    nodes: &BTreeSet<String>,
    edges: &BTreeMap<(String, String), String>,
) -> Vec<Vec<String>> {
    let mut level: BTreeMap<&str, usize> = nodes.iter().map(|n| (n.as_str(), 0)).collect();
    for _ in 0..nodes.len() {
        for (a, b) in edges.keys() {
            let want = level[b.as_str()] + 1;
            if level[a.as_str()] < want {
                level.insert(a.as_str(), want);
            }
        }
    }
    let mut out: Vec<Vec<String>> = Vec::new();
    for (n, l) in level {
        if out.len() <= l {
            out.resize(l + 1, Vec::new());
        }
        out[l].push(n.to_owned());
    }
    out
}

fn graph() -> (BTreeSet<String>, BTreeMap<(String, String), String>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let g = Graph::load(&src);
    let nodes: BTreeSet<String> = g
        .modules
        .keys()
        .filter(|m| *m != "crate")
        .cloned()
        .collect();
    let edges = g
        .edges()
        .into_iter()
        .filter(|((a, _), _)| a != "crate")
        .collect();
    (nodes, edges)
}

#[test]
fn core_modules_do_not_use_each_other_in_a_circle() {
    let (nodes, edges) = graph();
    println!("{} modules, {} edges", nodes.len(), edges.len());
    let found = cycles(&nodes, &edges);
    if found.is_empty() {
        println!("layers, bottom first (a module uses only modules below it):");
        for (i, layer) in layers(&nodes, &edges).iter().enumerate() {
            println!("  {i:2}: {}", layer.join(" "));
        }
    }
    let mut report = String::new();
    for comp in &found {
        report.push_str(&format!("cycle among {}:\n", comp.join(", ")));
        for ((a, b), at) in &edges {
            if comp.contains(a) && comp.contains(b) {
                report.push_str(&format!("  {a} -> {b}   ({at})\n"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "core's module graph has cycles:\n{report}"
    );
}

// The checker itself, on made-up sources: it must find what it is for.

#[test]
fn the_reader_sees_uses_paths_and_re_exports_but_not_comments_or_tests() {
    let code = drop_test_items(&strip(
        "use crate::{a::X, b::{self, Y as Z}};\n\
         // use crate::c::Hidden;\n\
         pub use d::*;\n\
         fn f() { let s = \"crate::e::F\"; crate::g::h(); }\n\
         #[cfg(test)]\nmod tests { use crate::i::J; }\n",
    ));
    let uses: Vec<(bool, String, String)> = use_items(&code)
        .into_iter()
        .map(|(p, path, alias, _)| (p, path.join("::"), alias))
        .collect();
    assert_eq!(
        uses,
        vec![
            (false, "crate::a::X".to_owned(), "X".to_owned()),
            (false, "crate::b".to_owned(), "b".to_owned()),
            (false, "crate::b::Y".to_owned(), "Z".to_owned()),
            (true, "d::*".to_owned(), "*".to_owned()),
        ]
    );
    assert!(!code.contains("Hidden"));
    assert!(!code.contains("crate::e"));
    assert!(code.contains("crate::g::h"));
    assert!(!code.contains("crate::i"));
}

#[test]
fn a_cycle_through_three_modules_is_found_and_a_chain_is_not() {
    let nodes: BTreeSet<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
    let edge = |a: &str, b: &str| ((a.to_owned(), b.to_owned()), String::new());
    let chain: BTreeMap<_, _> = [edge("a", "b"), edge("b", "c"), edge("d", "c")].into();
    assert!(cycles(&nodes, &chain).is_empty());
    assert_eq!(
        layers(&nodes, &chain),
        vec![
            vec!["c".to_owned()],
            vec!["b".to_owned(), "d".to_owned()],
            vec!["a".to_owned()]
        ]
    );
    let mut circle = chain.clone();
    circle.extend([edge("c", "a")]);
    assert_eq!(
        cycles(&nodes, &circle),
        vec![vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]]
    );
}
