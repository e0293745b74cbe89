//! A simulated orchestrator, run by the demo project's `dispatch` command as
//! the hidden `rk demo-orchestrator`. It behaves like the Python tool set's
//! `scripts.run_all`: it walks the phases it is asked for, writes trial files
//! and manifests, and writes `run_state.json` itself under `.state.lock`, as a
//! real orchestrator would, behind rk's back. It honours `STOP_REQUESTED`
//! between trials and can be interrupted at any instant.

use crate::clock;
use crate::dispatch::StepRange;
use crate::project::Settings;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What the orchestrator was asked to do.
pub struct Job {
    pub run_dir: PathBuf,
    pub run_id: String,
    pub steps: Option<StepRange>,
    /// Pause per trial and phase, so a person can watch or interrupt it.
    pub delay: Duration,
    /// Fail (exit 1, phase `failed`) when reaching this phase.
    pub fail_at: Option<String>,
}

/// Why the orchestrator stopped early.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Run the job; returns the exit code a real orchestrator would.
pub fn run(job: &Job, settings: &Settings, log: &mut dyn Write) -> Result<i32, Error> {
    let state_path = job.run_dir.join(&settings.state_file);
    let mut state = read_state(&state_path, &job.run_id)?;
    let phases = &settings.phases;
    let steps = job.steps.clone().unwrap_or_else(|| StepRange::Range {
        from: phases
            .iter()
            .find(|p| phase_status(&state, p) != "completed")
            .cloned(),
        to: None,
    });
    let todo: Vec<String> = steps.phases(phases).to_vec();
    let trials = trial_plan(&job.run_dir, &settings.config_file)?;
    for phase in &todo {
        set_phase(&mut state, phase, "in_progress");
        write_state(job, settings, &state)?;
        let _ = writeln!(log, "[orchestrator] {phase}: {} trials", trials.len());
        if job.fail_at.as_deref() == Some(phase.as_str()) {
            set_phase(&mut state, phase, "failed");
            state["phases"][phase]["last_error"] = json!(format!("simulated failure in {phase}"));
            write_state(job, settings, &state)?;
            let _ = writeln!(log, "[orchestrator] {phase} failed (simulated)");
            return Ok(1);
        }
        for (slug, datasets) in &trials {
            if job.run_dir.join("STOP_REQUESTED").exists() {
                set_phase(&mut state, phase, "stopped");
                state["stop_requested"] = json!(true);
                write_state(job, settings, &state)?;
                let _ = writeln!(log, "[orchestrator] stop requested: stopped in {phase}");
                return Ok(0);
            }
            work(&job.run_dir, &job.run_id, phase, slug, datasets)?;
            std::thread::sleep(job.delay);
        }
        set_phase(&mut state, phase, "completed");
        write_state(job, settings, &state)?;
    }
    let _ = writeln!(log, "[orchestrator] done");
    Ok(0)
}

/// Trials and their dataset ids, from the config's `trials:` mapping.
pub fn trial_plan(run_dir: &Path, config_file: &str) -> Result<Vec<(String, Vec<String>)>, Error> {
    let path = run_dir.join(config_file);
    let doc = crate::canon::load_file(&path, None).map_err(|e| Error::Invalid(e.to_string()))?;
    let Some(crate::canon::Value::Object(trials)) = doc.value.get("trials") else {
        return Ok(Vec::new());
    };
    Ok(trials
        .iter()
        .map(|(slug, ids)| {
            let ids = match ids {
                crate::canon::Value::Array(items) => items
                    .iter()
                    .map(|v| match v {
                        crate::canon::Value::String(s) => s.clone(),
                        other => String::from_utf8_lossy(&crate::canon::canonical_bytes(other))
                            .into_owned(),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            (slug.clone(), ids)
        })
        .collect())
}

fn read_state(path: &Path, run_id: &str) -> Result<Value, Error> {
    match std::fs::read(path) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(state @ Value::Object(_)) => Ok(state),
            Ok(_) => Err(Error::Invalid(format!(
                "{}: not a JSON object",
                path.display()
            ))),
            Err(e) => Err(Error::Invalid(format!("{}: {e}", path.display()))),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(json!({
            "schema_version": 1, "run_id": run_id, "phases": {},
            "last_checkpoint": null, "stop_requested": false,
        })),
        Err(e) => Err(io(path)(e)),
    }
}

fn phase_status<'a>(state: &'a Value, phase: &str) -> &'a str {
    state["phases"][phase]["status"]
        .as_str()
        .unwrap_or("not_started")
}

