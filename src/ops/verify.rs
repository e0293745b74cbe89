//! `rk verify` (rk-archive(1)): does the run dir still hold exactly what its
//! archive manifest recorded?
//!
//! The one idea: verify walks and hashes with the very code `rk archive`
//! used (same exclusions, same no-follow rules: both come from
//! [`archive_manifest`](super::archive_manifest)), so a clean archive always
//! verifies clean, and any difference is one of three kinds: missing,
//! changed (bytes, size, link target or kind) or extra.

use crate::error::Error;
use crate::output::Progress;
use crate::project::{Project, RunDir, Settings};
use std::collections::BTreeMap;

use super::archive_manifest::{self, ArchiveManifest, Artifact, Found};

/// What verify found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries the manifest records.
    pub checked: usize,
    pub missing: Vec<String>,
    /// (path, what differs).
    pub changed: Vec<(String, String)>,
    pub extra: Vec<String>,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.changed.is_empty() && self.extra.is_empty()
    }
}

/// Verify a run against its manifest.
pub fn verify(project: &Project, run: &RunDir, progress: &Progress) -> Result<VerifyReport, Error> {
    let manifest = archive_manifest::read_manifest(run)?;
    check(run, &project.settings, &manifest, progress)
}

/// Compare the run dir with `manifest`.
pub fn check(
    run: &RunDir,
    settings: &Settings,
    manifest: &ArchiveManifest,
    progress: &Progress,
) -> Result<VerifyReport, Error> {
    let found = archive_manifest::walk(&run.path, &settings.state_file, &settings.state_lock)?;
    let on_disk: BTreeMap<&str, &Found> = found.iter().map(|f| (f.path(), f)).collect();
    let mut report = VerifyReport::default();
    let mut to_hash: Vec<(&str, u64, &str)> = Vec::new();
    for a in manifest.artifacts() {
        report.checked += 1;
        match (a, on_disk.get(a.path())) {
            (_, None) => report.missing.push(a.path().to_string()),
            (
                Artifact::File {
                    path,
                    bytes,
                    blake3,
                },
                Some(Found::File { bytes: now, .. }),
            ) => {
                if now != bytes {
                    report
                        .changed
                        .push((path.clone(), format!("size {bytes} -> {now}")));
                } else {
                    to_hash.push((path.as_str(), *bytes, blake3.as_str()));
                }
            }
            (Artifact::Link { path, link }, Some(Found::Link { target, .. })) => {
                if link != target {
                    report
                        .changed
                        .push((path.clone(), format!("link {link} -> {target}")));
                }
            }
            (Artifact::File { path, .. }, Some(Found::Link { .. })) => report
                .changed
                .push((path.clone(), "was a file, is a symlink".into())),
            (Artifact::Link { path, .. }, Some(Found::File { .. })) => report
                .changed
                .push((path.clone(), "was a symlink, is a file".into())),
        }
    }
    let recorded: std::collections::BTreeSet<&str> =
        manifest.artifacts().map(|a| a.path()).collect();
    report.extra = found
        .iter()
        .map(|f| f.path())
        .filter(|p| !recorded.contains(p))
        .map(str::to_string)
        .collect();
    let files: Vec<(&str, u64)> = to_hash.iter().map(|(p, b, _)| (*p, *b)).collect();
    progress.total.store(
        files.iter().map(|(_, b)| b).sum(),
        std::sync::atomic::Ordering::Relaxed,
    );
    let hashes = archive_manifest::hash_files(&run.path, &files, progress)?;
    if hashes.len() != to_hash.len() {
        return Err(Error::usage(
            format!(
                "internal error: {} of {} files were hashed; verify cannot say the run is clean",
                hashes.len(),
                to_hash.len()
            ),
            Some("this is a bug in rk: please report it".into()),
        ));
    }
    for ((path, _, want), got) in to_hash.iter().zip(hashes) {
        match got {
            Ok(h) if h == *want => {}
            Ok(_) => report
                .changed
                .push((path.to_string(), "content differs".into())),
            Err(e) => report.changed.push((path.to_string(), e.to_string())),
        }
    }
    report.changed.sort();
    Ok(report)
}
