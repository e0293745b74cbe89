//! `rk demo`: a self-contained sample project and a walk through it.
//!
//! The project is made the way a real one comes to be: each run is started
//! with a recorded config, and the simulated orchestrator (the hidden
//! `rk demo-orchestrator`, which is also the project's `dispatch` command)
//! does the work and writes `run_state.json` itself. The walk then runs the
//! real `rk` commands on it, one after another, as a person would type them.

pub mod orchestrator;

use crate::dispatch::StepRange;
use crate::error::Error;
use crate::ops::init;
use crate::project::{Project, RunDir};
use crate::store::{self, atomic};
use orchestrator::Job;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Marks a directory as made by `rk demo`, so a second demo may replace it.
pub const MARKER: &str = ".rk-demo";

const CONFIG: &str = "\
# A small evaluation: two prompting strategies over three datasets.
experiment: prompt-ablation
model:
  name: tiny-llm-7b
  temperature: 0.7
  max_tokens: 512
  lr: 3.0e-05
seed: 1234
trials:
  t0.7_control: [ds-arith, ds-logic]
  t0.7_cot: [ds-arith, ds-logic, ds-reading]
  t0.3_cot: [ds-arith]
";

/// Where the sample project keeps the config its runs start from.
const CONFIG_FILE: &str = "prompt-ablation.yaml";

/// The sample runs: id and what happened to it.
pub const RUNS: [(&str, &str); 4] = [
    ("stopped", "stopped by a STOP_REQUESTED during poll"),
    (
        "legacy",
        "made by the old Python tool set: no run_state.json, one corrupt manifest",
    ),
    ("drifted", "its config was edited after it started"),
    ("done", "completed"),
];

/// Create the sample project in `dir`. An existing `dir` is replaced only
/// when an earlier `rk demo` made it.
pub fn create(dir: &Path, rk_exe: &Path) -> Result<Project, Error> {
    if dir.exists() {
        if !dir.join(MARKER).exists() {
            return Err(Error::usage(
                format!(
                    "{} already exists and was not made by rk demo",
                    dir.display()
                ),
                Some("name a new directory: rk demo DIR".into()),
            ));
        }
        std::fs::remove_dir_all(dir).map_err(|e| store::io_err(dir, e))?;
    }
    crate::store::atomic::create_dir_all(&dir.join("experiments"))
        .map_err(|e| store::io_err(dir, e))?;
    write(&dir.join(MARKER), "made by `rk demo`; safe to delete\n")?;
    let exe = rk_exe.display().to_string();
    write(
        &dir.join("rk.yaml"),
        &format!(
            "# rk's project file. Everything not set here keeps the Python tool set's default.\n\
             dispatch:\n  plan: rk\n  command: [{exe:?}, demo-orchestrator, --run-dir, \"{{run_dir}}\", --config, \"{{config}}\", --run_id, \"{{run_id}}\", --delay-ms, \"25\"]\n"
        ),
    )?;
    write(&dir.join(CONFIG_FILE), CONFIG)?;
    let project = Project::open(dir.to_path_buf())?;
    let quiet = &mut std::io::sink();

    let stopped = start_run(&project, "stopped")?;
    simulate(&project, &stopped, Some(to("submit")), quiet)?;
    write(
        &stopped.path.join("STOP_REQUESTED"),
        "2025-09-02T23:10:00.000000Z\n",
    )?;
    simulate(
        &project,
        &stopped,
        Some(StepRange::Only("poll".into())),
        quiet,
    )?;

    let drifted = start_run(&project, "drifted")?;
    simulate(&project, &drifted, Some(to("parse")), quiet)?;
    let edited = CONFIG
        .replace("temperature: 0.7", "temperature: 0.9")
        .replace("seed: 1234", "seed: 4321");
    write(&drifted.path.join(&project.settings.config_file), &edited)?;

    let done = start_run(&project, "done")?;
    simulate(&project, &done, None, quiet)?;

    let legacy = start_run(&project, "legacy")?;
    simulate(&project, &legacy, Some(to("parse")), quiet)?;
    for leftover in [project.settings.state_file.as_str(), ".rk"] {
        let path = legacy.path.join(leftover);
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| store::io_err(&path, e))?;
    }
    write(
        &legacy.path.join("t0.3_cot/results/trial_manifest.json"),
        "{\"run_id\": \"legacy\", \"datasets\": {\"t0.3_cot\": [\"ds-ar",
    )?;
    Ok(project)
}

