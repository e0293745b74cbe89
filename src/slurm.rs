//! Slurm, as rk drives it: `sbatch` to submit a run's orchestrator as a
//! batch job, `squeue` to ask what became of it, `sacct` for a job the
//! controller has forgotten (where accounting storage exists), `scancel` to
//! stop it. rk runs no daemon of its own: the scheduler is the truth about
//! whether a run's job is queued, running or over.
//!
//! The one idea: every call is one process of Slurm's own client, and every
//! failure becomes one typed [`Error`] naming the command and what it said —
//! a missing binary, a submission the controller refused (exit 2), or a
//! controller that cannot be reached (exit 4). Nothing here knows about run
//! states; callers decide what a job's fate means for a run.
//!
//! The dispatch argv reaches the job exactly: `sbatch` runs a fixed batch
//! script ([`BATCH_SCRIPT`], `exec "$@"`) and the argv follows the script's
//! path as its arguments, so no shell string is ever built from config
//! values. Times are asked for in UTC (`TZ=UTC`), since Slurm's clients print
//! local time without a zone, and in Slurm's standard form
//! (`SLURM_TIME_FORMAT=standard`), whatever format the user chose for their
//! own use of `squeue` and `sacct`.

use crate::exit::{Diagnostic, Exit};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The batch script rk submits: it replaces itself with the argv it is
/// given, so the orchestrator runs exactly as `dispatch.command` says.
pub const BATCH_SCRIPT: &str = "#!/bin/sh\n\
# rk's Slurm batch script: runs the dispatch argv given as its arguments,\n\
# unchanged (no shell string is built from them).\n\
exec \"$@\"\n";

/// A Slurm job id, as `sbatch --parsable` prints it (the cluster suffix dropped).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(String);

impl JobId {
    /// A job id: digits, optionally `_` and an array index.
    pub fn parse(text: &str) -> Option<JobId> {
        let text = text.trim();
        let ok = !text.is_empty()
            && text.len() <= 32
            && text.chars().next().is_some_and(|c| c.is_ascii_digit())
            && text.chars().all(|c| c.is_ascii_digit() || c == '_');
        ok.then(|| JobId(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a Slurm command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command is not installed (or not on `PATH`).
    #[error("`{command}` cannot be run: {source}")]
    Missing {
        command: String,
        #[source]
        source: std::io::Error,
    },
    /// The controller answered and refused the request (a bad partition, a
    /// time limit over the partition's, an unknown option).
    #[error("`{command}` refused: {message}")]
    Refused { command: String, message: String },
    /// The controller (or munge, its authentication) cannot be reached; for
    /// `sacct`, accounting storage (slurmdbd).
    #[error("`{command}` cannot reach {}: {message}", reaches(.command))]
    Unreachable { command: String, message: String },
    /// The command said something rk cannot read.
    #[error("`{command}` answered in a way rk cannot read: {message}")]
    Unreadable { command: String, message: String },
}

/// What `command` talks to: `sacct` reads accounting storage through
/// slurmdbd; the other clients talk to the controller.
fn reaches(command: &str) -> &'static str {
    if command == "sacct" {
        "Slurm's accounting storage (slurmdbd)"
    } else {
        "the Slurm controller"
    }
}

impl Diagnostic for Error {
    fn exit(&self) -> Exit {
        match self {
            Error::Missing { .. } | Error::Refused { .. } => Exit::Usage,
            Error::Unreachable { .. } | Error::Unreadable { .. } => Exit::Busy,
        }
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            Error::Missing { .. } => "install Slurm's client commands (Debian: slurm-client) on this machine, or set `dispatch.via: local` in rk.yaml".into(),
            Error::Refused { .. } => "check `dispatch.slurm.args` in rk.yaml against the cluster (`sinfo` lists its partitions); nothing was recorded as dispatched".into(),
            Error::Unreachable { command, .. } if command == "sacct" => "check that slurmdbd is up (`sacctmgr show cluster`), then try again".into(),
            Error::Unreachable { .. } => "check that slurmctld and munged are up (`sinfo`, `scontrol ping`), then try again; nothing was recorded as dispatched".into(),
            Error::Unreadable { .. } => "look at the job with `squeue --me`; if it was submitted, `scancel` it before trying again".into(),
        })
    }
}

