//! The `trials.manifest` glob: which files under a run dir are trial
//! manifests, found by walking only the directories the pattern needs.
//!
//! A pattern is `/`-separated segments relative to the run dir. A segment is
//! literal, or holds `*` (any run of characters), `?` (one character) or a
//! class `[abc]`, `[a-z]`, `[!a-z]` (`[^a-z]` too). `*` and `?` never match a
//! leading `.`, so `.rk/` and other hidden entries are skipped unless a
//! segment names them literally.
//!
//! The one idea to keep in mind is cost: for the default
//! `*/results/trial_manifest.json` the walk lists the run dir once and stops.
//! Everything after the last wildcard segment is a literal tail that is not
//! checked here: opening the file checks it (see `scan`), so a run of 10,000
//! trials costs one `readdir` plus one `open` per trial. A symlinked directory
//! is listed only when it resolves inside the run dir.

use std::path::Path;

/// A parsed `trials.manifest` pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    segments: Vec<Segment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Wild(Vec<Token>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Char(char),
    Any,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// Why a pattern is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid trials.manifest pattern {pattern:?}: {reason}")]
pub struct PatternError {
    pub pattern: String,
    pub reason: &'static str,
}

impl Pattern {
    pub fn parse(pattern: &str) -> Result<Pattern, PatternError> {
        let fail = |reason| {
            Err(PatternError {
                pattern: pattern.into(),
                reason,
            })
        };
        if pattern.is_empty() {
            return fail("it is empty");
        }
        if pattern.starts_with('/') {
            return fail("it must be relative to the run dir");
        }
        let mut segments = Vec::new();
        for seg in pattern.split('/') {
            match seg {
                "" | "." => continue,
                ".." => return fail("it must not contain '..'"),
                "**" => return fail("'**' is not supported; use one '*' per directory level"),
                _ => {}
            }
            if !seg.contains(['*', '?', '[']) {
                segments.push(Segment::Literal(seg.into()));
                continue;
            }
            let mut tokens = Vec::new();
            let mut chars = seg.chars().peekable();
            while let Some(c) = chars.next() {
                tokens.push(match c {
                    '*' => Token::Star,
                    '?' => Token::Any,
                    '[' => {
                        let negated = matches!(chars.peek(), Some('!' | '^'));
                        if negated {
                            chars.next();
                        }
                        let mut ranges = Vec::new();
                        let mut first = true;
                        loop {
                            let Some(c) = chars.next() else {
                                return fail("a '[' class is not closed");
                            };
                            if c == ']' && !first {
                                break;
                            }
                            first = false;
                            if chars.peek() == Some(&'-') {
                                let mut ahead = chars.clone();
                                ahead.next();
                                match ahead.peek() {
                                    Some(&end) if end != ']' => {
                                        chars.next();
                                        chars.next();
                                        ranges.push((c, end));
                                        continue;
                                    }
                                    _ => {}
                                }
                            }
                            ranges.push((c, c));
                        }
                        Token::Class { negated, ranges }
                    }
                    c => Token::Char(c),
                });
            }
            segments.push(Segment::Wild(tokens));
        }
        if segments.is_empty() {
            return fail("it names no file");
        }
        Ok(Pattern { segments })
    }

    /// Whether `path` (relative to the run dir, `/`-separated) matches.
    pub fn matches(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        parts.len() == self.segments.len()
            && self
                .segments
                .iter()
                .zip(parts)
                .all(|(seg, name)| seg.matches(name))
    }

