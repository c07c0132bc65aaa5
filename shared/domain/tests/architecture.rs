//! Architecture guards for the whole workspace, run as a test of `crm-domain`.
//!
//! * `no_module_imports_its_sibling_back`: in every crate, modules that share a parent do not
//!   depend on each other in a cycle (`a` uses `b` and `b`, maybe through `c`, uses `a`).
//!   References are the `crate::`, `super::` and `self::` paths in the non-test code of each
//!   file, lifted to the children of the lowest common ancestor of both ends.
//! * `the_domain_crate_reaches_no_aws_tokio_or_lambda`: the normal dependencies of `crm-domain`,
//!   followed through `Cargo.lock`, reach no AWS SDK, Lambda or Tokio package, so the domain
//!   stays free of I/O and cheap to build and test.
//!
//! Only the standard library and plain text scanning are used; the helpers are tested below on
//! small in-memory examples, so each rule can be seen to fail.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

type ModPath = Vec<String>;
/// Strings (tokens, paths), each with its 1-based line.
type Lined = Vec<(usize, String)>;
type Graph = BTreeSet<(String, String)>;
type Chains = BTreeMap<String, Vec<String>>;

fn workspace_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    dir.ancestors().nth(2).expect("two levels deep").into()
}

fn is_ident(token: &str) -> bool {
    token.starts_with(|c: char| c.is_alphabetic() || c == '_')
}

fn is_relative_start(segment: &str) -> bool {
    matches!(segment, "crate" | "super" | "self")
}

/// The source with comments and string/char literals blanked out (line breaks kept, so line
/// numbers stay right), cut before the line holding `#[cfg(test)]`.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let at = |k: usize| b.get(k).copied().unwrap_or(b'\n');
    let after = |from: usize, pat: &[u8]| {
        let from = from.min(b.len());
        let found = b[from..].windows(pat.len()).position(|w| w == pat);
        found.map_or(b.len(), |p| from + p + pat.len())
    };
    let mut out = b.to_vec();
    let mut i = 0;
    while i < b.len() {
        let r = i + usize::from(at(i) == b'b');
        let hashes = (r + 1..).take_while(|&k| at(k) == b'#').count();
        let word_before = i > 0 && (at(i - 1).is_ascii_alphanumeric() || at(i - 1) == b'_');
        let end = match (at(i), at(i + 1), at(i + 2)) {
            _ if at(r) == b'r' && at(r + 1 + hashes) == b'"' && !word_before => {
                after(r + 2 + hashes, &[&b"\""[..], &vec![b'#'; hashes]].concat())
            }
            (b'/', b'/', _) => after(i, b"\n"),
            (b'/', b'*', _) => after(i + 2, b"*/"),
            (b'\'', b'\\', _) => after(i + 3, b"'"),
            (b'\'', _, b'\'') => i + 3,
            (b'"', ..) => {
                let mut k = i + 1;
                while k < b.len() && b[k] != b'"' {
                    k += if b[k] == b'\\' { 2 } else { 1 };
                }
                k + 1
            }
            _ => i + 1,
        };
        let end = end.min(b.len());
        let literal = end > i + 1;
        out[i..end]
            .iter_mut()
            .filter(|c| literal && **c != b'\n')
            .for_each(|c| *c = b' ');
        i = end;
    }
    let mut code = String::from_utf8_lossy(&out).into_owned();
    if let Some(at) = code.find("#[cfg(test)]") {
        code.truncate(code[..at].rfind('\n').map_or(0, |n| n + 1));
    }
    code
}

/// Identifiers, `::` and single punctuation characters, each with its 1-based line.
fn tokens(code: &str) -> Lined {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut toks = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(ch) = rest.chars().next() {
            let len = match rest.find(|c| !word(c)) {
                _ if rest.starts_with("::") => 2,
                _ if !word(ch) => ch.len_utf8(),
                end => end.unwrap_or(rest.len()),
            };
            if !ch.is_whitespace() {
                toks.push((n + 1, rest[..len].to_owned()));
            }
            rest = &rest[len..];
        }
    }
    toks
}