/// What `sbatch` is asked to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    /// `--job-name`.
    pub job_name: String,
    /// `--chdir`: the project root.
    pub workdir: PathBuf,
    /// `--output` (and so stderr too), with `%j` for the job id.
    pub output: PathBuf,
    /// `dispatch.slurm.args`, placed before the script.
    pub extra_args: Vec<String>,
    /// The batch script ([`BATCH_SCRIPT`]) on disk.
    pub script: PathBuf,
    /// The dispatch argv, given to the script as its arguments.
    pub argv: Vec<String>,
}

impl Submission {
    /// The exact `sbatch` command line.
    pub fn command_line(&self) -> Vec<OsString> {
        let mut line: Vec<OsString> = vec!["sbatch".into(), "--parsable".into()];
        line.push(format!("--job-name={}", self.job_name).into());
        let mut chdir = OsString::from("--chdir=");
        chdir.push(&self.workdir);
        line.push(chdir);
        let mut output = OsString::from("--output=");
        output.push(&self.output);
        line.push(output);
        line.extend(self.extra_args.iter().map(OsString::from));
        line.push(self.script.clone().into());
        line.extend(self.argv.iter().map(OsString::from));
        line
    }
}

/// Submit; the job id `sbatch --parsable` printed.
pub fn submit(submission: &Submission) -> Result<JobId, Error> {
    let line = submission.command_line();
    let stdout = run(&line)?;
    let first = stdout.lines().next().unwrap_or("");
    JobId::parse(first.split(';').next().unwrap_or("")).ok_or_else(|| Error::Unreadable {
        command: "sbatch".into(),
        message: format!("expected a job id, got {:?}", stdout.trim()),
    })
}

/// Where a job is in its life, as far as rk needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for resources, held, or requeued.
    Queued,
    /// Started and not yet over (running, suspended, completing…).
    Running,
    /// Over: its exit code and end time are final.
    Ended,
}

/// A job as the scheduler describes it. Times are RFC 3339 UTC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    /// Slurm's state word: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED…
    pub state: String,
    /// The node(s) it runs or ran on; `None` before it starts.
    pub node: Option<String>,
    pub submitted_at: Option<String>,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    /// The batch script's exit code (128+N for a signal N); `None` until it ends.
    pub exit_code: Option<i64>,
    /// Why it waits (Slurm's reason), when it does.
    pub reason: Option<String>,
}

impl Job {
    /// Slurm's states sorted into the three rk cares about. A state rk does
    /// not know counts as running, so nothing is dispatched beside it.
    pub fn phase(&self) -> Phase {
        match self.state.as_str() {
            "PENDING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" | "RESV_DEL_HOLD"
            | "SPECIAL_EXIT" => Phase::Queued,
            "COMPLETED" | "CANCELLED" | "FAILED" | "TIMEOUT" | "PREEMPTED" | "NODE_FAIL"
            | "BOOT_FAIL" | "DEADLINE" | "OUT_OF_MEMORY" | "REVOKED" => Phase::Ended,
            _ => Phase::Running,
        }
    }
}

/// What the scheduler knows of one job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Known(Job),
    /// Neither the controller nor accounting knows the job any more.
    Forgotten,
}

/// `squeue`'s fields, in this order, `|`-separated; the free-text reason last.
const FIELDS: &str =
    "JobID:|,State:|,NodeList:|,SubmitTime:|,StartTime:|,EndTime:|,exit_code:|,Reason:";

