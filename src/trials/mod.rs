//! Trials: the per-trial manifests of a run (docs/FORMATS.md#trial-manifests), how they are found
//! (`trials.manifest`, [`glob`]), read ([`manifest`], [`scan`]) and judged
//! ([`evidence`], rk-migrate(1)).
//!
//! A trial is any match of the glob, readable or not; its slug is the first
//! path component below the run dir. Reading a trial's manifest gives one of
//! three states: ok, corrupt (not JSON, or not an object) or missing (the glob
//! matched an entry that cannot be read: a dangling symlink, no permission).
//! Nothing here writes: plumbing reports a corrupt manifest, and only
//! `migrate` repairs it, with [`evidence::reconstruct_manifest`].
//!
//! Runs hold thousands of trials, so everything that visits all of them goes
//! through [`scan::scan`]: one pass, every core, results in slug order, memory
//! flat in the number of trials.

pub mod evidence;
pub mod glob;
pub mod manifest;
pub mod ndjson;
pub mod scan;

use crate::exit::{Diagnostic, Exit};
use std::path::Path;

pub use evidence::{Concern, EvidenceStatus, PhaseEvidence};
pub use glob::{Candidate, Candidates, Pattern, PatternError};
pub use manifest::{expected_parts, Manifest, ManifestView, SchemaVersion};

/// How `migrate` infers one phase from a trial directory (rk.yaml `evidence`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvidenceRule {
    /// `{always: completed}`: completed once any trial exists.
    Always,
    /// `{file: PATH}`: the file (relative to the trial dir) exists and is non-empty.
    File(String),
    /// `{jobs: recorded}`: every expected part has a `job_status` entry.
    JobsRecorded,
    /// `{jobs: downloaded}`: every expected part has results on disk.
    JobsDownloaded,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Pattern(#[from] PatternError),
    #[error(transparent)]
    Worker(#[from] crate::pool::Panicked),
}

impl Diagnostic for Error {
    fn exit(&self) -> Exit {
        Exit::Usage
    }

    fn hint(&self) -> Option<String> {
        match self {
            Error::Read { .. } => None,
            Error::Worker(_) => {
                Some("this is a bug in rk: please report it with the panic message above".into())
            }
            Error::Pattern(_) => Some(
                "trials.manifest in rk.yaml is a glob relative to the run dir, \
                 e.g. \"*/results/trial_manifest.json\""
                    .into(),
            ),
        }
    }
}

/// One trial, read whole.
#[derive(Clone, Debug, PartialEq)]
pub struct Trial {
    /// The first path component below the run dir.
    pub slug: String,
    /// The manifest's path relative to the run dir, `/`-separated.
    pub manifest_path: String,
    pub state: TrialState,
}

/// What reading a trial's manifest gave.
#[derive(Clone, Debug, PartialEq)]
pub enum TrialState {
    Ok(Manifest),
    /// Not JSON, or not an object: the parser's message.
    Corrupt(String),
    /// Matched but unreadable: why.
    Missing(String),
}

impl TrialState {
    /// `ok`, `corrupt` or `missing`, as scan-trials prints it.
    pub fn name(&self) -> &'static str {
        match self {
            TrialState::Ok(_) => "ok",
            TrialState::Corrupt(_) => "corrupt",
            TrialState::Missing(_) => "missing",
        }
    }
}

/// Every trial of the run, sorted by slug, manifests owned (for `compare`,
/// `archive`, `migrate`; a scan of the whole run that holds every manifest).
pub fn load(run_dir: &Path, pattern: &str) -> Result<Vec<Trial>, Error> {
    let pattern = Pattern::parse(pattern)?;
    let mut trials = Vec::new();
    scan::scan::<_, Error>(
        run_dir,
        &pattern,
        |c, read| Trial {
            slug: c.slug.clone(),
            manifest_path: c.path.clone(),
            state: match read {
                scan::FileRead::Bytes(bytes) => match Manifest::parse(bytes) {
                    Ok(m) => TrialState::Ok(m),
                    Err(e) => TrialState::Corrupt(e.0),
                },
                scan::FileRead::Missing(why) => TrialState::Missing(why),
            },
        },
        |t| {
            trials.push(t);
            Ok(())
        },
    )?;
    Ok(trials)
}

/// What the evidence rules say about a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    /// Trials found (readable or not).
    pub trials: usize,
    /// One per rule, in the order of `rules`.
    pub phases: Vec<PhaseEvidence>,
    /// Corrupt, missing and reconstructed manifests, ignored fields; in slug order.
    pub concerns: Vec<Concern>,
}