/// Parses the use tree at `i` under `prefix`, recording its crate-relative leaves (a glob
/// as `*`); returns the index after the tree.
fn use_tree(toks: &Lined, mut i: usize, prefix: &[String], out: &mut Lined) -> usize {
    let tok = |i: usize| toks.get(i).map_or("", |t| t.1.as_str());
    let mut path = prefix.to_vec();
    loop {
        match tok(i) {
            "::" => i += 1,
            "{" => {
                i += 1;
                while !matches!(tok(i), "}" | "") {
                    let next = use_tree(toks, i, &path, out);
                    i = next.max(i + 1) + usize::from(tok(next) == ",");
                }
                return i + 1;
            }
            t if is_ident(t) || t == "*" => {
                path.push(t.to_owned());
                i += 1;
                if tok(i) != "::" {
                    if is_relative_start(&path[0]) {
                        out.push((toks[i - 1].0, path.join("::")));
                    }
                    return if tok(i) == "as" { i + 2 } else { i };
                }
            }
            _ => return i,
        }
    }
}

/// Every `crate::`/`super::`/`self::` path in the non-test code of a file, with its line.
fn references(src: &str) -> Lined {
    let toks = tokens(&code_only(src));
    let tok = |i: usize| toks.get(i).map_or("", |t| t.1.as_str());
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if tok(i) == "use" {
            i = use_tree(&toks, i + 1, &[], &mut out);
            continue;
        }
        if is_relative_start(tok(i)) && tok(i + 1) == "::" {
            let mut path = vec![tok(i)];
            while tok(i + 1) == "::" && is_ident(tok(i + 2)) {
                path.push(tok(i + 2));
                i += 2;
            }
            out.push((toks[i].0, path.join("::")));
        }
        i += 1;
    }
    out
}

/// The module a file defines, from its `/`-separated path under the source root.
fn module_of(rel: &str) -> ModPath {
    let mut parts: ModPath = rel.split('/').map(str::to_owned).collect();
    let file = parts.pop().unwrap_or_default();
    match file.as_str() {
        "mod.rs" => {}
        "lib.rs" | "main.rs" if parts.is_empty() => {}
        _ => parts.push(file.trim_end_matches(".rs").to_owned()),
    }
    parts
}

/// The longest existing module that `path`, written in module `from`, points into.
fn resolve(from: &[String], path: &str, modules: &BTreeSet<ModPath>) -> ModPath {
    let mut target = from.to_vec();
    for segment in path.split("::") {
        match segment {
            "crate" => target.clear(),
            "super" => _ = target.pop(),
            "self" => {}
            name => target.push(name.to_owned()),
        }
    }
    while !target.is_empty() && !modules.contains(&target) {
        target.pop();
    }
    target
}

/// Lifts `a -> b` to `(lowest common ancestor, its child towards a, its child towards b)`;
/// `None` when one contains the other.
fn lift(a: &[String], b: &[String]) -> Option<(ModPath, String, String)> {
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if common == a.len() || common == b.len() {
        return None;
    }
    Some((a[..common].to_vec(), a[common].clone(), b[common].clone()))
}

/// Every elementary cycle of the graph, each listed once, starting at its smallest node.
fn cycles(edges: &Graph) -> Vec<Vec<String>> {
    fn walk(edges: &Graph, path: &mut Vec<String>, found: &mut Vec<Vec<String>>) {
        let (start, last) = (path[0].clone(), path[path.len() - 1].clone());
        let from_last = edges.range((last.clone(), String::new())..);
        for (_, next) in from_last.take_while(|e| e.0 == last) {
            if *next == start && path.len() > 1 {
                found.push(path.clone());
            } else if *next > start && !path.contains(next) {
                path.push(next.clone());
                walk(edges, path, found);
                path.pop();
            }
        }
    }
    let mut found = Vec::new();
    for start in edges.iter().map(|e| &e.0).collect::<BTreeSet<_>>() {
        walk(edges, &mut vec![start.clone()], &mut found);
    }
    found
}

