//! Evidence: inferring each phase's status from the files of a run's trials
//! (rk-migrate(1)), and rebuilding a manifest from that evidence.
//!
//! Each rule is judged per trial ([`judge`]: does this trial count, and does
//! it satisfy the rule?), then over all trials ([`Tally`]): `completed` when
//! every counted trial satisfies it, `in_progress` when some do, `not_started`
//! when none do or there are no trials. The job rules add two twists the rules
//! words exactly: a trial whose manifest lists no dataset is not counted at
//! all, and a manifest that is corrupt, missing or says `"reconstructed": true`
//! is counted and never satisfies (rk cannot know its jobs); and the phase
//! stays `not_started` while no readable manifest lists any dataset.
//!
//! Judging is split from tallying so that a scan can judge trials on worker
//! threads and fold the verdicts in slug order, holding none of the manifests.

use super::manifest::ManifestView;
use super::EvidenceRule;
use std::path::Path;

/// A phase's status as evidence shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvidenceStatus {
    NotStarted,
    InProgress,
    Completed,
}

impl EvidenceStatus {
    /// The phase status name of docs/FORMATS.md#run-state.
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceStatus::NotStarted => "not_started",
            EvidenceStatus::InProgress => "in_progress",
            EvidenceStatus::Completed => "completed",
        }
    }
}

/// In JSON output a status is its name, spelled in one place: [`EvidenceStatus::as_str`].
impl serde::Serialize for EvidenceStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One phase over all trials: `parse ████░░ 37/50` is
/// `satisfied: 37, counted: 50`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhaseEvidence {
    pub phase: String,
    pub rule: EvidenceRule,
    pub status: EvidenceStatus,
    /// Trials that satisfy the rule.
    pub satisfied: usize,
    /// Trials the rule looked at (for the job rules, those whose manifest
    /// lists a dataset or cannot be read).
    pub counted: usize,
}

/// Something about a trial that the user (or a migration note) should hear.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Concern {
    /// The manifest is not JSON or not an object.
    CorruptManifest {
        slug: String,
        path: String,
        error: String,
    },
    /// The glob matched, but the manifest cannot be read.
    MissingManifest {
        slug: String,
        path: String,
        error: String,
    },
    /// The manifest was rebuilt by `rk migrate`; its jobs are unknown.
    ReconstructedManifest {
        slug: String,
        path: String,
        from: Option<String>,
    },
    /// A field of the wrong type, ignored.
    FieldIgnored {
        slug: String,
        path: String,
        message: String,
    },
}

impl std::fmt::Display for Concern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Concern::CorruptManifest { path, error, .. } => {
                write!(f, "corrupt manifest {path}: {error}")
            }
            Concern::MissingManifest { path, error, .. } => {
                write!(f, "unreadable manifest {path}: {error}")
            }
            Concern::ReconstructedManifest { path, from, .. } => match from {
                Some(from) => write!(
                    f,
                    "reconstructed manifest {path} (from {from}): its jobs are unknown"
                ),
                None => write!(f, "reconstructed manifest {path}: its jobs are unknown"),
            },
            Concern::FieldIgnored { path, message, .. } => write!(f, "{path}: {message}"),
        }
    }
}

/// A trial's manifest as the rules see it.
#[derive(Clone, Copy, Debug)]
pub enum ManifestRef<'v, 'a> {
    Ok(&'v ManifestView<'a>),
    Corrupt,
    Missing,
}

/// One trial's verdict on each rule, in rule order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    pub rules: Vec<RuleVerdict>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuleVerdict {
    /// The trial takes part in this rule.
    pub counted: bool,
    pub satisfied: bool,
    /// Job rules: a readable manifest of this trial lists a dataset.
    pub lists_datasets: bool,
}