impl Evidence {
    /// The evidence for `phase`, when a rule names it.
    pub fn phase(&self, phase: &str) -> Option<&PhaseEvidence> {
        self.phases.iter().find(|p| p.phase == phase)
    }
}

/// Judge every trial of the run on every rule (rk-migrate(1)), on every core,
/// holding no manifest longer than it takes to judge it.
pub fn evaluate(
    run_dir: &Path,
    pattern: &str,
    rules: &[(String, EvidenceRule)],
) -> Result<Evidence, Error> {
    use evidence::{ManifestRef, TrialManifestState};
    let pattern = Pattern::parse(pattern)?;
    let run = std::fs::File::open(run_dir).map_err(|source| Error::Read {
        path: run_dir.display().to_string(),
        source,
    })?;
    let mut tally = evidence::Tally::new(rules);
    let mut concerns = Vec::new();
    scan::scan::<_, Error>(
        run_dir,
        &pattern,
        |c, read| {
            let judge = |m| evidence::judge_in(&run, &c.slug, m, rules);
            match read {
                scan::FileRead::Bytes(bytes) => match ManifestView::parse(bytes) {
                    Ok(view) => {
                        let from = if view.reconstructed {
                            Manifest::parse(bytes)
                                .ok()
                                .and_then(|m| m.reconstructed_from().map(str::to_string))
                        } else {
                            None
                        };
                        let verdict = judge(ManifestRef::Ok(&view));
                        let state = TrialManifestState::Ok { view: &view, from };
                        (verdict, evidence::concerns(&c.slug, &c.path, &state))
                    }
                    Err(e) => (
                        judge(ManifestRef::Corrupt),
                        evidence::concerns(&c.slug, &c.path, &TrialManifestState::Corrupt(&e.0)),
                    ),
                },
                scan::FileRead::Missing(why) => (
                    judge(ManifestRef::Missing),
                    evidence::concerns(&c.slug, &c.path, &TrialManifestState::Missing(&why)),
                ),
            }
        },
        |(verdict, mut c)| {
            tally.add(&verdict);
            concerns.append(&mut c);
            Ok(())
        },
    )?;
    Ok(Evidence {
        trials: tally.trials(),
        phases: tally.finish(),
        concerns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::Settings;

    fn write(root: &Path, rel: &str, content: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    #[test]
    fn load_and_evaluate_a_run() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path();
        let m = "results/trial_manifest.json";
        write(
            run,
            &format!("b/{m}"),
            r#"{"schema_version": 2, "datasets": {"a": ["x"]}, "job_status": {"a_p01": "completed"}}"#,
        );
        write(run, &format!("a/{m}"), r#"{"datasets": {"a": ["x"]}}"#);
        write(run, &format!("c/{m}"), "{");
        write(
            run,
            &format!("d/{m}"),
            r#"{"reconstructed": true, "reconstructed_from": "trial_manifest.json.corrupt.1"}"#,
        );
        write(run, "b/results/predictions.csv", "x\n");
        let s = Settings::default();

        let trials = load(run, &s.trials_manifest).unwrap();
        let names: Vec<(&str, &str)> = trials
            .iter()
            .map(|t| (t.slug.as_str(), t.state.name()))
            .collect();
        assert_eq!(
            names,
            [("a", "ok"), ("b", "ok"), ("c", "corrupt"), ("d", "ok")]
        );
        let TrialState::Ok(b) = &trials[1].state else {
            panic!()
        };
        assert_eq!(b.schema_version, SchemaVersion::V2);

        let e = evaluate(run, &s.trials_manifest, &s.evidence).unwrap();
        assert_eq!(e.trials, 4);
        let show = |p: &str| {
            let p = e.phase(p).unwrap();
            (p.status, p.satisfied, p.counted)
        };
        assert_eq!(show("prepare"), (EvidenceStatus::Completed, 4, 4));
        assert_eq!(show("submit"), (EvidenceStatus::InProgress, 1, 4));
        assert_eq!(show("poll"), (EvidenceStatus::InProgress, 0, 4));
        assert_eq!(show("parse"), (EvidenceStatus::InProgress, 1, 4));
        assert_eq!(show("report"), (EvidenceStatus::NotStarted, 0, 4));
        let concerns: Vec<String> = e.concerns.iter().map(|c| c.to_string()).collect();
        assert_eq!(concerns.len(), 2);
        assert!(concerns[0]
            .starts_with("corrupt manifest c/results/trial_manifest.json: not valid JSON"));
        assert_eq!(
            concerns[1],
            "reconstructed manifest d/results/trial_manifest.json (from trial_manifest.json.corrupt.1): its jobs are unknown"
        );
    }

    #[test]
    fn a_bad_pattern_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(load(dir.path(), "../*"), Err(Error::Pattern(_))));
    }
}