/// The sibling cycles of one crate, from its files as (path under `src`, source): per parent
/// module, its cycles and the first reference (file shown under `shown_as`) for each edge.
fn cycle_report(crate_name: &str, shown_as: &str, files: &[(String, String)]) -> Vec<String> {
    let mut modules = BTreeSet::new();
    for module in files.iter().map(|(rel, _)| module_of(rel)) {
        modules.extend((0..=module.len()).map(|n| module[..n].to_vec()));
    }
    let mut uses: BTreeMap<ModPath, BTreeMap<(String, String), Vec<String>>> = BTreeMap::new();
    for (rel, src) in files {
        let from = module_of(rel);
        for (line, path) in references(src) {
            if let Some((parent, a, b)) = lift(&from, &resolve(&from, &path, &modules)) {
                let evidence = format!("{shown_as}{rel}:{line} uses {path}");
                let edges = uses.entry(parent).or_default();
                edges.entry((a, b)).or_default().push(evidence);
            }
        }
    }
    let mut report = Vec::new();
    for (parent, uses) in uses {
        let found = cycles(&uses.keys().cloned().collect());
        if found.is_empty() {
            continue;
        }
        let prefix: String = parent.iter().map(|p| format!("{p}::")).collect();
        let name = |child: &String| format!("{prefix}{child}");
        let count = found.len();
        let mut text = format!("{crate_name}: {count} cycle(s) between crate::{prefix}*");
        let mut edges = BTreeSet::new();
        for cycle in &found {
            let names: Vec<String> = cycle.iter().chain(&cycle[..1]).map(name).collect();
            text += &format!("\n    {}", names.join(" -> "));
            edges.extend(cycle.iter().zip(cycle.iter().cycle().skip(1)));
        }
        text += "\n  because";
        for (from, to) in edges {
            let evidence = &uses[&(from.clone(), to.clone())];
            let more = match evidence.len() {
                1 => String::new(),
                n => format!(" (+{} more)", n - 1),
            };
            let (from, to) = (name(from), name(to));
            text += &format!("\n    {from} -> {to}: {}{more}", evidence[0]);
        }
        report.push(text);
    }
    report
}

/// The `.rs` files under `dir` (but not `bin/`) as (path under the root, source).
fn read_sources(dir: &Path, prefix: &str, out: &mut Vec<(String, String)>) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let (path, rel) = (
            entry.path(),
            format!("{prefix}{}", entry.file_name().display()),
        );
        if path.is_dir() && rel != "bin" {
            read_sources(&path, &format!("{rel}/"), out);
        } else if rel.ends_with(".rs") {
            let src = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
            out.push((rel, src));
        }
    }
}

fn package_name(manifest: &str) -> Option<String> {
    manifest.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "name").then(|| value.trim().trim_matches('"').to_owned())
    })
}

#[test]
fn no_module_imports_its_sibling_back() {
    let ws = workspace_root();
    let mut roots = vec![ws.join("shared/domain/src"), ws.join("shared/src")];
    let functions = fs::read_dir(ws.join("functions")).into_iter().flatten();
    roots.extend(functions.flatten().map(|e| e.path().join("src")));
    roots[2..].sort();
    roots.push(ws.join("localstack/src"));
    roots.retain(|root| root.is_dir());
    assert!(!roots.is_empty(), "no source roots in {}", ws.display());
    let mut report = Vec::new();
    for root in roots {
        let crate_dir = root.parent().expect("src has a parent");
        let manifest = fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap_or_default();
        let name = package_name(&manifest).unwrap_or_else(|| crate_dir.display().to_string());
        let mut files = Vec::new();
        read_sources(&root, "", &mut files);
        files.sort();
        let shown_as = format!("{}/", root.strip_prefix(&ws).unwrap_or(&root).display());
        report.extend(cycle_report(&name, &shown_as, &files));
    }
    let report = report.join("\n");
    assert!(report.is_empty(), "sibling modules in a cycle:\n{report}");
}

#[derive(Default)]
struct Package {
    name: String,
    version: String,
    deps: Vec<String>,
}

fn parse_lock(text: &str) -> Vec<Package> {
    let mut packages: Vec<Package> = Vec::new();
    let mut in_deps = false;
    for line in text.lines().map(str::trim) {
        if line == "[[package]]" {
            packages.push(Package::default());
        }
        let quoted = || line.split('"').nth(1).unwrap_or_default().to_owned();
        match packages.last_mut() {
            Some(p) if in_deps || line.starts_with("dependencies = [") => {
                in_deps = !line.contains(']');
                let quoted_all = line.split('"').skip(1).step_by(2);
                p.deps.extend(quoted_all.map(Into::into));
            }
            Some(p) if line.starts_with("name = ") => p.name = quoted(),
            Some(p) if line.starts_with("version = ") => p.version = quoted(),
            _ => {}
        }
    }
    packages
}

/// The keys of the `[dependencies]` tables of a manifest (not the dev or build ones).
fn dependency_keys(manifest: &str) -> Vec<String> {
    let (mut section, mut keys) = (String::new(), Vec::new());
    for line in manifest.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.starts_with('[') {
            section = line.replace(['[', ']', '"', ' '], "");
            keys.extend(section.strip_prefix("dependencies.").map(str::to_owned));
        } else if let Some((key, _)) = line.split_once('=')
            && section.rsplit('.').next() == Some("dependencies")
        {
            let key = key.split('.').next().unwrap_or(key);
            keys.push(key.trim().trim_matches('"').to_owned());
        }
    }
    keys
}

