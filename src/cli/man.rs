//! Man pages generated from the clap definitions: `man/rk.1`,
//! `man/rk-<command>.1`, and `man/rk.yaml.5` for the project file. A test
//! keeps the committed pages current and checks that every page they refer
//! to exists.
//!
//! The one idea: the help text is the source. A command's doc comment becomes
//! its DESCRIPTION; an indented block in it (`  KEY   what it means`) becomes
//! a table of tagged paragraphs and a `  * item` list a list; its `Exit
//! status:` paragraph becomes EXIT STATUS, one tagged line per code. clap_mangen
//! renders the title, NAME and OPTIONS; SYNOPSIS (with every value's
//! placeholder), EXAMPLES and SEE ALSO are written here.

use clap::CommandFactory;

/// Every man page as (file name, roff bytes).
pub fn pages() -> Vec<(String, Vec<u8>)> {
    let root = super::Cli::command().disable_version_flag(true);
    let mut pages = vec![("rk.1".to_string(), render(root.clone(), "rk"))];
    for sub in root.get_subcommands() {
        if sub.is_hide_set() {
            continue;
        }
        let name = format!("rk-{}", sub.get_name());
        let page = sub
            .clone()
            .name(name.clone())
            .bin_name(format!("rk {}", sub.get_name()));
        pages.push((format!("{name}.1"), render(page, sub.get_name())));
    }
    pages.push(("rk.yaml.5".to_string(), RK_YAML_5.as_bytes().to_vec()));
    pages
}

/// The commands that have a page of their own (`help` has none: `rk help
/// CMD` is `rk CMD --help`).
fn documented(root: &clap::Command) -> Vec<String> {
    root.get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .map(|s| s.get_name().to_string())
        .collect()
}

fn render(cmd: clap::Command, short: &str) -> Vec<u8> {
    let man = clap_mangen::Man::new(cmd.clone()).date("");
    let mut out = Vec::new();
    let part = |out: &mut Vec<u8>, f: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| {
        f(out).expect("rendering to a Vec cannot fail")
    };
    part(&mut out, &|o| man.render_title(o));
    part(&mut out, &|o| man.render_name_section(o));
    let mut text = String::new();
    synopsis(&cmd, &mut text);
    let long = cmd
        .get_long_about()
        .or(cmd.get_about())
        .map(|s| s.to_string())
        .unwrap_or_default();
    let (description, exit_status) = split_exit_status(&long);
    let (description, environment) = split_environment(&description);
    text.push_str(".SH DESCRIPTION\n");
    body(&description, &mut text);
    out.extend_from_slice(text.as_bytes());
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        part(&mut out, &|o| man.render_options_section(o));
    }
    let mut text = String::new();
    let root = super::Cli::command();
    if short == "rk" {
        text.push_str(".SH COMMANDS\n");
        for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
            let name = sub.get_name();
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            if name == "help" {
                text.push_str(&format!(
                    ".TP\n\\fBrk help\\fR \\fICOMMAND\\fR\n{}\n",
                    escape("The help of a command (the same as rk COMMAND --help).")
                ));
            } else {
                text.push_str(&format!(
                    ".TP\n\\fBrk\\-{}\\fR(1)\n{}\n",
                    escape(name),
                    escape(about.trim_end_matches('.'))
                ));
            }
        }
    }
    if let Some(codes) = exit_status {
        text.push_str(".SH EXIT STATUS\n");
        for (code, meaning) in codes {
            text.push_str(&format!(
                ".TP\n.B {}\n{}\n",
                escape(&code),
                escape(&meaning)
            ));
        }
    }
    if let Some(environment) = environment {
        text.push_str(".SH ENVIRONMENT\n");
        for (name, what) in environment {
            text.push_str(&format!(".TP\n.B {}\n{}\n", escape(&name), escape(&what)));
        }
    }
    if short == "rk" {
        text.push_str(FILES);
    }
    let examples = examples(short);
    if !examples.is_empty() {
        text.push_str(".SH EXAMPLES\n");
        for (what, command) in examples {
            text.push_str(&format!(
                ".PP\n{}\n.PP\n.RS 4\n.nf\n{}\n.fi\n.RE\n",
                escape(what),
                escape(command)
            ));
        }
    }
    text.push_str(".SH SEE ALSO\n");
    let mut refs: Vec<String> = Vec::new();
    if short == "rk" {
        refs.extend(
            documented(&root)
                .iter()
                .map(|n| format!("\\fBrk\\-{}\\fR(1)", escape(n))),
        );
        refs.push("\\fBrk.yaml\\fR(5)".into());
    } else {
        refs.push("\\fBrk\\fR(1)".into());
        for other in see_also(short) {
            refs.push(format!("\\fBrk\\-{}\\fR(1)", escape(other)));
        }
        if mentions_project_file(short) {
            refs.push("\\fBrk.yaml\\fR(5)".into());
        }
    }
    text.push_str(&refs.join(", "));
    text.push_str(
        "\n.PP\nIn rk's repository: docs/FORMATS.md (the files rk reads and writes), \
         docs/ORCHESTRATORS.md (the contract an orchestrator keeps), docs/ARCHITECTURE.md, \
         docs/DIFFERENCES.md, docs/SLURM.md.\n",
    );
    out.extend_from_slice(text.as_bytes());
    out
}