/// Ask the controller about `ids` in one `squeue` call. A job it no longer
/// knows is asked of `sacct` (one more call, only then); without accounting
/// storage it is [`Lookup::Forgotten`].
pub fn lookup(ids: &[JobId]) -> Result<Vec<(JobId, Lookup)>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = ids.iter().map(JobId::as_str).collect::<Vec<_>>().join(",");
    let line: Vec<OsString> = [
        "squeue",
        "--noheader",
        "--states=all",
        "--jobs",
        &list,
        "--Format",
        FIELDS,
    ]
    .iter()
    .map(OsString::from)
    .collect();
    let known: Vec<Job> = match run(&line) {
        Ok(out) => out.lines().filter_map(parse_squeue_line).collect(),
        // Asked about one job it no longer knows, squeue says so and fails.
        Err(Error::Refused { message, .. }) if message.contains("Invalid job id") => Vec::new(),
        Err(e) => return Err(e),
    };
    ids.iter()
        .map(|id| {
            let found = known.iter().find(|j| &j.id == id).cloned();
            let lookup = match found {
                Some(job) => Lookup::Known(job),
                None => accounting(id)?.map_or(Lookup::Forgotten, Lookup::Known),
            };
            Ok((id.clone(), lookup))
        })
        .collect()
}

/// A job from accounting storage (`sacct`); `None` when there is no
/// accounting storage or it does not know the job either.
fn accounting(id: &JobId) -> Result<Option<Job>, Error> {
    let line: Vec<OsString> = [
        "sacct",
        "--noheader",
        "--parsable2",
        "--allocations",
        "--jobs",
        id.as_str(),
        "--format=JobID,State,NodeList,Submit,Start,End,ExitCode",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    let out = match run(&line) {
        Ok(out) => out,
        Err(Error::Missing { .. }) => return Ok(None),
        Err(Error::Refused { message, .. })
            if message.contains("accounting storage is disabled") =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    Ok(out.lines().find_map(|l| parse_sacct_line(id, l)))
}

/// One line of `sacct --parsable2` (JobID|State|NodeList|Submit|Start|End|ExitCode)
/// for job `id`.
fn parse_sacct_line(id: &JobId, line: &str) -> Option<Job> {
    let f: Vec<&str> = line.split('|').collect();
    if f.len() < 7 || JobId::parse(f[0]).as_ref() != Some(id) {
        return None;
    }
    // sacct: "CANCELLED by 0"; ExitCode "code:signal".
    let state = f[1].split_whitespace().next().unwrap_or("").to_string();
    let (code, signal) = f[6].split_once(':').unwrap_or((f[6], "0"));
    let exit = match (code.parse::<i64>(), signal.parse::<i64>()) {
        (Ok(c), Ok(s)) => Some(if s > 0 { 128 + s } else { c }),
        _ => None,
    };
    let job = Job {
        id: id.clone(),
        node: field(f[2]),
        submitted_at: time(f[3]),
        started_at: time(f[4]),
        ended_at: time(f[5]),
        exit_code: None,
        reason: None,
        state,
    };
    let exit_code = (job.phase() == Phase::Ended)
        .then_some(exit)
        .flatten()
        .map(|c| settled(&job.state, c));
    Some(never_started(Job { exit_code, ..job }))
}

/// A job that ended without ever being given a node (cancelled while
/// pending) never started, though Slurm reports its end as its start.
fn never_started(job: Job) -> Job {
    if job.phase() == Phase::Ended && job.node.is_none() {
        Job {
            started_at: None,
            ..job
        }
    } else {
        job
    }
}

/// Cancel a job (`scancel`).
pub fn cancel(id: &JobId) -> Result<(), Error> {
    run(&["scancel".into(), id.as_str().into()]).map(|_| ())
}

fn parse_squeue_line(line: &str) -> Option<Job> {
    let f: Vec<&str> = line.splitn(8, '|').collect();
    if f.len() < 8 {
        return None;
    }
    let id = JobId::parse(f[0])?;
    let state = f[1].trim().to_string();
    let mut job = Job {
        id,
        node: field(f[2]),
        submitted_at: time(f[3]),
        started_at: time(f[4]),
        ended_at: time(f[5]),
        exit_code: None,
        reason: field(f[7]),
        state,
    };
    match job.phase() {
        Phase::Ended => {
            // squeue's exit_code is the raw wait status of the batch script.
            job.exit_code = f[6].trim().parse::<i64>().ok().map(|raw| {
                let signal = raw & 0x7f;
                let code = if signal > 0 {
                    128 + signal
                } else {
                    (raw >> 8) & 0xff
                };
                settled(&job.state, code)
            });
        }
        Phase::Queued => {
            // A pending job's start and end times are the scheduler's guesses.
            job.started_at = None;
            job.ended_at = None;
        }
        Phase::Running => job.ended_at = None,
    }
    if job.reason.as_deref() == Some("None") {
        job.reason = None;
    }
    Some(never_started(job))
}

/// A job that did not complete never reports success: Slurm gives 0 for a
/// job cancelled before it started, a node failure or a time-out.
fn settled(state: &str, code: i64) -> i64 {
    if code == 0 && state != "COMPLETED" {
        1
    } else {
        code
    }
}

fn field(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty() && t != "(null)" && t != "N/A" && t != "None assigned").then(|| t.to_string())
}

/// Slurm's `YYYY-MM-DDTHH:MM:SS` (asked for in UTC) as rk's RFC 3339 form.
fn time(text: &str) -> Option<String> {
    let t = text.trim();
    let b = t.as_bytes();
    let shaped = b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        });
    shaped.then(|| format!("{t}.000000Z"))
}