fn to(step: &str) -> StepRange {
    StepRange::Range {
        from: None,
        to: Some(step.into()),
    }
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    atomic::write_atomic(path, text.as_bytes(), atomic::FILE_MODE)
        .map_err(|e| store::io_err(path, e).into())
}

/// A new run started from the project's config, as `rk init` makes it.
fn start_run(project: &Project, rid: &str) -> Result<RunDir, Error> {
    let request = init::Request {
        config: project.root.join(CONFIG_FILE),
        phases: None,
    };
    Ok(init::init(project, rid, &request)?.run)
}

fn simulate(
    project: &Project,
    run: &RunDir,
    steps: Option<StepRange>,
    log: &mut dyn Write,
) -> Result<(), Error> {
    let job = Job {
        run_dir: run.path.clone(),
        run_id: run.rid.clone(),
        steps,
        delay: Duration::ZERO,
        fail_at: None,
    };
    orchestrator::run(&job, &project.settings, log)
        .map_err(|e| Error::usage(format!("demo orchestrator: {e}"), None))?;
    Ok(())
}

/// One step of the walk: what it shows and the rk arguments.
pub struct Step {
    pub says: &'static str,
    pub args: &'static [&'static str],
}

/// The walk through the sample project.
pub const WALK: &[Step] = &[
    Step { says: "Every run of the project, and how each stands:", args: &["list"] },
    Step { says: "Where the stopped run stands, and what to type next:", args: &["status", "stopped"] },
    Step { says: "What resuming it would run, exactly (nothing is written; the tour below runs it):", args: &["resume", "stopped", "--dry-run"] },
    Step { says: "The drifted run's config was edited after it started; resume refuses and shows the diff:", args: &["resume", "drifted"] },
    Step { says: "The same diff, on its own, or as the changed keys only:", args: &["diff-config", "--keys", "drifted@recorded", "drifted"] },
    Step { says: "The legacy run has no state; migrate infers one from the files (dry run first):", args: &["migrate", "legacy", "--dry-run"] },
];

/// Run the walk: each step's command line, then its output, in `dir`.
pub fn walk(dir: &Path, rk_exe: &Path, out: &mut dyn Write) -> Result<(), Error> {
    for step in WALK {
        writeln!(out, "\n# {}\n$ rk {}", step.says, step.args.join(" "))?;
        out.flush()?;
        let status = Command::new(rk_exe)
            .args(step.args)
            .current_dir(dir)
            .env_remove("RK_PROJECT")
            .status()
            .map_err(|e| Error::usage(format!("cannot run {}: {e}", rk_exe.display()), None))?;
        if let Some(code) = status.code().filter(|c| *c != 0) {
            writeln!(out, "[exit status {code}]")?;
        }
    }
    Ok(())
}

/// What to type next, after the walk.
pub fn next_steps(dir: &Path) -> String {
    let shown = dir.display();
    format!(
        "\n# Your turn: the README's tour starts here (rk must be on your PATH:\n\
         # `cargo install --locked --path .` in rk's clone puts it there).\n\
         cd {shown}\n\
         rk resume stopped             # dispatch the orchestrator where the run stopped\n\
         rk resume drifted --force     # accept the edited config (recorded in config_drift) and go on\n\
         rk migrate legacy             # bring the legacy run under rk's care, then `rk resume legacy`\n\
         rk archive done && rk verify done\n\
         rk log stopped                # every snapshot rk recorded\n"
    )
}

/// The default demo directory.
pub fn default_dir() -> PathBuf {
    PathBuf::from("rk-demo")
}