/// Judge one trial (its directory is `trial_dir`) on every rule.
///
/// This runs once per trial per `status`, so it allocates nothing but the
/// verdict: expected part names are written into one reused buffer, file
/// paths into another, and each file is looked at only when a rule needs it
/// (a `jobs: downloaded` trial with a non-empty combined file never looks at
/// its parts).
pub fn judge(
    trial_dir: &Path,
    manifest: ManifestRef<'_, '_>,
    rules: &[(String, EvidenceRule)],
) -> Verdict {
    use std::os::unix::ffi::OsStrExt;
    judge_with(
        Probe::new(libc::AT_FDCWD, trial_dir.as_os_str().as_bytes()),
        manifest,
        rules,
    )
}

/// [`judge`] for the trial dir `slug` of the run dir open as `run_dir`: the
/// files are looked up from the run dir, not from the root (a scan of
/// 10,000 trials makes some 60,000 such lookups).
pub fn judge_in(
    run_dir: &std::fs::File,
    slug: &str,
    manifest: ManifestRef<'_, '_>,
    rules: &[(String, EvidenceRule)],
) -> Verdict {
    use std::os::fd::AsRawFd;
    judge_with(
        Probe::new(run_dir.as_raw_fd(), slug.as_bytes()),
        manifest,
        rules,
    )
}

fn judge_with(
    mut probe: Probe,
    manifest: ManifestRef<'_, '_>,
    rules: &[(String, EvidenceRule)],
) -> Verdict {
    let readable = match manifest {
        ManifestRef::Ok(m) if !m.reconstructed => Some(m),
        _ => None,
    };
    let rules = rules
        .iter()
        .map(|(_, rule)| match rule {
            EvidenceRule::Always => RuleVerdict {
                counted: true,
                satisfied: true,
                lists_datasets: false,
            },
            EvidenceRule::File(path) => RuleVerdict {
                counted: true,
                satisfied: probe.non_empty(&[path]),
                lists_datasets: false,
            },
            EvidenceRule::JobsRecorded | EvidenceRule::JobsDownloaded => match readable {
                None => RuleVerdict {
                    counted: true,
                    satisfied: false,
                    lists_datasets: false,
                },
                Some(m) if !m.lists_datasets() => RuleVerdict::default(),
                Some(m) => RuleVerdict {
                    counted: true,
                    satisfied: if *rule == EvidenceRule::JobsRecorded {
                        all_jobs_recorded(m, &mut probe.part)
                    } else {
                        probe.downloaded(m)
                    },
                    lists_datasets: true,
                },
            },
        })
        .collect();
    Verdict { rules }
}

/// Every expected part of `m` has a `job_status` entry. Parts are looked up
/// from where the previous one was found: manifests list their jobs in part
/// order, so this is one pass over `job_status`, not one per part.
fn all_jobs_recorded(m: &ManifestView<'_>, name: &mut String) -> bool {
    let jobs = &m.job_status;
    let mut cursor = 0;
    for (key, ids) in &m.datasets {
        for i in 1..=ids.len() {
            part_name(name, key, i);
            let found = (cursor..jobs.len())
                .chain(0..cursor)
                .find(|&j| jobs[j].0.as_ref() == name.as_str());
            match found {
                Some(j) => cursor = j + 1,
                None => return false,
            }
        }
    }
    true
}

/// `{key}_p{i:02}` into `name`, without the formatting machinery.
fn part_name(name: &mut String, key: &str, i: usize) {
    name.clear();
    name.push_str(key);
    name.push_str("_p");
    if i < 10 {
        name.push('0');
    }
    let mut digits = [0u8; 20];
    let mut n = i;
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    name.push_str(std::str::from_utf8(&digits[at..]).expect("ASCII digits"));
}

/// Looks at files below one trial dir through one reused path buffer.
struct Probe {
    /// Paths are looked up from this directory (`AT_FDCWD`: the cwd).
    dir: std::os::fd::RawFd,
    /// The trial dir (relative to `dir`), then whatever is being looked at.
    path: Vec<u8>,
    /// Length of the trial dir in `path`.
    base: usize,
    /// The expected part being looked at.
    part: String,
}

impl Probe {
    fn new(dir: std::os::fd::RawFd, trial_dir: &[u8]) -> Probe {
        let mut path = Vec::with_capacity(trial_dir.len() + 64);
        path.extend_from_slice(trial_dir);
        Probe {
            dir,
            base: path.len(),
            path,
            part: String::new(),
        }
    }