/// Every package reached from the dependencies of `root` named in `direct`, with one chain
/// of `name version` ids from `root` to it. A missing `root` or direct dependency is an error.
fn closure(lock: &[Package], root: &str, direct: &[String]) -> Result<Chains, String> {
    let id = |p: &Package| format!("{} {}", p.name, p.version);
    let start = lock.iter().find(|p| p.name == root);
    let start = start.ok_or(format!("no `{root}` in Cargo.lock"))?;
    let mut queue = VecDeque::new();
    for name in direct {
        let before = queue.len();
        let named = |d: &&String| d.split(' ').next() == Some(name.as_str());
        let entries = start.deps.iter().filter(named);
        queue.extend(entries.map(|d| (vec![id(start)], d)));
        if queue.len() == before {
            return Err(format!("Cargo.lock: `{root}` has no dependency `{name}`"));
        }
    }
    let mut reached = Chains::new();
    while let Some((chain, entry)) = queue.pop_front() {
        let mut words = entry.split(' ');
        let (name, version) = (words.next().unwrap_or_default(), words.next());
        let matches = |p: &&Package| p.name == name && version.is_none_or(|v| v == p.version);
        for package in lock.iter().filter(matches) {
            if let Entry::Vacant(slot) = reached.entry(id(package)) {
                let chain = [&chain[..], &[id(package)]].concat();
                queue.extend(package.deps.iter().map(|dep| (chain.clone(), dep)));
                slot.insert(chain);
            }
        }
    }
    Ok(reached)
}

/// Whether a package, by name or `name version` id, is an AWS, Lambda or Tokio one.
fn is_forbidden(id: &str) -> bool {
    let name = id.split(' ').next().unwrap_or(id);
    let prefixes = ["aws-", "aws_", "lambda", "tokio-"];
    name == "tokio" || prefixes.iter().any(|p| name.starts_with(p))
}

/// Each forbidden package among the reached ones, with its chain.
fn forbidden(reached: &Chains) -> Vec<String> {
    let bad = reached.iter().filter(|(id, _)| is_forbidden(id));
    bad.map(|(id, chain)| format!("  {id}: {}", chain.join(" -> ")))
        .collect()
}

#[test]
fn the_domain_crate_reaches_no_aws_tokio_or_lambda() {
    let ws = workspace_root();
    let path = ws.join("shared/domain/Cargo.toml");
    let manifest = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("no crm-domain manifest at {}: {e}", path.display()));
    let name = package_name(&manifest);
    assert_eq!(name.as_deref(), Some("crm-domain"), "{}", path.display());
    let lock = fs::read_to_string(ws.join("Cargo.lock")).expect("Cargo.lock in the workspace");
    let keys = dependency_keys(&manifest);
    let reached = closure(&parse_lock(&lock), "crm-domain", &keys);
    let offenders = forbidden(&reached.unwrap_or_else(|e| panic!("{e}"))).join("\n");
    assert!(
        offenders.is_empty(),
        "crm-domain reaches AWS/Lambda/Tokio:\n{offenders}"
    );
}

mod helpers {
    use super::*;

    fn m(path: &str) -> ModPath {
        path.split_terminator("::").map(Into::into).collect()
    }