fn set_phase(state: &mut Value, phase: &str, status: &str) {
    let now = clock::now().to_string();
    if !state["phases"].is_object() {
        state["phases"] = json!({});
    }
    let entry = state["phases"]
        .as_object_mut()
        .expect("phases is an object")
        .entry(phase)
        .or_insert_with(|| json!({"status": "not_started", "started_at": null, "updated_at": null, "last_error": null}));
    if status == "in_progress" {
        entry["started_at"] = json!(now);
    }
    entry["status"] = json!(status);
    entry["updated_at"] = json!(now);
    state["last_checkpoint"] = json!(format!("{phase}:{status}"));
}

/// Write the state file as the Python orchestrator does: under `.state.lock`,
/// to a temp file renamed over the old one.
fn write_state(job: &Job, settings: &Settings, state: &Value) -> Result<(), Error> {
    let lock_path = job.run_dir.join(&settings.state_lock);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io(&lock_path))?;
    lock.lock().map_err(io(&lock_path))?;
    let mut bytes = serde_json::to_vec_pretty(state).expect("a JSON value serializes");
    bytes.push(b'\n');
    write_file(&job.run_dir.join(&settings.state_file), &bytes)?;
    drop(lock);
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    crate::store::atomic::write_atomic(path, bytes, 0o644)
        .map_err(|e| Error::Invalid(e.to_string()))
}

fn parts(slug: &str, datasets: &[String]) -> Vec<String> {
    (1..=datasets.len())
        .map(|i| format!("{slug}_p{i:02}"))
        .collect()
}

/// One phase's work on one trial: the files the evidence rules look for.
fn work(
    run_dir: &Path,
    run_id: &str,
    phase: &str,
    slug: &str,
    datasets: &[String],
) -> Result<(), Error> {
    let trial = run_dir.join(slug);
    let manifest_path = trial.join("results/trial_manifest.json");
    let mut manifest: Value = std::fs::read(&manifest_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| {
            let mut m = Map::new();
            m.insert("schema_version".into(), json!(2));
            m.insert("run_id".into(), json!(run_id));
            m.insert("datasets".into(), json!({ slug: datasets }));
            m.insert("jobs".into(), json!({}));
            m.insert("job_status".into(), json!({}));
            m.insert("stage_status".into(), json!({}));
            m.insert(
                "timestamps".into(),
                json!({"created": clock::now().to_string()}),
            );
            Value::Object(m)
        });
    let now = clock::now().to_string();
    let mut stage: Option<(&str, &str)> = None;
    let mut files: Vec<(String, String)> = Vec::new();
    match phase {
        "submit" => {
            for part in parts(slug, datasets) {
                manifest["jobs"][&part] = json!({"job_id": format!("job-{part}")});
                manifest["job_status"][&part] = json!("submitted");
            }
        }
        "poll" => {
            for part in parts(slug, datasets) {
                manifest["job_status"][&part] = json!("downloaded");
                files.push((
                    format!("results/{part}/results.jsonl"),
                    format!("{{\"part\": \"{part}\", \"ok\": true}}\n"),
                ));
            }
            stage = Some(("downloaded", "results"));
        }
        "parse" => {
            files.push((
                "results/predictions.csv".into(),
                "item,prediction\n1,A\n2,B\n".into(),
            ));
            stage = Some(("parsed", "results/predictions.csv"));
        }
        "score" => {
            files.push((
                "results/per_item_scores.csv".into(),
                "item,score\n1,1\n2,0\n".into(),
            ));
            stage = Some(("scored", "results/per_item_scores.csv"));
        }
        "stats" => {
            files.push((
                "results/significance.json".into(),
                "{\"p_value\": 0.03}\n".into(),
            ));
            stage = Some(("stats", "results/significance.json"));
        }
        "costs" => {
            files.push(("results/costs.json".into(), "{\"usd\": 1.25}\n".into()));
            stage = Some(("costs", "results/costs.json"));
        }
        "report" => {
            files.push((
                "reports/report.md".into(),
                format!("# {slug}\n\naccuracy: 0.50\n"),
            ));
            stage = Some(("report", "reports/report.md"));
        }
        _ => {}
    }
    if let Some((name, artifact)) = stage {
        manifest["stage_status"][name] =
            json!({"status": "completed", "updated_at": now, "artifacts": {"file": artifact}});
    }
    for (rel, content) in files {
        let path = trial.join(rel);
        if let Some(parent) = path.parent() {
            crate::store::atomic::create_dir_all(parent).map_err(io(parent))?;
        }
        write_file(&path, content.as_bytes())?;
    }
    if let Some(parent) = manifest_path.parent() {
        crate::store::atomic::create_dir_all(parent).map_err(io(parent))?;
    }
    let mut bytes = serde_json::to_vec_pretty(&manifest).expect("a JSON value serializes");
    bytes.push(b'\n');
    write_file(&manifest_path, &bytes)
}