    /// The file `trial_dir/parts[0]/parts[1]…` exists (through symlinks) and
    /// holds at least one byte.
    fn non_empty(&mut self, parts: &[&str]) -> bool {
        self.path.truncate(self.base);
        for p in parts {
            self.path.push(b'/');
            self.path.extend_from_slice(p.as_bytes());
        }
        if self.path.contains(&0) {
            return false;
        }
        self.path.push(0);
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: `path` is NUL-terminated with no NUL inside, `st` is a
        // buffer of the right type that fstatat fills when it returns 0.
        let found =
            unsafe { libc::fstatat(self.dir, self.path.as_ptr().cast(), st.as_mut_ptr(), 0) };
        if found != 0 {
            return false;
        }
        // SAFETY: fstatat returned 0, so it filled `st`.
        let st = unsafe { st.assume_init() };
        st.st_mode & libc::S_IFMT == libc::S_IFREG && st.st_size > 0
    }

    /// `jobs: downloaded`: `results/results_combined.jsonl` non-empty, or
    /// `results/<part>/results.jsonl` non-empty for every expected part.
    fn downloaded(&mut self, m: &ManifestView<'_>) -> bool {
        if self.non_empty(&["results/results_combined.jsonl"]) {
            return true;
        }
        let mut part = std::mem::take(&mut self.part);
        let mut any = false;
        let mut all = true;
        'parts: for (key, ids) in &m.datasets {
            for i in 1..=ids.len() {
                any = true;
                part_name(&mut part, key, i);
                if !self.non_empty(&["results", &part, "results.jsonl"]) {
                    all = false;
                    break 'parts;
                }
            }
        }
        self.part = part;
        any && all
    }
}

/// The file exists (through symlinks) and holds at least one byte.
fn non_empty(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.len() > 0)
        .unwrap_or(false)
}

/// The concerns one trial raises (most raise none, and then nothing is
/// allocated: this runs once a trial).
pub fn concerns(slug: &str, path: &str, manifest: &TrialManifestState<'_>) -> Vec<Concern> {
    let (slug, path) = (|| slug.to_string(), || path.to_string());
    match manifest {
        TrialManifestState::Corrupt(error) => vec![Concern::CorruptManifest {
            slug: slug(),
            path: path(),
            error: error.to_string(),
        }],
        TrialManifestState::Missing(error) => vec![Concern::MissingManifest {
            slug: slug(),
            path: path(),
            error: error.to_string(),
        }],
        TrialManifestState::Ok { view, from } => view
            .warnings
            .iter()
            .map(|message| Concern::FieldIgnored {
                slug: slug(),
                path: path(),
                message: message.clone(),
            })
            .chain(view.reconstructed.then(|| Concern::ReconstructedManifest {
                slug: slug(),
                path: path(),
                from: from.clone(),
            }))
            .collect(),
    }
}