    #[test]
    fn references_follow_use_trees_and_paths_but_skip_comments_strings_and_tests() {
        let src = r#"//! See crate::docs::Nothing.
use crate::{a::B, c::{D, E as F}};
use super::super::up::Thing;
use self::inner::*;
use std::fmt; /* crate::block::Comment */
fn f<'a>(_: &'a str) -> crate::x::Y { crate::a::f(); ("crate::s", '"', r"crate::r"); super::g() }
/// crate::doc::Comment
#[cfg(test)]
mod tests { use crate::tested::Z; }
"#;
        let refs = references(src);
        let found: Vec<String> = refs.iter().map(|(l, p)| format!("{l}:{p}")).collect();
        let expected = "2:crate::a::B 2:crate::c::D 2:crate::c::E 3:super::super::up::Thing \
            4:self::inner::* 6:crate::x::Y 6:crate::a::f 6:super::g";
        assert_eq!(found.join(" "), expected);
    }

    #[test]
    fn references_resolve_to_modules_and_lift_to_siblings() {
        let files = ["lib.rs", "a/mod.rs", "a/b.rs"].map(module_of);
        assert_eq!(files, [m(""), m("a"), m("a::b")]);
        let modules: BTreeSet<ModPath> = ["", "a", "a::x", "b", "b::y"].map(m).into();
        let up_two = "super::super::b::y::T";
        assert_eq!(resolve(&m("a::x"), up_two, &modules), m("b::y"));
        assert_eq!(resolve(&m("a"), "crate::b::Missing::f", &modules), m("b"));
        let sibling = |parent: &str, a: &str, b: &str| Some((m(parent), a.into(), b.into()));
        assert_eq!(lift(&m("a::x"), &m("b::y")), sibling("", "a", "b"));
        assert_eq!(lift(&m("p::a::x"), &m("p::b")), sibling("p", "a", "b"));
        assert_eq!(lift(&m("a"), &m("a::x")), None);
        assert_eq!(lift(&m("a::x"), &m("a")), None);
    }

    #[test]
    fn cycles_are_found_once_and_chains_are_not_cycles() {
        let graph = |e: &[(&str, &str)]| e.iter().map(|&(a, b)| (a.into(), b.into())).collect();
        let triangle = graph(&[("a", "b"), ("b", "c"), ("c", "a")]);
        assert_eq!(cycles(&triangle), [["a", "b", "c"]]);
        assert!(cycles(&graph(&[("a", "b"), ("b", "c")])).is_empty());
        let two = graph(&[("b", "a"), ("a", "b"), ("b", "c"), ("c", "b")]);
        assert_eq!(cycles(&two), [["a", "b"], ["b", "c"]]);
    }

    #[test]
    fn cycle_report_names_each_cycle_and_shows_each_edge() {
        let files = [
            ("lib.rs", "pub mod a;\npub mod b;\n"),
            ("a/mod.rs", "mod x;\nuse crate::b::B;\n"),
            ("a/x.rs", "use super::super::b::C;\ntype T = crate::b::D;"),
            ("b.rs", "\nuse crate::a::A;\n#[cfg(test)]\nuse crate::a::T;"),
        ]
        .map(|(rel, src)| (rel.to_owned(), src.to_owned()));
        let expected = "demo: 1 cycle(s) between crate::*\n    a -> b -> a\n  because\n    \
            a -> b: src/a/mod.rs:2 uses crate::b::B (+2 more)\n    \
            b -> a: src/b.rs:2 uses crate::a::A";
        assert_eq!(cycle_report("demo", "src/", &files), [expected]);
        assert!(cycle_report("demo", "src/", &files[..3]).is_empty());
    }

    #[test]
    fn closure_follows_normal_dependencies_through_the_lock() {
        let package = |name: &str, deps: &[&str]| {
            let (name, version) = name.split_once(' ').expect("name and version");
            let deps: String = deps.iter().map(|d| format!(" \"{d}\",\n")).collect();
            let head = format!("[[package]]\nname = \"{name}\"\nversion = \"{version}\"\n");
            format!("{head}dependencies = [\n{deps}]\n\n")
        };
        let text = [
            package("crm-domain 0.1.0", &["serde", "tokio"]),
            package("serde 1.0.0", &["itoa 2.0.0", "aws-types"]),
            package("itoa 1.0.0", &["tokio"]),
            package("itoa 2.0.0", &[]),
            package("aws-types 1.1.0", &[]),
            package("tokio 1.40.0", &[]),
        ]
        .concat();
        let lock = parse_lock(&text);
        let manifest = "[package]\nname = \"crm-domain\"\n\n[dependencies]\n\
            serde.workspace = true\n\n[dev-dependencies] # not these\ntokio = \"1\"\n";
        assert_eq!(dependency_keys(manifest), ["serde"]);
        let reached = closure(&lock, "crm-domain", &dependency_keys(manifest)).expect("closure");
        let ids: Vec<&String> = reached.keys().collect();
        assert_eq!(ids, ["aws-types 1.1.0", "itoa 2.0.0", "serde 1.0.0"]);
        let chain = "  aws-types 1.1.0: crm-domain 0.1.0 -> serde 1.0.0 -> aws-types 1.1.0";
        assert_eq!(forbidden(&reached), [chain]);
        assert!(closure(&lock, "crm-domain", &["missing".into()]).is_err());
        assert!(closure(&lock, "nothing", &[]).is_err());
        let names = ["tokio", "tokio-util", "aws_lambda_events", "lambda_http"];
        assert!(names.into_iter().all(is_forbidden));
        assert!(!["tokio_x", "awsome", "serde"].into_iter().any(is_forbidden));
    }
}