/// Run one Slurm client command; its stdout, or the typed failure.
fn run(line: &[OsString]) -> Result<String, Error> {
    let command = line[0].to_string_lossy().into_owned();
    let output = Command::new(&line[0])
        .args(&line[1..])
        .env("TZ", "UTC")
        .env("SLURM_TIME_FORMAT", "standard")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Missing {
            command: command.clone(),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut message = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if message.is_empty() {
        message = match output.status.code() {
            Some(code) => format!("exited {code} without a message"),
            None => "killed by a signal".into(),
        };
    }
    Err(if unreachable(&message) {
        Error::Unreachable { command, message }
    } else {
        Error::Refused { command, message }
    })
}

/// Messages Slurm's clients print when the controller (or munge) is away.
fn unreachable(message: &str) -> bool {
    const SIGNS: [&str; 9] = [
        "Unable to contact slurm controller",
        "Socket timed out",
        "Connection refused",
        "Communication connection failure",
        "Zero Bytes were transmitted",
        "Protocol authentication error",
        "Munge",
        "Could not establish a configuration source",
        "Unable to establish controller",
    ];
    SIGNS.iter().any(|s| message.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids() {
        assert_eq!(JobId::parse("123\n").unwrap().as_str(), "123");
        assert_eq!(JobId::parse("7_2").unwrap().as_str(), "7_2");
        assert!(JobId::parse("").is_none());
        assert!(JobId::parse("12;x").is_none());
        assert!(JobId::parse("_1").is_none());
    }

    #[test]
    fn squeue_lines() {
        let ended = parse_squeue_line(
            "1|FAILED|vm|2026-11-30T16:36:22|2026-11-30T16:36:23|2026-11-30T16:36:24|768|NonZeroExitCode",
        )
        .unwrap();
        assert_eq!(ended.phase(), Phase::Ended);
        assert_eq!(ended.exit_code, Some(3));
        assert_eq!(
            ended.ended_at.as_deref(),
            Some("2026-11-30T16:36:24.000000Z")
        );
        let killed = parse_squeue_line(
            "2|CANCELLED|vm|2026-11-30T16:36:22|2026-11-30T16:36:23|2026-11-30T16:36:24|15|None",
        )
        .unwrap();
        assert_eq!(killed.exit_code, Some(143));
        assert_eq!(killed.reason, None);
        let never_ran =
            parse_squeue_line("3|CANCELLED||2026-11-30T16:36:22|N/A|2026-11-30T16:36:24|0|None")
                .unwrap();
        assert_eq!(never_ran.exit_code, Some(1));
        let pending = parse_squeue_line(
            "4|PENDING||2026-11-30T16:36:22|2027-01-01T00:00:00|Unknown|0|JobHeldUser",
        )
        .unwrap();
        assert_eq!(pending.phase(), Phase::Queued);
        assert_eq!(
            (pending.node, pending.started_at, pending.exit_code),
            (None, None, None)
        );
        assert_eq!(pending.reason.as_deref(), Some("JobHeldUser"));
        assert!(parse_squeue_line("garbage").is_none());
    }

    /// A job cancelled while pending: real squeue (Slurm 22.05) gives its
    /// cancel time as its start; it never started.
    #[test]
    fn a_job_cancelled_while_pending_has_no_start() {
        let job = parse_squeue_line(
            "519|CANCELLED||2026-11-30T21:28:17|2026-11-30T21:28:20|2026-11-30T21:28:20|0|JobHeldUser",
        )
        .unwrap();
        assert_eq!((job.phase(), job.exit_code), (Phase::Ended, Some(1)));
        assert_eq!((job.node, job.started_at), (None, None));
        assert_eq!(job.ended_at.as_deref(), Some("2026-11-30T21:28:20.000000Z"));
    }

    /// Lines a real sacct (Slurm 22.05, `.ci/slurm up`) printed.
    #[test]
    fn sacct_lines() {
        let id = |s: &str| JobId::parse(s).unwrap();
        let line = |i: &str, l: &str| parse_sacct_line(&id(i), l).unwrap();
        let done = line(
            "516",
            "516|COMPLETED|vm|2026-11-30T21:28:17|2026-11-30T21:28:18|2026-11-30T21:28:19|0:0",
        );
        assert_eq!((done.phase(), done.exit_code), (Phase::Ended, Some(0)));
        assert_eq!(done.node.as_deref(), Some("vm"));
        assert_eq!(
            done.ended_at.as_deref(),
            Some("2026-11-30T21:28:19.000000Z")
        );
        let failed = line(
            "517",
            "517|FAILED|vm|2026-11-30T21:28:17|2026-11-30T21:28:18|2026-11-30T21:28:19|7:0",
        );
        assert_eq!(failed.exit_code, Some(7));
        let killed = line(
            "518",
            "518|FAILED|vm|2026-11-30T21:28:17|2026-11-30T21:28:21|2026-11-30T21:28:22|0:9",
        );
        assert_eq!(killed.exit_code, Some(137));
        let cancelled = line(
            "519",
            "519|CANCELLED by 0|None assigned|2026-11-30T21:28:17|2026-11-30T21:28:20|2026-11-30T21:28:20|0:0",
        );
        assert_eq!(cancelled.state, "CANCELLED");
        assert_eq!(cancelled.started_at, None, "it never started");
        assert_eq!(
            (cancelled.phase(), cancelled.exit_code, cancelled.node),
            (Phase::Ended, Some(1), None)
        );
        let running = line(
            "520",
            "520|RUNNING|vm|2026-11-30T21:28:17|2026-11-30T21:28:18|Unknown|0:0",
        );
        assert_eq!(
            (running.phase(), running.exit_code, running.ended_at),
            (Phase::Running, None, None)
        );
        // Another job's line, or a step's, is not this job.
        assert!(parse_sacct_line(&id("52"), "520|RUNNING|vm|||Unknown|0:0").is_none());
        assert!(parse_sacct_line(&id("520"), "520.batch|RUNNING|vm|||Unknown|0:0").is_none());
    }

    #[test]
    fn the_command_line_keeps_every_word() {
        let s = Submission {
            job_name: "rk-r1".into(),
            workdir: "/p".into(),
            output: "/p/experiments/run_r1/slurm-%j.out".into(),
            extra_args: vec!["--partition=gpu".into()],
            script: "/p/experiments/run_r1/.rk/slurm-job.sh".into(),
            argv: vec!["python".into(), "$(touch x)".into(), "a b".into()],
        };
        let line: Vec<String> = s
            .command_line()
            .iter()
            .map(|w| w.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            line,
            [
                "sbatch",
                "--parsable",
                "--job-name=rk-r1",
                "--chdir=/p",
                "--output=/p/experiments/run_r1/slurm-%j.out",
                "--partition=gpu",
                "/p/experiments/run_r1/.rk/slurm-job.sh",
                "python",
                "$(touch x)",
                "a b"
            ]
        );
    }
}
