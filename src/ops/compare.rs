//! `rk compare` (rk-compare(1)): can two runs be compared, result for result?
//!
//! The one idea: "compatible" is a precise, small claim — the same canonical
//! config and the same set of trials, read with the same manifest schema
//! versions. Everything else (how far each run got, whether it was migrated)
//! is shown side by side and highlighted where it differs, but does not make
//! two runs incomparable.

use crate::canon::{self, ConfigHash, Scheme};
use crate::drift;
use crate::project::{Project, RunDir};
use crate::state::{self, OverallStatus, RunState};
use crate::trials::{self, SchemaVersion, TrialState};
use crate::{run_config, Error, Exit};
use std::collections::BTreeSet;

/// One run's side of the comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSide {
    pub rid: String,
    pub status: OverallStatus,
    /// The recorded hash and scheme (`None` scheme name = legacy).
    pub recorded_hash: Option<String>,
    pub recorded_scheme: Option<String>,
    /// The current config's rk-c14n-v1 hash, when the config can be read.
    pub current_c14n: Option<String>,
    pub migrated: bool,
    /// (phase, status) in pipeline order, then the state's other phases.
    pub phases: Vec<(String, String)>,
    /// Manifest counts: v1, v2, corrupt, missing.
    pub manifests: ManifestCounts,
    pub trials: BTreeSet<String>,
}

/// `manifests` of a run in `rk compare --json`: `{v1, v2, corrupt, missing}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ManifestCounts {
    pub v1: usize,
    pub v2: usize,
    pub corrupt: usize,
    pub missing: usize,
}

/// How the config hashes were compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashComparison {
    /// The scheme both sides were compared under.
    pub scheme: Scheme,
    /// True when the hashes were recomputed from the current configs (the
    /// recorded schemes differ, or a side records no hash).
    pub recomputed: bool,
    pub a: Option<String>,
    pub b: Option<String>,
}

impl HashComparison {
    pub fn equal(&self) -> bool {
        self.a.is_some() && self.a == self.b
    }
}

/// The comparison of two runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    pub a: RunSide,
    pub b: RunSide,
    pub hashes: HashComparison,
    /// JSON Pointers that differ between the two current configs (after
    /// `hash.ignore`); `None` when a config cannot be read.
    pub changed_keys: Option<Vec<String>>,
    /// Problems reading either run's config or trials.
    pub problems: Vec<String>,
    pub only_in_a: Vec<String>,
    pub only_in_b: Vec<String>,
}

impl Comparison {
    /// Compatible: equal config hashes, no changed key, the same trial slugs,
    /// the same manifest schema versions (no corrupt or missing manifest on
    /// either side), and every config and trial list readable.
    pub fn compatible(&self) -> bool {
        self.hashes.equal()
            && self.changed_keys.as_ref().is_some_and(|k| k.is_empty())
            && !self.trials_differ()
            && !self.manifests_differ()
            && self.problems.is_empty()
    }

    /// The trial manifests differ: one side has a schema version (v1, v2)
    /// the other has none of, or either side has a corrupt or missing one.
    pub fn manifests_differ(&self) -> bool {
        let (a, b) = (&self.a.manifests, &self.b.manifests);
        (a.v1 > 0) != (b.v1 > 0)
            || (a.v2 > 0) != (b.v2 > 0)
            || a.corrupt + a.missing + b.corrupt + b.missing > 0
    }

    /// A trial slug is in one run and not the other.
    pub fn trials_differ(&self) -> bool {
        !self.only_in_a.is_empty() || !self.only_in_b.is_empty()
    }

    /// What differs besides compatibility, each marked in the report: the
    /// migrated flags (`migrated`), the overall statuses (`status`) and each
    /// phase whose status differs (`phase NAME`). Compatible runs with any
    /// of these are still a difference (exit 1): one may be further along.
    pub fn discrepancies(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.a.migrated != self.b.migrated {
            out.push("migrated".to_string());
        }
        if self.a.status != self.b.status {
            out.push("status".to_string());
        }
        for (name, a, b) in self.phase_rows() {
            if a != b {
                out.push(format!("phase {name}"));
            }
        }
        out
    }