    /// Every candidate manifest path below `run_dir`, sorted by slug (the
    /// first component) and then by the rest. The literal tail after the last
    /// wildcard segment is appended unchecked: the caller opens the file and
    /// treats "not found" as "not a match".
    ///
    /// The paths are kept in one buffer (about 10 bytes a trial beside its
    /// name), so that listing 100,000 trials stays small; [`Candidates::get`]
    /// makes each one's strings when it is read.
    pub fn candidates(&self, run_dir: &Path) -> std::io::Result<Candidates> {
        let canonical_run = std::fs::canonicalize(run_dir)?;
        let last_wild = self
            .segments
            .iter()
            .rposition(|s| matches!(s, Segment::Wild(_)));
        let mut prefixes = Arena::default();
        prefixes.push("", "");
        if let Some(last_wild) = last_wild {
            for (depth, seg) in self.segments[..=last_wild].iter().enumerate() {
                let final_level = depth == self.segments.len() - 1;
                let mut next = Arena::default();
                for prefix in prefixes.iter() {
                    match seg {
                        Segment::Literal(name) => next.push(prefix, name),
                        Segment::Wild(_) => {
                            let dir = if prefix.is_empty() {
                                run_dir.to_path_buf()
                            } else {
                                run_dir.join(prefix)
                            };
                            if depth > 0 && !inside(&dir, &canonical_run) {
                                continue;
                            }
                            let entries = match std::fs::read_dir(&dir) {
                                Ok(entries) => entries,
                                // The run dir itself must be listable; a
                                // missing subdirectory just has no matches.
                                Err(e) if depth == 0 => return Err(e),
                                Err(_) => continue,
                            };
                            for entry in entries {
                                let entry = entry?;
                                let name = entry.file_name();
                                let Some(text) = name.to_str() else { continue };
                                if !seg.matches(text) {
                                    continue;
                                }
                                // Only directories lead on; the last segment
                                // may be a file. Symlinks are decided when
                                // opened (or listed, one level down).
                                if !final_level {
                                    match entry.file_type() {
                                        Ok(t) if t.is_dir() || t.is_symlink() => {}
                                        _ => continue,
                                    }
                                }
                                next.push(prefix, text);
                            }
                        }
                    }
                }
                prefixes = next;
            }
        }
        let tail: Vec<&str> = match last_wild {
            Some(i) => &self.segments[i + 1..],
            None => &self.segments[..],
        }
        .iter()
        .map(|s| match s {
            Segment::Literal(name) => name.as_str(),
            Segment::Wild(_) => unreachable!("the tail follows the last wildcard"),
        })
        .collect();
        let mut out = Candidates {
            prefixes,
            order: Vec::new(),
            tail: tail.join("/"),
        };
        let mut order: Vec<u32> = (0..out.prefixes.len() as u32).collect();
        let suffix = if out.tail.is_empty() {
            String::new()
        } else {
            format!("/{}", out.tail)
        };
        order.sort_unstable_by(|&a, &b| {
            let (a, b) = (
                out.prefixes.get(a as usize).as_bytes(),
                out.prefixes.get(b as usize).as_bytes(),
            );
            let slug = |p: &[u8]| p.iter().position(|&c| c == b'/').unwrap_or(p.len());
            a[..slug(a)]
                .cmp(&b[..slug(b)])
                .then_with(|| cmp_with_suffix(a, b, suffix.as_bytes()))
        });
        out.order = order;
        Ok(out)
    }
}

/// Relative paths, one after the other in one string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Arena {
    text: String,
    /// Where each path ends in `text`.
    ends: Vec<u32>,
}

impl Arena {
    /// Add `prefix/name` (or `name` when `prefix` is empty).
    fn push(&mut self, prefix: &str, name: &str) {
        self.text.push_str(prefix);
        if !prefix.is_empty() && !name.is_empty() {
            self.text.push('/');
        }
        self.text.push_str(name);
        self.ends.push(self.text.len() as u32);
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// The candidates of a pattern, in order (see [`Pattern::candidates`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidates {
    /// The part of each path up to the last wildcard segment.
    prefixes: Arena,
    /// Indexes into `prefixes`, sorted.
    order: Vec<u32>,
    /// The literal segments after the last wildcard, joined by `/`.
    tail: String,
}

impl Candidates {
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The `i`-th candidate in order.
    pub fn get(&self, i: usize) -> Candidate {
        let prefix = self.prefixes.get(self.order[i] as usize);
        let path = match (prefix.is_empty(), self.tail.is_empty()) {
            (_, true) => prefix.to_string(),
            (true, false) => self.tail.clone(),
            (false, false) => format!("{prefix}/{}", self.tail),
        };
        let slug = path.split('/').next().unwrap_or("").to_string();
        Candidate { slug, path }
    }

    pub fn iter(&self) -> impl Iterator<Item = Candidate> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// `a + suffix` against `b + suffix`, without building either.
fn cmp_with_suffix(a: &[u8], b: &[u8], suffix: &[u8]) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let n = a.len().min(b.len());
    match a[..n].cmp(&b[..n]) {
        Ordering::Equal => {}
        other => return other,
    }
    // One is the other plus a rest: compare what follows the common part.
    if a.len() < b.len() {
        suffix.iter().cmp(b[n..].iter().chain(suffix))
    } else {
        a[n..].iter().chain(suffix).cmp(suffix.iter())
    }
}

/// Whether `dir` resolves inside the canonical run dir (a symlinked directory
/// that leads out is never listed).
fn inside(dir: &Path, canonical_run: &Path) -> bool {
    std::fs::canonicalize(dir)
        .map(|d| d.starts_with(canonical_run))
        .unwrap_or(false)
}

/// A path the pattern may match: its slug and its path relative to the run dir.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The first path component below the run dir.
    pub slug: String,
    /// `/`-separated, relative to the run dir.
    pub path: String,
}