/// A trial's manifest with what concerns need to name.
pub enum TrialManifestState<'v> {
    Ok {
        view: &'v ManifestView<'v>,
        /// `reconstructed_from`, when the manifest says.
        from: Option<String>,
    },
    Corrupt(&'v str),
    Missing(&'v str),
}

/// Folds verdicts, trial by trial, into one [`PhaseEvidence`] per rule.
#[derive(Clone, Debug)]
pub struct Tally {
    rules: Vec<(String, EvidenceRule)>,
    counts: Vec<(usize, usize, bool)>,
    trials: usize,
}

impl Tally {
    pub fn new(rules: &[(String, EvidenceRule)]) -> Tally {
        Tally {
            rules: rules.to_vec(),
            counts: vec![(0, 0, false); rules.len()],
            trials: 0,
        }
    }

    pub fn add(&mut self, verdict: &Verdict) {
        self.trials += 1;
        for (count, v) in self.counts.iter_mut().zip(&verdict.rules) {
            count.0 += usize::from(v.satisfied);
            count.1 += usize::from(v.counted);
            count.2 |= v.lists_datasets;
        }
    }

    /// Trials added so far.
    pub fn trials(&self) -> usize {
        self.trials
    }

    pub fn finish(self) -> Vec<PhaseEvidence> {
        self.rules
            .into_iter()
            .zip(self.counts)
            .map(|((phase, rule), (satisfied, counted, lists))| {
                let job_rule = matches!(
                    rule,
                    EvidenceRule::JobsRecorded | EvidenceRule::JobsDownloaded
                );
                let status = if counted == 0 || (job_rule && !lists) {
                    EvidenceStatus::NotStarted
                } else if satisfied == counted {
                    EvidenceStatus::Completed
                } else if job_rule || satisfied > 0 {
                    EvidenceStatus::InProgress
                } else {
                    EvidenceStatus::NotStarted
                };
                PhaseEvidence {
                    phase,
                    rule,
                    status,
                    satisfied,
                    counted,
                }
            })
            .collect()
    }
}

/// The `stage_status` name a phase's evidence fills in a reconstructed
/// manifest: the Python tool set's stage names for its phases, the phase name
/// for any other.
pub fn stage_of_phase(phase: &str) -> &str {
    match phase {
        "poll" => "downloaded",
        "parse" => "parsed",
        "score" => "scored",
        other => other,
    }
}

/// A v2 manifest for `trial_dir` rebuilt from the files on disk, to replace a
/// corrupt one (moved aside to `backup_name`). `stage_status` comes from the
/// file and download evidence (`completed` or `pending`); datasets and jobs
/// are unknown, so they are empty, and `"reconstructed": true` makes the job
/// rules count this trial as unreadable from now on. Reads only.
pub fn reconstruct_manifest(
    trial_dir: &Path,
    rules: &[(String, EvidenceRule)],
    run_id: Option<&str>,
    backup_name: &str,
    now: &str,
) -> serde_json::Value {
    use serde_json::{json, Map, Value};
    let mut stages = Map::new();
    for (phase, rule) in rules {
        let (done, artifacts) = match rule {
            EvidenceRule::File(path) => {
                let done = non_empty(&trial_dir.join(path));
                let artifacts = if done {
                    json!({ "file": path })
                } else {
                    json!({})
                };
                (done, artifacts)
            }
            EvidenceRule::JobsDownloaded => {
                let done = non_empty(&trial_dir.join("results/results_combined.jsonl"));
                let artifacts = if done {
                    json!({ "file": "results/results_combined.jsonl" })
                } else {
                    json!({})
                };
                (done, artifacts)
            }
            EvidenceRule::Always | EvidenceRule::JobsRecorded => continue,
        };
        stages.insert(
            stage_of_phase(phase).to_string(),
            json!({
                "status": if done { "completed" } else { "pending" },
                "updated_at": now,
                "artifacts": artifacts,
            }),
        );
    }
    json!({
        "schema_version": 2,
        "run_id": run_id.map(|r| Value::String(r.into())).unwrap_or(Value::Null),
        "datasets": {},
        "jobs": {},
        "job_status": {},
        "stage_status": stages,
        "timestamps": { "reconstructed_at": now },
        "reconstructed": true,
        "reconstructed_from": backup_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::Settings;

    struct Run {
        _dir: tempfile::TempDir,
        root: std::path::PathBuf,
        trials: Vec<(String, Option<Vec<u8>>)>,
    }

    impl Run {
        fn new() -> Run {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().to_path_buf();
            Run {
                _dir: dir,
                root,
                trials: Vec::new(),
            }
        }
        fn trial(&mut self, slug: &str, manifest: Option<&str>) -> &mut Run {
            std::fs::create_dir_all(self.root.join(slug).join("results")).unwrap();
            self.trials
                .push((slug.into(), manifest.map(|m| m.as_bytes().to_vec())));
            self
        }
        fn file(&mut self, rel: &str, content: &str) -> &mut Run {
            let p = self.root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
            self
        }
        fn tally(&self, rules: &[(String, EvidenceRule)]) -> Vec<(EvidenceStatus, usize, usize)> {
            let mut tally = Tally::new(rules);
            for (slug, bytes) in &self.trials {
                let view = bytes.as_deref().map(ManifestView::parse);
                let m = match &view {
                    None => ManifestRef::Missing,
                    Some(Err(_)) => ManifestRef::Corrupt,
                    Some(Ok(v)) => ManifestRef::Ok(v),
                };
                tally.add(&judge(&self.root.join(slug), m, rules));
            }
            tally
                .finish()
                .into_iter()
                .map(|p| (p.status, p.satisfied, p.counted))
                .collect()
        }
        fn one(&self, rule: EvidenceRule) -> (EvidenceStatus, usize, usize) {
            self.tally(&[("p".into(), rule)])[0]
        }
    }

    use EvidenceStatus::*;
    const DS2: &str = r#"{"datasets": {"a": ["x", "y"]}, "job_status": {"a_p01": "completed", "a_p02": "downloaded"}}"#;
    const DS2_HALF: &str =
        r#"{"datasets": {"a": ["x", "y"]}, "job_status": {"a_p01": "completed"}}"#;
    const NO_DS: &str = r#"{"datasets": {}, "job_status": {}}"#;

    #[test]
    fn no_trials_means_nothing_started() {
        let run = Run::new();
        let rules = Settings::default().evidence;
        for (status, s, c) in run.tally(&rules) {
            assert_eq!((status, s, c), (NotStarted, 0, 0));
        }
    }

    #[test]
    fn always_completes_once_a_trial_exists() {
        let mut run = Run::new();
        run.trial("t1", Some("garbage"));
        assert_eq!(run.one(EvidenceRule::Always), (Completed, 1, 1));
    }

    #[test]
    fn file_rule_needs_a_non_empty_file() {
        let mut run = Run::new();
        run.trial("t1", Some(NO_DS))
            .trial("t2", Some(NO_DS))
            .trial("t3", None);
        let rule = EvidenceRule::File("results/predictions.csv".into());
        assert_eq!(run.one(rule.clone()), (NotStarted, 0, 3));
        run.file("t1/results/predictions.csv", "");
        assert_eq!(run.one(rule.clone()), (NotStarted, 0, 3), "empty file");
        run.file("t2/results/predictions.csv", "a,b\n");
        assert_eq!(run.one(rule.clone()), (InProgress, 1, 3));
        run.file("t1/results/predictions.csv", "a,b\n");
        run.file("t3/results/predictions.csv", "a,b\n");
        assert_eq!(
            run.one(rule.clone()),
            (Completed, 3, 3),
            "a missing manifest does not matter to a file rule"
        );
        let missing_dir = EvidenceRule::File("nowhere/x".into());
        assert_eq!(run.one(missing_dir), (NotStarted, 0, 3));
    }

    /// A file rule follows symlinks (the file's and its directories') and
    /// wants a regular file with a byte in it: not a directory, not a FIFO
    /// (which it must never open: that would block), not a dangling link;
    /// names are matched as the file system matches them.
    #[cfg(unix)]
    #[test]
    fn file_rule_follows_symlinks_and_wants_a_regular_file() {
        use std::os::unix::fs::symlink;
        let mut run = Run::new();
        for t in ["link", "dirlink", "dir", "fifo", "dangling", "case", "gone"] {
            run.trial(t, Some(NO_DS));
        }
        let rule = |p: &str| EvidenceRule::File(p.into());
        run.file("elsewhere/results/predictions.csv", "a\n");
        symlink(
            run.root.join("elsewhere/results/predictions.csv"),
            run.root.join("link/results/predictions.csv"),
        )
        .unwrap();
        // The trial's results dir itself is a link to a directory elsewhere.
        std::fs::remove_dir(run.root.join("dirlink/results")).unwrap();
        symlink("../elsewhere/results", run.root.join("dirlink/results")).unwrap();
        std::fs::create_dir(run.root.join("dir/results/predictions.csv")).unwrap();
        let fifo = std::ffi::CString::new(
            run.root
                .join("fifo/results/predictions.csv")
                .to_str()
                .unwrap(),
        )
        .unwrap();
        // SAFETY: a NUL-terminated path; mkfifo only creates the node.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        symlink("nowhere", run.root.join("dangling/results/predictions.csv")).unwrap();
        run.file("case/results/Predictions.csv", "a\n");
        std::fs::remove_dir_all(run.root.join("gone")).unwrap();
        let judged = |slug: &str| {
            judge(
                &run.root.join(slug),
                ManifestRef::Missing,
                &[("p".into(), rule("results/predictions.csv"))],
            )
            .rules[0]
        };
        assert!(judged("link").satisfied, "a symlink to a file");
        assert!(judged("dirlink").satisfied, "a symlinked results dir");
        for slug in ["dir", "fifo", "dangling", "gone"] {
            let v = judged(slug);
            assert!(v.counted && !v.satisfied, "{slug}");
        }
        // Case-insensitive file systems find the file; the others do not.
        let found = run.root.join("case/results/predictions.csv").exists();
        assert_eq!(judged("case").satisfied, found);
    }

    #[test]
    fn jobs_recorded() {
        let mut run = Run::new();
        run.trial("t1", Some(DS2));
        assert_eq!(run.one(EvidenceRule::JobsRecorded), (Completed, 1, 1));
        run.trial("t2", Some(DS2_HALF));
        assert_eq!(run.one(EvidenceRule::JobsRecorded), (InProgress, 1, 2));
        // A trial listing no datasets neither blocks nor satisfies.
        let mut run = Run::new();
        run.trial("t1", Some(DS2))
            .trial("t2", Some(NO_DS))
            .trial("t3", Some("{}"));
        assert_eq!(run.one(EvidenceRule::JobsRecorded), (Completed, 1, 1));
    }

    #[test]
    fn jobs_rules_without_any_dataset_are_not_started() {
        for rule in [EvidenceRule::JobsRecorded, EvidenceRule::JobsDownloaded] {
            let mut run = Run::new();
            run.trial("t1", Some(NO_DS)).trial("t2", Some("not json"));
            assert_eq!(run.one(rule.clone()), (NotStarted, 0, 1));
            // A dataset listed only by a reconstructed manifest does not count.
            let mut run = Run::new();
            run.trial(
                "t1",
                Some(r#"{"reconstructed": true, "datasets": {"a": ["x"]}, "job_status": {"a_p01": "completed"}}"#),
            );
            run.file("t1/results/results_combined.jsonl", "{}\n");
            assert_eq!(run.one(rule), (NotStarted, 0, 1));
        }
    }

    #[test]
    fn unreadable_manifests_block_the_job_rules() {
        for bad in [
            Some("{"),
            Some("[]"),
            None,
            Some(r#"{"reconstructed": true}"#),
        ] {
            let mut run = Run::new();
            run.trial("t1", Some(DS2)).trial("t2", bad);
            run.file("t1/results/results_combined.jsonl", "{}\n");
            assert_eq!(
                run.one(EvidenceRule::JobsRecorded),
                (InProgress, 1, 2),
                "{bad:?}"
            );
            assert_eq!(
                run.one(EvidenceRule::JobsDownloaded),
                (InProgress, 1, 2),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn jobs_recorded_in_progress_even_when_none_satisfy() {
        let mut run = Run::new();
        run.trial("t1", Some(r#"{"datasets": {"a": ["x"]}}"#));
        assert_eq!(run.one(EvidenceRule::JobsRecorded), (InProgress, 0, 1));
    }

    #[test]
    fn downloaded_combined_or_every_part() {
        let mut run = Run::new();
        run.trial("t1", Some(DS2)).trial("t2", Some(DS2));
        let rule = EvidenceRule::JobsDownloaded;
        assert_eq!(run.one(rule.clone()), (InProgress, 0, 2));
        run.file("t1/results/results_combined.jsonl", "");
        assert_eq!(run.one(rule.clone()), (InProgress, 0, 2), "empty combined");
        run.file("t1/results/results_combined.jsonl", "{}\n");
        assert_eq!(run.one(rule.clone()), (InProgress, 1, 2));
        run.file("t2/results/a_p01/results.jsonl", "{}\n");
        assert_eq!(run.one(rule.clone()), (InProgress, 1, 2), "one part of two");
        run.file("t2/results/a_p02/results.jsonl", "");
        assert_eq!(run.one(rule.clone()), (InProgress, 1, 2), "empty part");
        run.file("t2/results/a_p02/results.jsonl", "{}\n");
        assert_eq!(run.one(rule), (Completed, 2, 2));
    }

    #[test]
    fn part_names_are_the_expected_parts() {
        let mut name = String::new();
        let want = crate::trials::expected_parts([("ds", 150)]);
        for (i, w) in (1..=150).zip(&want) {
            part_name(&mut name, "ds", i);
            assert_eq!(&name, w);
        }
    }

    #[test]
    fn jobs_recorded_in_any_order() {
        let mut name = String::new();
        let v = ManifestView::parse(
            br#"{"datasets": {"a": ["x", "y", "z"], "b": ["u"]},
                 "job_status": {"b_p01": "completed", "a_p03": "completed", "a_p01": "running", "a_p02": "x"}}"#,
        )
        .unwrap();
        assert!(all_jobs_recorded(&v, &mut name));
        let v = ManifestView::parse(
            br#"{"datasets": {"a": ["x", "y"], "b": ["u"]},
                 "job_status": {"b_p01": "completed", "a_p01": "running", "a_p03": "x"}}"#,
        )
        .unwrap();
        assert!(!all_jobs_recorded(&v, &mut name));
    }

    #[test]
    fn concerns_name_the_trouble() {
        let v = ManifestView::parse(br#"{"reconstructed": true, "datasets": 3}"#).unwrap();
        let c = concerns(
            "t1",
            "t1/m.json",
            &TrialManifestState::Ok {
                view: &v,
                from: Some("m.json.corrupt.x".into()),
            },
        );
        let text: Vec<String> = c.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            text,
            [
                "t1/m.json: datasets is a number, not an object; ignored",
                "reconstructed manifest t1/m.json (from m.json.corrupt.x): its jobs are unknown",
            ]
        );
        let c = concerns(
            "t1",
            "t1/m.json",
            &TrialManifestState::Corrupt("not valid JSON"),
        );
        assert_eq!(
            c[0].to_string(),
            "corrupt manifest t1/m.json: not valid JSON"
        );
    }

    #[test]
    fn reconstructed_manifest_from_files() {
        let mut run = Run::new();
        run.trial("t1", None)
            .file("t1/results/predictions.csv", "a\n")
            .file("t1/results/per_item_scores.csv", "")
            .file("t1/results/results_combined.jsonl", "{}\n");
        let rules = Settings::default().evidence;
        let m = reconstruct_manifest(
            &run.root.join("t1"),
            &rules,
            Some("r1"),
            "trial_manifest.json.corrupt.20250903T100000Z",
            "2025-09-03T10:00:00.000000Z",
        );
        let text = serde_json::to_string(&m).unwrap();
        let view = ManifestView::parse(text.as_bytes()).unwrap();
        assert!(view.reconstructed);
        assert_eq!(view.version(), crate::trials::SchemaVersion::V2);
        let stages: Vec<(String, String)> = view
            .stage_status
            .iter()
            .map(|s| {
                (
                    s.stage.to_string(),
                    s.status.as_deref().unwrap_or("").to_string(),
                )
            })
            .collect();
        assert_eq!(
            stages,
            [
                ("downloaded", "completed"),
                ("parsed", "completed"),
                ("scored", "pending"),
                ("stats", "pending"),
                ("costs", "pending"),
                ("report", "pending"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert_eq!(
            m["reconstructed_from"],
            "trial_manifest.json.corrupt.20250903T100000Z"
        );
        assert_eq!(m["job_status"], serde_json::json!({}));
        // Reconstructed manifests count as unreadable for the job rules.
        let v = judge(&run.root.join("t1"), ManifestRef::Ok(&view), &rules);
        assert!(v.rules[2].counted && !v.rules[2].satisfied);
    }
}
