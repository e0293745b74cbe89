//! The `rk scan-trials` line format (format_version 1): one JSON object per
//! trial, sorted by slug. The lines are rendered on the scan's worker threads
//! and written in order, so the output streams while the scan runs.
//!
//! This is a plumbing contract: fields may be added, never renamed or removed
//! without a new `format_version`.

use super::manifest::ManifestView;
use super::scan::{self, FileRead};
use super::{Error, Pattern};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// The version of the line format.
pub const FORMAT_VERSION: u32 = 1;

/// One line of `rk scan-trials` (docs/FORMATS.md#plumbing-output,
/// rk-scan-trials(1)). The fields are in output order.
#[derive(Serialize)]
struct Line<'a> {
    format_version: u32,
    slug: &'a str,
    manifest: &'a str,
    schema_version: Option<u32>,
    state: &'static str,
    reconstructed: bool,
    stages: Stages<'a>,
    jobs: BTreeMap<&'a str, usize>,
    expected_parts: Parts<'a>,
    warnings: &'a [String],
    error: Option<&'a str>,
}

/// `{stage: status}` in file order; a stage without a status is `null`.
struct Stages<'a>(&'a [super::manifest::StageStatus<'a>]);

impl Serialize for Stages<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for stage in self.0 {
            map.serialize_entry(stage.stage.as_ref(), &stage.status.as_deref())?;
        }
        map.end()
    }
}

/// The expected parts, written straight from `datasets` through one reused
/// buffer (a scan renders ten thousand of these).
struct Parts<'a>(&'a [(Cow<'a, str>, Vec<Cow<'a, str>>)]);

impl Serialize for Parts<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use std::fmt::Write as _;
        let n = self.0.iter().map(|(_, ids)| ids.len()).sum();
        let mut seq = s.serialize_seq(Some(n))?;
        let mut part = String::new();
        for (key, ids) in self.0 {
            for i in 1..=ids.len() {
                part.clear();
                let _ = write!(part, "{key}_p{i:02}");
                seq.serialize_element(part.as_str())?;
            }
        }
        seq.end()
    }
}

/// Render one trial's line (with its newline) into `out`.
pub fn render_line(slug: &str, manifest: &str, read: FileRead<'_>, out: &mut Vec<u8>) {
    let empty = Line {
        format_version: FORMAT_VERSION,
        slug,
        manifest,
        schema_version: None,
        state: "ok",
        reconstructed: false,
        stages: Stages(&[]),
        jobs: BTreeMap::new(),
        expected_parts: Parts(&[]),
        warnings: &[],
        error: None,
    };
    let written = match read {
        FileRead::Missing(why) => serde_json::to_writer(
            &mut *out,
            &Line {
                state: "missing",
                error: Some(&why),
                ..empty
            },
        ),
        FileRead::Bytes(bytes) => match ManifestView::parse(bytes) {
            Err(e) => serde_json::to_writer(
                &mut *out,
                &Line {
                    state: "corrupt",
                    error: Some(&e.0),
                    ..empty
                },
            ),
            Ok(view) => {
                let mut jobs = BTreeMap::new();
                for (_, status) in &view.job_status {
                    *jobs.entry(status.as_ref()).or_insert(0) += 1;
                }
                serde_json::to_writer(
                    &mut *out,
                    &Line {
                        schema_version: Some(view.version().number()),
                        reconstructed: view.reconstructed,
                        stages: Stages(&view.stage_status),
                        jobs,
                        expected_parts: Parts(&view.datasets),
                        warnings: &view.warnings,
                        ..empty
                    },
                )
            }
        },
    };
    // Serializing plain strings and numbers into a Vec cannot fail.
    debug_assert!(written.is_ok());
    out.push(b'\n');
}

/// Scan the run and write one line per trial to `out`, in slug order, as
/// each line's turn comes. Returns the number of trials; a failed write to
/// `out` comes back as `E::from(io::Error)`.
pub fn write_scan<E: From<Error> + From<std::io::Error>>(
    run_dir: &Path,
    pattern: &str,
    out: &mut dyn Write,
) -> Result<usize, E> {
    let pattern = Pattern::parse(pattern).map_err(Error::from)?;
    let mut count = 0;
    scan::scan::<_, E>(
        run_dir,
        &pattern,
        |c, read| {
            let mut line = Vec::with_capacity(1024);
            render_line(&c.slug, &c.path, read, &mut line);
            line
        },
        |line| {
            count += 1;
            out.write_all(&line).map_err(E::from)
        },
    )?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(read: FileRead<'_>) -> String {
        let mut out = Vec::new();
        render_line("t1", "t1/results/trial_manifest.json", read, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn lines() {
        assert_eq!(
            line(FileRead::Bytes(br#"{"schema_version":2,"datasets":{"a":["x","y"]},"job_status":{"a_p01":"completed","a_p02":"running","b":"completed"},"stage_status":{"parsed":{"status":"completed"},"scored":{}}}"#)),
            r#"{"format_version":1,"slug":"t1","manifest":"t1/results/trial_manifest.json","schema_version":2,"state":"ok","reconstructed":false,"stages":{"parsed":"completed","scored":null},"jobs":{"completed":2,"running":1},"expected_parts":["a_p01","a_p02"],"warnings":[],"error":null}"#.to_string() + "\n"
        );
        assert_eq!(
            line(FileRead::Bytes(b"[1]")),
            r#"{"format_version":1,"slug":"t1","manifest":"t1/results/trial_manifest.json","schema_version":null,"state":"corrupt","reconstructed":false,"stages":{},"jobs":{},"expected_parts":[],"warnings":[],"error":"not a JSON object"}"#.to_string() + "\n"
        );
        assert!(line(FileRead::Missing("dangling symlink".into())).contains(r#""state":"missing""#));
    }
}