impl Segment {
    fn matches(&self, name: &str) -> bool {
        match self {
            Segment::Literal(l) => l == name,
            Segment::Wild(tokens) => {
                if name.starts_with('.') && !matches!(tokens.first(), Some(Token::Char('.'))) {
                    return false;
                }
                let chars: Vec<char> = name.chars().collect();
                wild_match(tokens, &chars)
            }
        }
    }
}

/// Iterative wildcard match with single-star backtracking (linear for one
/// `*`, quadratic at worst; segments are short).
fn wild_match(tokens: &[Token], name: &[char]) -> bool {
    let (mut t, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match tokens.get(t) {
            Some(Token::Star) => {
                star = Some((t, n));
                t += 1;
                continue;
            }
            Some(tok) if tok.matches_char(name[n]) => {
                t += 1;
                n += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((st, sn)) => {
                t = st + 1;
                n = sn + 1;
                star = Some((st, sn + 1));
            }
            None => return false,
        }
    }
    tokens[t..].iter().all(|tok| matches!(tok, Token::Star))
}

impl Token {
    fn matches_char(&self, c: char) -> bool {
        match self {
            Token::Char(x) => *x == c,
            Token::Any => true,
            Token::Star => false,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, path: &str) -> bool {
        Pattern::parse(p).unwrap().matches(path)
    }

    #[test]
    fn segments_match() {
        assert!(m(
            "*/results/trial_manifest.json",
            "t1/results/trial_manifest.json"
        ));
        assert!(!m(
            "*/results/trial_manifest.json",
            ".rk/results/trial_manifest.json"
        ));
        assert!(m(".rk/x", ".rk/x"));
        assert!(!m(
            "*/results/trial_manifest.json",
            "t1/trial_manifest.json"
        ));
        assert!(m("t?_*", "t1_abc"));
        assert!(!m("t?_*", "t12_abc"));
        assert!(m("t[0-9]", "t7"));
        assert!(!m("t[!0-9]", "t7"));
        assert!(m("t[^0-9]", "tx"));
        assert!(m("[]a]", "]"));
        assert!(m("a[-x]", "a-"));
        assert!(m("*a*b*", "xxaxxbxx"));
        assert!(!m("*a*b", "xxaxxbxx"));
        assert!(m("*.json", "manifest.json"));
        assert!(m("é*", "été"));
    }

    #[test]
    fn bad_patterns() {
        for p in ["", "/abs/*", "a/../b", "[abc", "**/x", "./."] {
            assert!(Pattern::parse(p).is_err(), "{p}");
        }
    }

    #[test]
    fn sorting_with_a_suffix_is_sorting_the_whole_paths() {
        let names = ["a", "a/b", "a/b-c", "a/b/c", "a-b", "ab", "b", ""];
        for suffix in ["", "/m.json", "/-"] {
            for x in names {
                for y in names {
                    let whole = format!("{x}{suffix}").cmp(&format!("{y}{suffix}"));
                    assert_eq!(
                        cmp_with_suffix(x.as_bytes(), y.as_bytes(), suffix.as_bytes()),
                        whole,
                        "{x:?} {y:?} {suffix:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn candidates_walk_only_what_is_needed() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path();
        for d in ["b", "a", "a-b", ".rk", "c"] {
            std::fs::create_dir_all(run.join(d).join("results")).unwrap();
        }
        std::fs::write(run.join("file"), "x").unwrap();
        let p = Pattern::parse("*/results/trial_manifest.json").unwrap();
        let c = p.candidates(run).unwrap();
        let slugs: Vec<String> = c.iter().map(|c| c.slug).collect();
        assert_eq!(slugs, ["a", "a-b", "b", "c"]);
        assert_eq!(c.get(0).path, "a/results/trial_manifest.json");

        std::fs::write(run.join("a/results/x.json"), "{}").unwrap();
        std::fs::write(run.join("a/results/y.json"), "{}").unwrap();
        std::fs::create_dir(run.join("a/results/z.json")).unwrap();
        let p = Pattern::parse("*/results/*.json").unwrap();
        let paths: Vec<String> = p.candidates(run).unwrap().iter().map(|c| c.path).collect();
        assert_eq!(
            paths,
            ["a/results/x.json", "a/results/y.json", "a/results/z.json"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_dirs_out_of_the_run_are_not_listed() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(outside.join("results")).unwrap();
        std::fs::write(outside.join("results/m.json"), "{}").unwrap();
        std::fs::create_dir_all(run.join("t1/results")).unwrap();
        std::os::unix::fs::symlink(&outside, run.join("t2")).unwrap();
        std::os::unix::fs::symlink(run.join("t1"), run.join("t3")).unwrap();
        let p = Pattern::parse("*/*/m.json").unwrap();
        let slugs: Vec<String> = p.candidates(&run).unwrap().iter().map(|c| c.slug).collect();
        assert_eq!(slugs, ["t1", "t3"]);
    }
}