    /// Exit 0 only when compatible and nothing else is marked.
    pub fn identical(&self) -> bool {
        self.compatible() && self.discrepancies().is_empty()
    }

    /// (phase, status in A, status in B): A's phases in order, then B's
    /// others; `-` where a side has no such phase.
    pub fn phase_rows(&self) -> Vec<(String, String, String)> {
        let mut names: Vec<&String> = self.a.phases.iter().map(|(n, _)| n).collect();
        for (n, _) in &self.b.phases {
            if !names.contains(&n) {
                names.push(n);
            }
        }
        let find = |side: &[(String, String)], n: &str| {
            side.iter()
                .find(|(p, _)| p == n)
                .map_or("-".to_string(), |(_, s)| s.clone())
        };
        names
            .into_iter()
            .map(|n| (n.clone(), find(&self.a.phases, n), find(&self.b.phases, n)))
            .collect()
    }
}

/// `rk compare --json` (format_version 1): the document rk-compare(1)
/// describes under "With --json" (docs/FORMATS.md#plumbing-output), borrowed
/// from a [`Comparison`]. The fields are in output order.
#[derive(Debug, serde::Serialize)]
pub struct ComparisonDocument<'a> {
    format_version: u32,
    compatible: bool,
    config: HashesDocument<'a>,
    runs: [SideDocument<'a>; 2],
    only_in_a: &'a [String],
    only_in_b: &'a [String],
    problems: &'a [String],
    discrepancies: Vec<String>,
}

/// `config` of `rk compare --json`: how the hashes compared, and the changed
/// keys (`null` when a config cannot be read).
#[derive(Debug, serde::Serialize)]
struct HashesDocument<'a> {
    scheme: Scheme,
    recomputed: bool,
    a: Option<&'a str>,
    b: Option<&'a str>,
    equal: bool,
    changed_keys: Option<&'a [String]>,
}

/// One of `runs` in `rk compare --json`.
#[derive(Debug, serde::Serialize)]
struct SideDocument<'a> {
    run: &'a str,
    status: OverallStatus,
    config_hash: Option<&'a str>,
    config_hash_scheme: Option<&'a str>,
    migrated: bool,
    manifests: &'a ManifestCounts,
    trials: usize,
    /// `{phase: status}`, in the run's phase order.
    #[serde(serialize_with = "phase_map")]
    phases: &'a [(String, String)],
}

fn phase_map<S: serde::Serializer>(phases: &&[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(phases.iter().map(|(name, status)| (name, status)))
}

impl<'a> From<&'a RunSide> for SideDocument<'a> {
    fn from(side: &'a RunSide) -> Self {
        SideDocument {
            run: &side.rid,
            status: side.status,
            config_hash: side.recorded_hash.as_deref(),
            config_hash_scheme: side.recorded_scheme.as_deref(),
            migrated: side.migrated,
            manifests: &side.manifests,
            trials: side.trials.len(),
            phases: &side.phases,
        }
    }
}

impl<'a> From<&'a Comparison> for ComparisonDocument<'a> {
    fn from(c: &'a Comparison) -> Self {
        ComparisonDocument {
            format_version: 1,
            compatible: c.compatible(),
            config: HashesDocument {
                scheme: c.hashes.scheme,
                recomputed: c.hashes.recomputed,
                a: c.hashes.a.as_deref(),
                b: c.hashes.b.as_deref(),
                equal: c.hashes.equal(),
                changed_keys: c.changed_keys.as_deref(),
            },
            runs: [SideDocument::from(&c.a), SideDocument::from(&c.b)],
            only_in_a: &c.only_in_a,
            only_in_b: &c.only_in_b,
            problems: &c.problems,
            discrepancies: c.discrepancies(),
        }
    }
}