/// `rk list [--json] [--sort SORT]`: every option with its placeholder.
fn synopsis(cmd: &clap::Command, text: &mut String) {
    let name = cmd.get_bin_name().unwrap_or(cmd.get_name()).to_string();
    let mut line = format!("\\fB{}\\fR", escape(&name));
    for arg in cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_positional())
    {
        let id = arg.get_id().as_str();
        if id == "help" || id == "version" {
            continue;
        }
        let flag = match (arg.get_short(), arg.get_long()) {
            (_, Some(long)) => format!("\\-\\-{}", escape(long)),
            (Some(short), None) => format!("\\-{short}"),
            (None, None) => continue,
        };
        let value = if arg.get_action().takes_values() {
            let names = arg
                .get_value_names()
                .map(|v| {
                    v.iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_else(|| id.to_uppercase());
            format!(" \\fI{}\\fR", escape(&names))
        } else {
            String::new()
        };
        let repeat = matches!(arg.get_action(), clap::ArgAction::Append)
            .then_some("...")
            .unwrap_or("");
        if arg.is_required_set() {
            line.push_str(&format!(" \\fB{flag}\\fR{value}{repeat}"));
        } else {
            line.push_str(&format!(" [\\fB{flag}\\fR{value}]{repeat}"));
        }
    }
    for arg in cmd.get_positionals().filter(|a| !a.is_hide_set()) {
        let names = arg
            .get_value_names()
            .map(|v| {
                v.iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
        let many = arg.is_last_set()
            || matches!(arg.get_action(), clap::ArgAction::Append)
            || arg.get_num_args().is_some_and(|n| n.max_values() > 1);
        let mut shown = format!(
            "\\fI{}\\fR{}",
            escape(&names),
            if many { "..." } else { "" }
        );
        if arg.is_last_set() {
            shown = format!("\\-\\- {shown}");
        }
        if arg.is_required_set() {
            line.push_str(&format!(" {shown}"));
        } else {
            line.push_str(&format!(" [{shown}]"));
        }
    }
    if cmd.has_subcommands() {
        line.push_str(" \\fICOMMAND\\fR [\\fIARGS\\fR]");
    }
    text.push_str(".SH SYNOPSIS\n");
    text.push_str(&line);
    text.push('\n');
}

/// The description without its `Exit status:` paragraph, and that paragraph
/// as (code, meaning) rows.
fn split_exit_status(long: &str) -> (String, Option<Vec<(String, String)>>) {
    let mut kept = Vec::new();
    let mut codes = None;
    for paragraph in long.split("\n\n") {
        let flat = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(rest) = flat.strip_prefix("Exit status: ") {
            codes = Some(exit_rows(rest));
        } else {
            kept.push(paragraph);
        }
    }
    (kept.join("\n\n"), codes)
}

/// The description without its `Environment:` paragraph, and that paragraph
/// as (variable, meaning) rows: `Environment: A (what), B, C (what).`
fn split_environment(long: &str) -> (String, Option<Vec<(String, String)>>) {
    let mut kept = Vec::new();
    let mut rows = None;
    for paragraph in long.split("\n\n") {
        let flat = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
        let Some(rest) = flat.strip_prefix("Environment: ") else {
            kept.push(paragraph);
            continue;
        };
        let mut items = Vec::new();
        let (mut depth, mut start) = (0usize, 0usize);
        let rest = rest.trim_end_matches('.');
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    items.push(&rest[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        items.push(&rest[start..]);
        rows = Some(
            items
                .into_iter()
                .map(|item| {
                    let item = item.trim();
                    match item.split_once(" (") {
                        Some((name, what)) => (
                            name.to_string(),
                            what.strip_suffix(')').unwrap_or(what).to_string(),
                        ),
                        None => (item.to_string(), String::new()),
                    }
                })
                .collect(),
        );
    }
    (kept.join("\n\n"), rows)
}

/// `0 success; 1 a difference; …` → rows. An item that does not start with
/// a code continues the previous one.
fn exit_rows(text: &str) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = Vec::new();
    for item in text.trim_end_matches('.').split("; ") {
        let item = item.trim();
        let (head, rest) = item.split_once(' ').unwrap_or((item, ""));
        let head_trimmed = head.trim_end_matches(',');
        let is_code = head_trimmed.chars().all(|c| c.is_ascii_digit() || c == '/')
            && !head_trimmed.is_empty();
        let is_other = item.starts_with("after ") || item.starts_with("other");
        match (is_code, rows.last_mut()) {
            (true, _) => rows.push((head_trimmed.to_string(), rest.to_string())),
            (false, _) if is_other => rows.push(("other".into(), item.to_string())),
            (false, Some(last)) => {
                last.1.push_str("; ");
                last.1.push_str(item);
            }
            (false, None) => rows.push(("".into(), item.to_string())),
        }
    }
    rows
}

/// A description in roff: paragraphs filled, an indented `KEY  text` block
/// as tagged paragraphs, `* item` lines as a list, other indented blocks
/// kept as they are.
fn body(text: &str, out: &mut String) {
    for paragraph in text.split("\n\n") {
        let lines: Vec<&str> = paragraph.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.is_empty() {
            continue;
        }
        let indented = lines.iter().all(|l| l.starts_with("  "));
        if !indented {
            out.push_str(".PP\n");
            out.push_str(&escape(&lines.join("\n")));
            out.push('\n');
            continue;
        }
        if lines[0].trim_start().starts_with("* ") {
            for item in bullets(&lines) {
                out.push_str(&format!(".IP \\(bu 2\n{}\n", escape(&item)));
            }
            continue;
        }
        match table(&lines) {
            Some(rows) => {
                for (key, what) in rows {
                    out.push_str(&format!(".TP\n.B {}\n{}\n", escape(&key), escape(&what)));
                }
            }
            None => {
                out.push_str(".PP\n.RS 4\n.nf\n");
                for l in &lines {
                    out.push_str(&escape(l.trim_start()));
                    out.push('\n');
                }
                out.push_str(".fi\n.RE\n");
            }
        }
    }
}

fn bullets(lines: &[&str]) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for l in lines {
        let t = l.trim();
        match t.strip_prefix("* ") {
            Some(start) => items.push(start.to_string()),
            None => {
                if let Some(last) = items.last_mut() {
                    last.push(' ');
                    last.push_str(t);
                }
            }
        }
    }
    items
}

/// Rows of a `  KEY   what it means` block: a row starts at the block's
/// smallest indent; the key ends at the first run of two spaces; deeper
/// lines continue the row.
fn table(lines: &[&str]) -> Option<Vec<(String, String)>> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let base = lines.iter().map(|l| indent(l)).min()?;
    // A table when most rows separate key and text by a run of spaces;
    // anything else (a shell snippet) stays as it is.
    let starts: Vec<&str> = lines
        .iter()
        .filter(|l| indent(l) == base)
        .map(|l| l.trim_start())
        .collect();
    if starts.iter().filter(|l| l.contains("  ")).count() * 2 <= starts.len() {
        return None;
    }
    let mut rows: Vec<(String, String)> = Vec::new();
    for l in lines {
        if indent(l) == base {
            let t = l.trim_start();
            let (key, what) = t.split_once("  ").or_else(|| t.split_once(' '))?;
            rows.push((key.trim().to_string(), what.trim().to_string()));
        } else {
            let last = rows.last_mut()?;
            last.1.push(' ');
            last.1.push_str(l.trim());
        }
    }
    Some(rows)
}

/// Text for roff: backslashes and hyphens escaped, and a line never starts
/// with a control character.
fn escape(text: &str) -> String {
    text.lines()
        .map(|line| {
            let e = line.replace('\\', "\\e").replace('-', "\\-");
            if e.starts_with('.') || e.starts_with('\'') {
                format!("\\&{e}")
            } else {
                e
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Commands whose page sends the reader to another.
fn see_also(command: &str) -> &'static [&'static str] {
    match command {
        "resume" => &["status", "stop", "next", "gate", "diff-config", "migrate"],
        "status" => &["list", "next", "resume", "log"],
        "list" => &["status", "compare"],
        "next" => &["status"],
        "diff-config" => &["hash-config", "resume", "compare"],
        "migrate" => &["scan-trials", "status", "resume"],
        "init" => &["resume", "status"],
        "stop" => &["resume", "status"],
        "note" => &["log", "status"],
        "gate" => &["resume", "status"],
        "compare" => &["diff-config", "list"],
        "archive" => &["verify", "status"],
        "verify" => &["archive"],
        "restore" => &["fsck", "log", "read-state"],
        "demo" => &["list", "status", "resume"],
        "completions" => &[],
        "hash-config" => &["diff-config"],
        "read-state" => &["write-state", "log", "cat-object"],
        "write-state" => &["read-state", "log"],
        "scan-trials" => &["migrate", "status"],
        "cat-object" => &["log", "read-state"],
        "log" => &["read-state", "cat-object", "restore"],
        "fsck" => &["restore", "log"],
        _ => &[],
    }
}

/// Commands whose behaviour rk.yaml shapes.
fn mentions_project_file(command: &str) -> bool {
    !matches!(command, "completions" | "hash-config" | "cat-object")
}

/// What to type, per command: (what it does, the command line).
fn examples(command: &str) -> &'static [(&'static str, &'static str)] {
    match command {
        "rk" => &[
            ("Make the sample project and walk through it, then look around:", "rk demo\ncd rk-demo\nrk list\nrk status stopped"),
            ("Resume a run where it stood:", "rk resume r20250902214642"),
        ],
        "resume" => &[
            ("See exactly what would run, then run it:", "rk resume r1 --dry-run\nrk resume r1"),
            ("Only one step, or a range, in the Python tool set's spelling too:", "rk resume r1 --only-step parse\nrk resume r1 --from_step score --to_step stats"),
            ("Accept a changed config after looking at the diff:", "rk diff-config r1@recorded r1\nrk resume r1 --force"),
            ("Run another orchestrator command for once:", "rk resume r1 -- python3 tools/orch.py --run-dir {run_dir} --config {config}"),
        ],
        "status" => &[
            ("Where a run stands, as a screen or as JSON:", "rk status r1\nrk status r1 --json | jq .next_commands"),
            ("Inside a run's directory, no name is needed:", "cd experiments/run_r1 && rk status"),
        ],
        "list" => &[
            ("Every run, most recently updated first:", "rk list --sort updated"),
            ("The runs that failed, for a script:", "rk list --json | jq -r '.runs[] | select(.status == \"failed\") | .run'"),
        ],
        "next" => &[("Run whatever is owed next, after a look:", "rk next r1\neval \"$(rk next r1)\"")],
        "diff-config" => &[
            ("What changed since the run started:", "rk diff-config r1@recorded r1"),
            ("Only the changed keys, between two runs:", "rk diff-config --keys r1 r2"),
            ("A run against a file, and an older snapshot:", "rk diff-config r1 conf/base.yaml\nrk diff-config r1@HEAD~3 r1"),
        ],
        "migrate" => &[("Plan first, then write the inferred state:", "rk migrate r1 --dry-run\nrk migrate r1")],
        "init" => &[
            ("Start a run from a config:", "rk init r1 --config conf/base.yaml"),
            ("With a pipeline of its own:", "rk init r2 --config conf/base.yaml --phases prepare,train,report"),
        ],
        "stop" => &[("Ask the orchestrator to stop after its current step, or at once:", "rk stop r1\nrk stop r1 --now")],
        "note" => &[("Say where you stopped and what comes next:", "rk note r1 \"parse looked fine; next: compare with baseline\" --resume-file notes/r1.md")],
        "gate" => &[("Owe a review before stats, then clear it:", "rk gate add r1 stats --reason \"check the plots\"\nrk gate list r1\nrk gate clear r1 stats --note \"plots look right\"")],
        "compare" => &[("Are two runs comparable?", "rk compare r1 r2\nrk compare r1 r2 --json | jq .compatible")],
        "archive" => &[
            ("Archive a completed run and check it:", "rk archive r1 && rk verify r1"),
            ("Move it to cold storage:", "rk archive r1 --dest /mnt/cold/experiments"),
        ],
        "verify" => &[("Check an archived run:", "rk verify r1")],
        "restore" => &[("Bring back the last good state:", "rk log r1\nrk restore r1 --at HEAD~1")],
        "demo" => &[("Make the sample project somewhere else:", "rk demo /tmp/rk-sample")],
        "completions" => &[
            ("Install completions for bash, zsh or fish:", "rk completions bash > ~/.local/share/bash-completion/completions/rk\nrk completions zsh > ~/.zfunc/_rk\nrk completions fish > ~/.config/fish/completions/rk.fish"),
        ],
        "hash-config" => &[
            ("Hash configs like sha256sum, or show the canonical bytes:", "rk hash-config conf/*.yaml\nrk hash-config --canonical conf/base.yaml"),
            ("The Python tool set's scheme, ignoring a key:", "rk hash-config --scheme pyyaml-sorted --ignore /output_dir conf/base.yaml"),
        ],
        "read-state" => &[("The state now, and three snapshots ago:", "rk read-state r1\nrk read-state r1 --at HEAD~3")],
        "write-state" => &[("Change a state safely from a script (retry on exit 4):", "id=$(rk log r1 | tail -1 | cut -d' ' -f2)\nrk read-state r1 --at \"$id\" | jq '.notes += []' | rk write-state r1 --expect \"$id\" -m \"touched by a script\"")],
        "scan-trials" => &[("Every trial's manifest, one JSON object per line:", "rk scan-trials r1 | jq -c '{slug, state}'")],
        "cat-object" => &[("Print the snapshot HEAD names:", "rk cat-object r1 HEAD")],
        "log" => &[("The history, and every session ever recorded:", "rk log r1\nrk log r1 --sessions")],
        "fsck" => &[("Check a run's store:", "rk fsck r1")],
        _ => &[],
    }
}

const FILES: &str = r#".SH FILES
.TP
.I rk.yaml
The optional project file: \fBrk.yaml\fR(5).
.TP
.I experiments/run_<RID>/
A run: run_state.json, effective_config.yaml, .state.lock, STOP_REQUESTED, the trials, and rk's store .rk/ (docs/FORMATS.md).
"#;

/// `rk.yaml(5)`: the project file, every key with its default and meaning.
const RK_YAML_5: &str = r#".TH rk.yaml 5 "" "rk" "rk"
.SH NAME
rk.yaml \- rk's project file
.SH SYNOPSIS
\fI<project>\fR/rk.yaml
.SH DESCRIPTION
An optional YAML file at the root of a project (the directory rk finds by walking up from the current directory to the first one holding \fIrk.yaml\fR or \fIexperiments/\fR). Without it, rk works on the Python tool set's layout unchanged. Every key has a default of its own: a file that sets one key keeps the defaults of all the others (setting \fBdispatch.command\fR keeps the default step templates). An unknown key, or a value of the wrong type, is an error naming the key and its line (exit 2).
.SH KEYS
.TP
.B runs_dir
Where the runs live, relative to the project root. Default \fIexperiments\fR.
.TP
.B run_dir_prefix
A run's directory is \fI<runs_dir>/<prefix><RID>\fR. Default \fIrun_\fR.
.TP
.B config_file
The run's config, in the run dir. Default \fIeffective_config.yaml\fR.
.TP
.B state_file
The run's state. Default \fIrun_state.json\fR.
.TP
.B state_lock
The file every writer of the state holds a flock(2) on. Default \fI.state.lock\fR. The three names above must differ from each other and from rk's own names (STATUS.md, archive_manifest.json, STOP_REQUESTED, .rk).
.TP
.B phases
The pipeline, in order. Default \fI[prepare, build, submit, poll, parse, score, stats, costs, report]\fR. \fBrk init \-\-phases\fR gives one run a pipeline of its own.
.TP
.B trials.manifest
Glob of the trial manifests, relative to the run dir. Default \fI*/results/trial_manifest.json\fR.
.TP
.B hash.ignore
JSON Pointers removed from a config before it is hashed (e.g. \fI[/output_dir]\fR). Default none.
.TP
.B hash.scheme
The scheme new runs record their config hash under: \fIpyyaml\-sorted\fR (the default, the hash the Python tool set verifies) or \fIrk\-c14n\-v1\fR. An existing run keeps its scheme.
.TP
.B dispatch.via
\fIlocal\fR (default) runs the orchestrator here; \fIslurm\fR submits it with sbatch (docs/SLURM.md).
.TP
.B dispatch.plan
\fIorchestrator\fR (default): rk passes only the step flags the user gave, and the orchestrator's own checks decide where it starts. \fIrk\fR: rk adds \fB\-\-from_step\fR with the first phase not completed.
.TP
.B dispatch.slurm.args
Extra sbatch arguments. Default none.
.TP
.B dispatch.command
The orchestrator's argv (a list, never a shell string). Default \fI[python, \-m, scripts.run_all, \-\-config, "{config}", \-\-run_id, "{run_id}", \-\-resume]\fR.
.TP
.B dispatch.only_step\fR, \fBdispatch.from_step\fR, \fBdispatch.to_step
Arguments appended for a step. Defaults \fI[\-\-only_step, "{step}"]\fR, \fI[\-\-from_step, "{step}"]\fR, \fI[\-\-to_step, "{step}"]\fR.
.TP
.B evidence
How migrate and status read a phase from a trial's files, per phase: \fI{always: completed}\fR, \fI{file: PATH}\fR (exists and is not empty), \fI{jobs: recorded}\fR or \fI{jobs: downloaded}\fR. The defaults are in the example below.
.TP
.B sessions_keep
Sessions kept in the state file (older ones stay in the store). Default 5.
.TP
.B gates
Reviews owed before a phase, as \fIphase: "reason"\fR. Default none.
.TP
.B code_drift
\fIwarn\fR (default) or \fIrefuse\fR: what resume does when the project's git commit moved since the run started.
.TP
.B status_md
Render \fISTATUS.md\fR in the run dir after every change rk makes. Default true.
.SH PLACEHOLDERS
In \fBdispatch\fR values rk fills \fI{run_id}\fR (the run's id), \fI{run_dir}\fR (the absolute path of the run dir), \fI{config}\fR (the absolute path of the run's config) and \fI{step}\fR (a phase, in the step templates). The orchestrator runs with the project root as its working directory (docs/ORCHESTRATORS.md).
.SH EXAMPLE
Every key at its default:
.PP
.RS 4
.nf
runs_dir: experiments
run_dir_prefix: run_
config_file: effective_config.yaml
state_file: run_state.json
state_lock: .state.lock
phases: [prepare, build, submit, poll, parse, score, stats, costs, report]
trials:
  manifest: "*/results/trial_manifest.json"
hash:
  ignore: []
  scheme: pyyaml\-sorted
dispatch:
  via: local
  plan: orchestrator
  slurm: {args: []}
  command: [python, \-m, scripts.run_all, \-\-config, "{config}", \-\-run_id, "{run_id}", \-\-resume]
  only_step: [\-\-only_step, "{step}"]
  from_step: [\-\-from_step, "{step}"]
  to_step: [\-\-to_step, "{step}"]
evidence:
  prepare: {always: completed}
  build:   {always: completed}
  submit:  {jobs: recorded}
  poll:    {jobs: downloaded}
  parse:   {file: results/predictions.csv}
  score:   {file: results/per_item_scores.csv}
  stats:   {file: results/significance.json}
  costs:   {file: results/costs.json}
  report:  {file: reports/report.md}
sessions_keep: 5
gates: {}
code_drift: warn
status_md: true
.fi
.RE
.PP
A project whose orchestrator is its own script, with a review owed before stats:
.PP
.RS 4
.nf
phases: [prepare, train, evaluate, stats, report]
dispatch:
  plan: rk
  command: [python3, tools/orchestrate.py, \-\-run\-dir, "{run_dir}", \-\-config, "{config}", \-\-run_id, "{run_id}"]
hash:
  ignore: [/output_dir]
gates:
  stats: "look at the evaluation plots first"
.fi
.RE
.SH SEE ALSO
\fBrk\fR(1), \fBrk\-init\fR(1), \fBrk\-resume\fR(1), \fBrk\-migrate\fR(1)
.PP
In rk's repository: docs/FORMATS.md (rk.yaml, run_state.json, the store), docs/ORCHESTRATORS.md.
"#;