/// Compare runs `a` and `b`. Naming the same run twice is a usage error.
pub fn compare(project: &Project, a: &str, b: &str) -> Result<Comparison, Error> {
    let ra = project.resolve_run(a)?;
    let rb = project.resolve_run(b)?;
    let same = match (ra.path.canonicalize(), rb.path.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => ra.path == rb.path,
    };
    if same {
        return Err(Error::refusal(
            Exit::Usage,
            format!("{a} and {b} name the same run"),
            Some("compare two different runs; `rk list` shows them".into()),
        ));
    }
    let mut problems = Vec::new();
    let (sa, va) = side(project, &ra, &mut problems);
    let (sb, vb) = side(project, &rb, &mut problems);

    let same_scheme = sa.recorded_hash.is_some()
        && sb.recorded_hash.is_some()
        && sa.recorded_scheme == sb.recorded_scheme
        && drift::recorded_scheme(sa.recorded_scheme.as_deref()).is_some();
    let hashes = if same_scheme {
        HashComparison {
            scheme: drift::recorded_scheme(sa.recorded_scheme.as_deref()).unwrap_or(Scheme::C14nV1),
            recomputed: false,
            a: sa.recorded_hash.clone(),
            b: sb.recorded_hash.clone(),
        }
    } else {
        HashComparison {
            scheme: Scheme::C14nV1,
            recomputed: true,
            a: sa.current_c14n.clone(),
            b: sb.current_c14n.clone(),
        }
    };
    let changed_keys = match (va, vb) {
        (Some(x), Some(y)) => Some(
            canon::changed_pointers(&x, &y)
                .iter()
                .map(|p| p.to_string())
                .collect(),
        ),
        _ => None,
    };
    let only_in_a = sa.trials.difference(&sb.trials).cloned().collect();
    let only_in_b = sb.trials.difference(&sa.trials).cloned().collect();
    Ok(Comparison {
        a: sa,
        b: sb,
        hashes,
        changed_keys,
        problems,
        only_in_a,
        only_in_b,
    })
}

fn side(
    project: &Project,
    run: &RunDir,
    problems: &mut Vec<String>,
) -> (RunSide, Option<canon::Value>) {
    let settings = &project.settings;
    let loaded = state::load(run, settings);
    let status = state::overall_status(run, settings, &loaded);
    let st: Option<RunState> = match loaded {
        Ok(s) => s,
        Err(e) => {
            problems.push(format!("run {}: {e}", run.rid));
            None
        }
    };
    let value = match run_config::current(run, settings) {
        Ok(Some(mut doc)) => {
            canon::remove_pointers(&mut doc.value, &settings.hash_ignore);
            Some(doc)
        }
        Ok(None) => {
            problems.push(format!(
                "run {}: no config at {}",
                run.rid,
                run_config::current_path(run, settings).display()
            ));
            None
        }
        Err(e) => {
            problems.push(format!("run {}: {e}", run.rid));
            None
        }
    };
    let current_c14n = value
        .as_ref()
        .and_then(|d| match canon::config_hash(d, Scheme::C14nV1) {
            ConfigHash::Hex(h) => Some(h),
            ConfigHash::Unverifiable(_) => None,
        });
    let mut manifests = ManifestCounts::default();
    let mut slugs = BTreeSet::new();
    match trials::load(&run.path, &settings.trials_manifest) {
        Ok(list) => {
            for t in list {
                match &t.state {
                    TrialState::Ok(m) if m.schema_version == SchemaVersion::V2 => manifests.v2 += 1,
                    TrialState::Ok(_) => manifests.v1 += 1,
                    TrialState::Corrupt(_) => manifests.corrupt += 1,
                    TrialState::Missing(_) => manifests.missing += 1,
                }
                slugs.insert(t.slug);
            }
        }
        Err(e) => problems.push(format!("run {}: {e}", run.rid)),
    }
    let names = match &st {
        Some(s) => s.pipeline(&settings.phases),
        None => settings.phases.clone(),
    };
    let phases = names
        .into_iter()
        .map(|n| {
            let status = st
                .as_ref()
                .and_then(|s| s.phase(&n))
                .map_or("-".to_string(), |p| p.status.as_str().to_string());
            (n, status)
        })
        .collect();
    (
        RunSide {
            rid: run.rid.clone(),
            status,
            recorded_hash: st
                .as_ref()
                .and_then(|s| s.recorded_hash().map(String::from)),
            recorded_scheme: st.as_ref().and_then(|s| s.config_hash_scheme.clone()),
            current_c14n,
            migrated: st.as_ref().and_then(|s| s.migrated).unwrap_or(false),
            phases,
            manifests,
            trials: slugs,
        },
        value.map(|d| d.value),
    )
}
