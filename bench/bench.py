#!/usr/bin/env python3
"""rk's benchmark harness: rk against its peers and floors, side by side.

Usage:
    python3 bench/bench.py                 # everything, full sizes (tens of minutes)
    python3 bench/bench.py --quick         # target sizes, fewer reps, no 100k / 10k-snapshot growth
    python3 bench/bench.py --only hash-config,list
    python3 bench/bench.py --quick --record   # also rewrite the table in bench/RESULTS.md

Needs python3 with PyYAML, git and the Rust toolchain. It builds rk (release)
and the bench examples, generates workloads with bench/gen.py under
bench/work/ (git-ignored, reused between runs; each project made with
`rk init` is a git repository of its own with one commit, as a user's
project is, so status's code-version check asks one `git status` of a small
repository whose HEAD never moves), then for each case runs rk
and every peer the same number of times, interleaved (rk, peer, floor, rk,
peer, floor, …) after one warm-up round, timing whole processes with
os.wait4; peak memory (ru_maxrss) comes from one more run of each command
forked through examples/bench_maxrss (see there why). It prints
min/median/max, the ratio of each command's median to rk's, and every
target with met / MISSED. CPU time (user + system, of the command and the
children it waited for) is kept too; the status-against-scan target that
uses it compares with a floor measured apart (examples/bench_lookups).

Peers: the Python equivalents in bench/peers/ (the scan on as many worker
processes as rk has threads), `sha256sum`, `cat` (the I/O floor), `b3sum`
(found on PATH or in bench/.tools, else installed there with `cargo install
b3sum`, else skipped with the reason), and the tools a user would pick
instead of rk: `snakemake -n` and DVC (`dvc status`, `dvc params diff`),
found on PATH or in bench/.tools/{snakemake,dvc}-venv, installed there with
pip in full mode or with --install-dvc; else skipped. Slow peers run once or
three times and are stopped after a time limit (the figure is then a lower
bound).

Every command's exit code is checked against the one it must give on its
workload; anything else stops the harness. `RK_THREADS` (rk's worker
threads) is measured at 1 and 2 in the scaling case.

--record rewrites the block of its mode in bench/RESULTS.md (full and
--quick each have one, so a quick run never overwrites what the full run
measured, misses included); it needs every case (no --only).

Ratios from one run, not absolute times, are what to quote: the machine is
shared and noisy. To judge a change, count instructions with
`valgrind --tool=callgrind` instead.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = BENCH / "work"
PEERS = BENCH / "peers"
TOOLS = BENCH / ".tools"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
RK = TARGET / "release" / "rk"
HISTORY = TARGET / "release" / "examples" / "bench_history"
MAXRSS = TARGET / "release" / "examples" / "bench_maxrss"
LOOKUPS = TARGET / "release" / "examples" / "bench_lookups"
PY = sys.executable


# ---------------------------------------------------------------- timing

class Cmd:
    """One measured command: argv (a list, or a str run by sh), cwd, an
    optional untimed `prepare` callable run before every execution, the exit
    codes the command must end with on this workload (anything else stops the
    harness: a command that fails early must not count as fast), extra
    environment variables, and `reps` to cap the timed runs of a slow peer."""

    def __init__(self, label, argv, cwd=None, prepare=None, ok=(0,), env=None, reps=None, timeout=None):
        self.label, self.argv, self.cwd, self.prepare, self.ok = label, argv, cwd, prepare, ok
        self.env, self.reps, self.timeout = env, reps, timeout
        self.samples, self.cpu, self.rss_kb, self.timed_out = [], [], None, False

    @property
    def shell(self):
        return isinstance(self.argv, str)

    def text(self):
        a = self.argv if self.shell else " ".join(str(x) for x in self.argv)
        a = a.replace(str(ROOT) + "/", "").replace(PY, "python3")
        if self.env:
            a = " ".join(f"{k}={v}" for k, v in self.env.items()) + " " + a
        return f"(cd {Path(self.cwd).relative_to(ROOT)} && {a})" if self.cwd else a

    def run_once(self):
        if self.prepare:
            self.prepare()
        argv = ["sh", "-c", self.argv] if self.shell else [str(x) for x in self.argv]
        env = dict(os.environ, **self.env) if self.env else None
        if self.timeout:  # a slow peer: stopped after `timeout` s, that figure kept as a lower bound
            with open(WORK / "peer-stderr.txt", "w+b") as err_file:
                t0 = time.perf_counter()
                p = subprocess.Popen(argv, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=err_file, env=env)
                try:
                    p.wait(timeout=self.timeout)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                    self.timed_out = True
                    return float(self.timeout)
                dt = time.perf_counter() - t0
                err_file.seek(0)
                err = err_file.read()
        else:
            t0 = time.perf_counter()
            p = subprocess.Popen(argv, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, env=env)
            err = p.stderr.read()
            _, status, usage = os.wait4(p.pid, 0)
            dt = time.perf_counter() - t0
            # CPU of the command and of the children it waited for (git).
            self.last_cpu = usage.ru_utime + usage.ru_stime
            p.returncode = os.waitstatus_to_exitcode(status)
            p.stderr.close()
        if p.returncode not in self.ok:
            raise SystemExit(f"command ended with exit {p.returncode}, expected {' or '.join(map(str, self.ok))}: "
                             f"{self.text()}\n{err.decode(errors='replace')[-3000:]}")
        return dt

    def peak_rss_kb(self):
        """Peak memory of one more run, forked through examples/bench_maxrss:
        a child forked from this Python process would start its ru_maxrss at
        Python's own RSS."""
        if self.shell:
            return None
        if self.prepare:
            self.prepare()
        env = dict(os.environ, **self.env) if self.env else None
        r = subprocess.run([str(MAXRSS), *map(str, self.argv)], cwd=self.cwd, capture_output=True, text=True,
                           env=env)
        return int(r.stdout.split()[0]) if r.stdout.strip() else None

    def median(self):
        return statistics.median(self.samples)

    def cpu_median(self):
        """Median CPU time (user + system, s) of the timed runs."""
        return statistics.median(self.cpu)


def measure(cmds, reps, rss=True):
    """Run every command once to warm up, then `reps` rounds, interleaved (a
    command with its own `reps` cap takes part in that many rounds only; one
    capped at 1 has no warm-up either: it is a slow peer, measured once)."""
    for c in cmds:
        if c.reps != 1:
            c.run_once()
    for i in range(reps):
        for c in cmds:
            if c.reps is None or i < c.reps:
                c.samples.append(c.run_once())
                if not c.timeout:
                    c.cpu.append(c.last_cpu)
    if rss:
        for c in cmds:
            c.rss_kb = c.peak_rss_kb()


def sh_quote(p):
    return "'" + str(p).replace("'", "'\\''") + "'"


# ---------------------------------------------------------------- report

class Report:
    def __init__(self, quick, reps):
        self.quick, self.reps = quick, reps
        self.sections, self.targets, self.commands, self.notes = [], [], [], []

    def table(self, title, cmds, base=None):
        """Print and keep a table of `cmds`; ratios are medians over `base`'s (default: the first)."""
        base = base or cmds[0]
        print(f"\n== {title}")
        rows = []
        for c in cmds:
            r = c.median() / base.median()
            mem = "-" if c.rss_kb is None else f"{c.rss_kb / 1024:.1f}"
            print(f"  {c.label:34s} median {c.median() * 1e3:9.2f} ms  min {min(c.samples) * 1e3:9.2f}  "
                  f"max {max(c.samples) * 1e3:9.2f}  {r:7.2f}x  rss {mem} MB")
            rows.append(f"| {c.label} | {c.median() * 1e3:.2f} | {min(c.samples) * 1e3:.2f} | "
                        f"{max(c.samples) * 1e3:.2f} | {r:.2f} | {mem} |")
            self.commands.append(c.text())
        self.sections.append(f"### {title}\n\n| command | median ms | min ms | max ms | median / {base.label} | peak RSS MB |\n"
                             "|---|---:|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n")

    def growth(self, title, header, rows):
        print(f"\n== {title}")
        print("  " + " | ".join(header))
        for r in rows:
            print("  " + " | ".join(r))
        self.sections.append(f"### {title}\n\n| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n"
                             + "\n".join("| " + " | ".join(r) + " |" for r in rows) + "\n")

    def target(self, what, value, ok):
        """`ok` None: not measurable in this mode (shown, never counted as met)."""
        line = f"{'n/a' if ok is None else 'met' if ok else 'MISSED'}: {what}: {value}"
        print("  target " + line)
        self.targets.append((what, value, ok))

    def note(self, text):
        print(f"  note: {text}")
        self.notes.append(f"* {text}")

    def skip(self, what, why):
        print(f"\n== {what}: skipped: {why}")
        self.notes.append(f"* {what}: skipped: {why}")

    def markdown(self):
        cpu = "unknown"
        try:
            for line in open("/proc/cpuinfo"):
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        mem = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.rstrip() \
            if shutil.which("free") else "free: not available"
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True).stdout.strip() or "unknown"
        out = [f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; rk at {rev} (release build); "
               f"mode: {'--quick' if self.quick else 'full'}; {self.reps} timed runs per command after one "
               "warm-up round, commands interleaved.\n",
               f"Machine: `nproc` = {os.cpu_count()}; CPU: {cpu}; {os.uname().sysname} {os.uname().release}; "
               "shared with other jobs (noisy).\n", "```\n$ free -h\n" + mem + "\n```\n",
               "#### Targets\n", "| target | measured | |\n|---|---|---|"]
        out += [f"| {w} | {v} | {'not measured' if ok is None else 'met' if ok else '**missed**'} |"
                for w, v, ok in self.targets]
        out.append("")
        out += self.notes + [""] if self.notes else []
        out += self.sections
        out.append("#### Exact commands\n\n```")
        seen = set()
        for c in self.commands:
            if c not in seen:
                seen.add(c)
                out.append(c)
        out.append("```\n")
        return "\n".join(out)


# ---------------------------------------------------------------- setup

def cargo_build():
    print("building rk and the bench examples (release)…", flush=True)
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "rk", "--example", "bench_history",
                    "--example", "bench_maxrss", "--example", "bench_lookups"],
                   cwd=ROOT, check=True)


def find_b3sum():
    for cand in [shutil.which("b3sum"), TOOLS / "bin" / "b3sum"]:
        if cand and Path(cand).exists():
            return str(cand), None
    print("b3sum is missing: cargo install b3sum --root bench/.tools …", flush=True)
    try:
        r = subprocess.run(["cargo", "install", "--quiet", "b3sum", "--root", str(TOOLS)], timeout=900,
                           capture_output=True, text=True)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"`cargo install b3sum` did not finish: {e}"
    if r.returncode != 0:
        return None, "`cargo install b3sum` failed: " + r.stderr.strip().splitlines()[-1:][0] if r.stderr else "?"
    return str(TOOLS / "bin" / "b3sum"), None


def find_dvc(install):
    for cand in [shutil.which("dvc"), TOOLS / "dvc-venv" / "bin" / "dvc"]:
        if cand and Path(cand).exists():
            return str(cand), None
    if not install:
        return None, "dvc not found (on PATH or bench/.tools/dvc-venv); full mode or --install-dvc installs it"
    print("dvc is missing: pip install dvc into bench/.tools/dvc-venv …", flush=True)
    venv = TOOLS / "dvc-venv"
    try:
        subprocess.run([PY, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
        r = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "dvc"], capture_output=True, text=True,
                           timeout=600)
    except (OSError, subprocess.SubprocessError) as e:
        return None, f"pip install dvc did not finish: {e}"
    if r.returncode != 0:
        return None, "pip install dvc failed: " + (r.stderr.strip().splitlines() or ["?"])[-1]
    return str(venv / "bin" / "dvc"), None


def rk(*args):
    r = subprocess.run([str(RK), *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"rk {' '.join(map(str, args))} failed ({r.returncode}): {r.stderr}")
    return r.stdout


# What a finished workload's .done marker holds: a workload made by an
# older harness (another marker) is made again.
WORKLOAD = "2: rk projects are git repositories of their own\n"


def project(name):
    """A fresh project dir bench/work/NAME (reused when its .done marker
    names this harness's workloads)."""
    p = WORK / name
    try:
        return p, (p / ".done").read_text() == WORKLOAD
    except OSError:
        return p, False


def done(p):
    (p / ".done").write_text(WORKLOAD)


def new_rk_project(p):
    """An empty project dir p that is a git repository with one commit, as a
    user's project is: rk records its HEAD at `rk init` and status compares
    with it (one `git status`). Its own repository keeps the figures apart
    from rk's checkout, whose HEAD moves between benchmark runs."""
    shutil.rmtree(p, ignore_errors=True)
    p.mkdir(parents=True)
    env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b",
               GIT_COMMITTER_EMAIL="b@b")
    (p / "README").write_text("a benchmark project\n")
    for argv in (["git", "init", "-q"], ["git", "add", "README"], ["git", "commit", "-qm", "project"]):
        subprocess.run(argv, cwd=p, check=True, env=env)


def config_pair():
    a, b = WORK / "config.yaml", WORK / "config-drifted.yaml"
    if not b.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        cfg = gen.realistic_config()
        gen.write_config(a, cfg)
        gen.write_config(b, gen.drifted(cfg))
    return a, b


def run_with_trials(n, state=True):
    """A project with one run `b` of n trials; with a state made by `rk init`."""
    p, ready = project(f"trials{n}-{'state' if state else 'legacy'}")
    run = p / "experiments" / "run_b"
    if not ready:
        new_rk_project(p)
        print(f"  generating {n} trials ({'with state' if state else 'legacy'})…", flush=True)
        if state:
            rk("-C", p, "init", "b", "--config", config_pair()[0])
        else:
            run.mkdir(parents=True)
            shutil.copy(config_pair()[0], run / "effective_config.yaml")
        gen.write_trials(str(run), n)
        done(p)
    return p, run


def run_with_history(snapshots):
    p, ready = project(f"history{snapshots}")
    run = p / "experiments" / "run_h"
    if not ready:
        new_rk_project(p)
        print(f"  writing {snapshots} snapshots…", flush=True)
        rk("-C", p, "init", "h", "--config", config_pair()[0])
        gen.write_trials(str(run), 100, seed=3)
        subprocess.run([str(HISTORY), str(p), "h", str(snapshots - 1)], check=True)
        done(p)
    return p, run


# ---------------------------------------------------------------- cases

def case_hash_config(rep, reps, quick):
    cfg, _ = config_pair()
    rkc = Cmd("rk hash-config", [RK, "hash-config", cfg])
    py = Cmd("python PyYAML+hashlib", [PY, PEERS / "hash_config.py", cfg])
    floor = Cmd("sha256sum (floor)", ["sha256sum", cfg])
    true = Cmd("true (process start floor)", ["true"])
    version = Cmd("rk --version", [RK, "--version"])
    # pyyaml-sorted must reproduce the Python peer's digest exactly.
    legacy = rk("hash-config", "--scheme", "pyyaml-sorted", cfg).split()[0]
    peer = subprocess.run(py.argv, capture_output=True, text=True).stdout.split()[0]
    if legacy != peer:
        raise SystemExit(f"rk pyyaml-sorted {legacy} != PyYAML {peer}")
    measure([rkc, py, floor, true, version], reps)
    rep.table(f"hash-config, {cfg.stat().st_size / 1000:.1f} KB YAML, and start-up", [rkc, py, floor, true, version])
    rep.target("hash-config ≤ 1.4× sha256sum", f"{rkc.median() / floor.median():.2f}×",
               rkc.median() / floor.median() <= 1.4)
    rep.target("rk --version ≤ 1.4× true", f"{version.median() / true.median():.2f}×",
               version.median() / true.median() <= 1.4)


def scan_cmds(p, run, n):
    rel = run.relative_to(p)
    return [Cmd("rk scan-trials", [RK, "scan-trials", "b"], cwd=p),
            Cmd("python scan", [PY, PEERS / "scan_trials.py", rel], cwd=p),
            Cmd("cat manifests (floor)",
                f"printf '%s\\0' {rel}/*/results/trial_manifest.json | xargs -0 cat > /dev/null", cwd=p)]


def case_scan_trials(rep, reps, quick):
    n = 10_000
    p, run = run_with_trials(n)
    rkc, py, cat = scan_cmds(p, run, n)
    status = Cmd("rk status", [RK, "status", "b"], cwd=p)
    measure([rkc, py, cat, status], reps)
    rep.table(f"scan-trials and status, {n} trials (~4 KB manifests: 90% v2, 10% v1, 0.2% corrupt)",
              [rkc, py, cat, status])
    rep.target("scan-trials ≥ 5× Python", f"{py.median() / rkc.median():.1f}×", py.median() / rkc.median() >= 5)
    rep.target("scan-trials ≤ 0.6× cat", f"{rkc.median() / cat.median():.2f}×", rkc.median() / cat.median() <= 0.6)
    rep.target("status (10k trials) ≤ 1.1× scan-trials", f"{status.median() / rkc.median():.2f}×",
               status.median() <= 1.1 * rkc.median())
    # status reads what scan-trials reads and then looks up the files its
    # evidence rules name (about 6.5 a trial here). What those lookups cost
    # the kernel is measured apart, by examples/bench_lookups: the CPU of one
    # thread reading every manifest and looking up the same paths, less that
    # of one reading the manifests alone. Per trial, status may cost no more
    # than that over scan-trials, +10%, both on one thread as the floor is
    # (two threads cost the kernel more per call, and the scaling case
    # measures them). status's work that does not grow with the trials (the
    # state, git, the processes in /proc) is what it costs over scan-trials
    # on 100 trials, taken off first.
    small, _ = run_with_trials(100)
    one = {"RK_THREADS": "1"}
    pair = {size: (Cmd(f"rk scan-trials ({size} trials, 1 thread)", [RK, "scan-trials", "b"], cwd=d, env=one),
                   Cmd(f"rk status ({size} trials, 1 thread)", [RK, "status", "b"], cwd=d, env=one))
            for size, d in [(n, p), (100, small)]}
    measure([c for cs in pair.values() for c in cs], reps, rss=False)
    extra = {size: status.cpu_median() - scan.cpu_median() for size, (scan, status) in pair.items()}
    floor = lookups_floor(run) * (n - 100) / n
    scan, status = pair[n]
    rep.note(f"status's CPU over scan-trials's, one thread (user + system, git included; medians): "
             f"{extra[n] * 1e3:.1f} ms on {n} trials ({status.cpu_median() * 1e3:.1f} against "
             f"{scan.cpu_median() * 1e3:.1f}), {extra[100] * 1e3:.1f} ms on 100; the lookups of {n - 100} "
             f"trials, one thread: {floor * 1e3:.1f} ms (`{LOOKUPS.relative_to(ROOT)} {run.relative_to(ROOT)} 15`)")
    per_trial = extra[n] - extra[100]
    rep.target("status over scan-trials per trial ≤ 1.1× its evidence lookups (CPU, 1 thread)",
               f"{per_trial / floor:.2f}×", per_trial <= 1.1 * floor)


def lookups_floor(run):
    """CPU seconds one thread spends looking up the default evidence rules'
    files of every trial of `run` (examples/bench_lookups: its `stat` pass
    less its `manifest` pass, medians of 15 passes each)."""
    out = subprocess.run([str(LOOKUPS), str(run), "15"], capture_output=True, text=True, check=True).stdout
    median = {line.split()[0]: float(line.split()[4]) for line in out.splitlines() if " median " in line}
    return (median["stat"] - median["manifest"]) / 1e3


def list_project():
    p, ready = project("list1000")
    if not ready:
        shutil.rmtree(p, ignore_errors=True)
        print("  generating 1000 runs…", flush=True)
        gen.write_state_runs(str(p), 1000)
        done(p)
    return p


def case_list(rep, reps, quick):
    p = list_project()
    rkc = Cmd("rk list", [RK, "list"], cwd=p)
    py = Cmd("python list", [PY, PEERS / "list_runs.py"], cwd=p)
    cat = Cmd("cat state files (floor)",
              "printf '%s\\0' experiments/*/run_state.json | xargs -0 cat > /dev/null", cwd=p)
    pystart = Cmd("python3 -c 'import json' (start floor)", [PY, "-c", "import json"], cwd=p)
    measure([rkc, py, cat, pystart], reps)
    rep.table("list, 1000 runs (~11 KB state files; 1% legacy, 0.5% corrupt)", [rkc, py, cat, pystart])
    rep.target("list ≥ 7× Python", f"{py.median() / rkc.median():.1f}×", py.median() / rkc.median() >= 7)
    rep.target("list ≤ 0.8× cat", f"{rkc.median() / cat.median():.2f}×", rkc.median() / cat.median() <= 0.8)


def case_status_small(rep, reps, quick):
    p, run = run_with_trials(100)
    st = Cmd("rk status (100 trials)", [RK, "status", "b"], cwd=p)
    rs = Cmd("rk read-state (100 trials)", [RK, "read-state", "b"], cwd=p)
    measure([st, rs], reps)
    rep.table("status on a run with a state and 100 trials", [st, rs])
    rep.target("status (100 trials) < 50 ms", f"{st.median() * 1e3:.1f} ms", st.median() < 0.05)


def case_status_slurm(rep, reps, quick):
    """status on a run whose open session has a real Slurm job (held, so it
    stays pending): the same run as the local case plus one scheduler call."""
    if shutil.which("sbatch") is None or subprocess.run(["sinfo", "-h"], capture_output=True).returncode != 0:
        rep.skip("status on a Slurm run", "no Slurm answers here (`sudo .ci/slurm up` starts one)")
        return
    local, _ = run_with_trials(100)
    p = WORK / "trials100-slurm"
    shutil.rmtree(p, ignore_errors=True)
    shutil.copytree(local, p, symlinks=True)
    run = p / "experiments" / "run_b"
    job = subprocess.run(["sbatch", "--parsable", "--hold", "--job-name=rk-bench", "--wrap", "true"],
                         capture_output=True, text=True, check=True).stdout.strip().split(";")[0]
    try:
        state = json.loads((run / "run_state.json").read_text())
        state.setdefault("sessions", []).append({
            "started_at": "2026-01-01T00:00:00.000000Z", "ended_at": None, "command": ["true"],
            "steps": [], "exit_code": None, "host": "bench", "pid": None,
            "slurm": {"job_id": job, "job_name": "rk-bench"}})
        (run / "run_state.json").write_text(json.dumps(state, indent=2) + "\n")
        # How many scheduler calls one status makes: Slurm's own clients,
        # each behind a shim on PATH that counts and then runs the real one.
        shims = p / ".shims"
        shims.mkdir()
        for tool in ["squeue", "scontrol", "sacct", "sinfo"]:
            real = shutil.which(tool)
            if real:
                (shims / tool).write_text(f"#!/bin/sh\necho {tool} >> {sh_quote(shims / 'calls')}\nexec {real} \"$@\"\n")
                (shims / tool).chmod(0o755)
        env = dict(os.environ, PATH=f"{shims}:{os.environ['PATH']}")
        subprocess.run([str(RK), "status", "b"], cwd=p, env=env, capture_output=True, check=True)
        calls = (shims / "calls").read_text().split() if (shims / "calls").exists() else []
        loc = Cmd("rk status (100 trials, local)", [RK, "status", "b"], cwd=local)
        slu = Cmd("rk status (100 trials, Slurm job)", [RK, "status", "b"], cwd=p)
        sq = Cmd("squeue --jobs ID (one call)", ["squeue", "-h", "--states=all", "--jobs", job], cwd=p)
        measure([loc, slu, sq], reps)
        rep.table("status on a run whose job runs under Slurm (pending), 100 trials", [loc, slu, sq])
        extra = slu.median() - loc.median()
        rep.target("status on a Slurm run: one scheduler call", f"{len(calls)} ({', '.join(calls)})", calls == ["squeue"])
        rep.target("status on a Slurm run < 50 ms over local", f"+{extra * 1e3:.1f} ms", extra < 0.05)
    finally:
        subprocess.run(["scancel", job], capture_output=True)


def case_resume_migrate(rep, reps, quick):
    p, run = run_with_trials(2_000)
    res = Cmd("rk resume --dry-run (2000 trials)", [RK, "resume", "b", "--dry-run"], cwd=p)
    lp, lrun = run_with_trials(10_000, state=False)
    mig = Cmd("rk migrate --dry-run (10000 legacy)", [RK, "migrate", "b", "--dry-run"], cwd=lp)
    py = Cmd("python migration inference (10000)", [PY, PEERS / "migrate_plan.py", lrun.relative_to(lp)], cwd=lp)
    measure([res, mig, py], reps)
    rep.table("resume --dry-run and migrate --dry-run", [res, mig, py])
    rep.target("resume --dry-run (2000 trials) < 200 ms", f"{res.median() * 1e3:.1f} ms", res.median() < 0.2)
    rep.target("migrate --dry-run (10000 trials) < 1 s", f"{mig.median() * 1e3:.0f} ms", mig.median() < 1.0)


def archive_project(mb=256):
    """A completed run of `mb` MB of artifacts, and `reset` to make it
    unarchived again (untimed, before every `rk archive`)."""
    p, ready = project(f"archive{mb}")
    run = p / "experiments" / "run_big"
    pristine = p / "pristine"
    if not ready:
        new_rk_project(p)
        print(f"  generating {mb} MB of artifacts…", flush=True)
        rk("-C", p, "init", "big", "--config", config_pair()[0])
        gen.write_artifacts(str(run), mb)
        st = json.loads(rk("-C", p, "read-state", "big"))
        for ph in st["phases"].values():
            ph["status"] = "completed"
        subprocess.run([str(RK), "-C", str(p), "write-state", "big"], input=json.dumps(st), text=True,
                       check=True, capture_output=True)
        pristine.mkdir()
        for name in ["run_state.json", ".rk", "STATUS.md"]:
            src = run / name
            if src.is_dir():
                shutil.copytree(src, pristine / name)
            elif src.exists():
                shutil.copy2(src, pristine / name)
        done(p)
    files = sorted(str(f.relative_to(run)) for f in run.rglob("*")
                   if f.is_file() and ".rk" not in f.parts and f.name not in ("archive_manifest.json", "STATUS.md"))
    (p / "files.list").write_text("\0".join(files))

    def reset():  # an unarchived run before every `rk archive` (not timed)
        for name in ["archive_manifest.json", "STATUS.md", "run_state.json", ".rk"]:
            t = run / name
            if t.is_dir():
                shutil.rmtree(t)
            elif t.exists() or t.is_symlink():
                t.unlink()
        for src in pristine.iterdir():
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, run / src.name)

    return p, run, files, reset


def case_archive(rep, reps, quick):
    b3, why = find_b3sum()
    mb = 256
    p, run, files, reset = archive_project(mb)
    arch = Cmd(f"rk archive ({mb} MB)", [RK, "-C", p, "archive", "big"], prepare=reset)
    cmds = [arch]
    if b3:
        cmds.append(Cmd("b3sum same files (floor)", f"xargs -0 {sh_quote(b3)} < ../../files.list > /dev/null",
                        cwd=run))
    cmds.append(Cmd("sha256sum same files", "xargs -0 sha256sum < ../../files.list > /dev/null", cwd=run))
    measure(cmds, reps)
    reset()
    rep.table(f"archive, {mb} MB in {len(files)} files (4 big files + 256 KB parts), page cache warm", cmds)
    if b3:
        rep.target("archive ≤ 1.25× b3sum", f"{arch.median() / cmds[1].median():.2f}×",
                   arch.median() / cmds[1].median() <= 1.25)
    else:
        rep.skip("b3sum peer", why)


def case_diff_config(rep, reps, quick):
    a, b = config_pair()
    rkc = Cmd("rk diff-config", [RK, "diff-config", a, b], ok=(1,))
    py = Cmd("python PyYAML+difflib", [PY, PEERS / "diff_config.py", a, b], ok=(1,))
    cmds = [rkc, py]
    dvc, why = find_dvc(install=not quick or ARGS.install_dvc)
    if dvc:
        d, ready = project("dvc")
        if not ready:
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
            env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b",
                       GIT_COMMITTER_EMAIL="b@b")
            subprocess.run(["git", "init", "-q"], cwd=d, check=True)
            subprocess.run([dvc, "init", "-q"], cwd=d, check=True)
            shutil.copy(a, d / "params.yaml")
            subprocess.run(["git", "add", "-A"], cwd=d, check=True)
            subprocess.run(["git", "commit", "-qm", "a"], cwd=d, check=True, env=env)
            shutil.copy(b, d / "params.yaml")
            done(d)
        cmds.append(Cmd("dvc params diff", [dvc, "params", "diff"], cwd=d))
    measure(cmds, reps)
    rep.table("diff-config of two 10 KB configs (6 changed keys)", cmds)
    if not dvc:
        rep.skip("dvc params diff peer", why)


def case_growth(rep, reps, quick):
    sizes = [1_000, 10_000] if quick else [1_000, 10_000, 100_000]
    rows = []
    greps = max(3, reps // 3)
    rss = {}
    for n in sizes:
        p, run = run_with_trials(n)
        lp, lrun = run_with_trials(n, state=False)
        cmds = scan_cmds(p, run, n)[::2] + [
            Cmd("rk status", [RK, "status", "b"], cwd=p),
            Cmd("rk resume --dry-run", [RK, "resume", "b", "--dry-run"], cwd=p),
            Cmd("rk migrate --dry-run", [RK, "migrate", "b", "--dry-run"], cwd=lp)]
        measure(cmds, greps if n < 100_000 else 3)
        for c in cmds:
            rows.append([c.label, f"{n}", f"{c.median() * 1e3:.1f}", f"{c.median() / n * 1e6:.1f}",
                         "-" if c.rss_kb is None else f"{c.rss_kb / 1024:.1f}"])
            rss.setdefault(c.label, []).append(c.rss_kb)
            rep.commands.append(c.text())
    rows.sort(key=lambda r: (r[0], int(r[1])))
    rep.growth("Growth in trials", ["operation", "trials", "median ms", "µs per trial", "peak RSS MB"], rows)
    for label in ["rk scan-trials", "rk status", "rk migrate --dry-run"]:
        lo, hi = rss[label][0], rss[label][-1]
        if quick:
            # 10,000 trials cannot show the growth the target is about.
            rep.target(f"{label} peak memory ≤ 12 MB at 100000 trials",
                       f"not measured in --quick ({lo / 1024:.1f} → {hi / 1024:.1f} MB, {sizes[0]}→{sizes[-1]})",
                       None)
        else:
            rep.target(f"{label} peak memory ≤ 12 MB at 100000 trials",
                       f"{hi / 1024:.1f} MB ({lo / 1024:.1f} MB at {sizes[0]})", hi <= 12 * 1024)

    snaps = [10, 1_000] if quick else [10, 1_000, 10_000]
    rows, med = [], {}
    for s in snaps:
        p, run = run_with_history(s)
        cmds = [Cmd("rk read-state", [RK, "read-state", "h"], cwd=p),
                Cmd("rk read-state --at HEAD~1", [RK, "read-state", "h", "--at", "HEAD~1"], cwd=p),
                Cmd("rk status", [RK, "status", "h"], cwd=p),
                Cmd("rk resume --dry-run", [RK, "resume", "h", "--dry-run"], cwd=p)]
        measure(cmds, greps)
        for c in cmds:
            rows.append([c.label, f"{s}", f"{c.median() * 1e3:.2f}", f"{(c.rss_kb or 0) / 1024:.1f}"])
            med.setdefault(c.label, []).append(c.median())
            rep.commands.append(c.text())
    rows.sort(key=lambda r: (r[0], int(r[1])))
    rep.growth("Growth in history (run with 100 trials)", ["operation", "snapshots", "median ms", "peak RSS MB"],
               rows)
    for label in ["rk read-state", "rk status"]:
        a, b = med[label][0], med[label][-1]
        rep.target(f"{label} flat in history ({snaps[0]}→{snaps[-1]} snapshots)",
                   f"{a * 1e3:.2f} → {b * 1e3:.2f} ms", b <= 1.25 * a + 0.002)


def case_writes(rep, reps, quick):
    """`rk note` and `rk gate add` through the one write path (lock, read,
    observed check, snapshot, atomic replace, log, HEAD, STATUS.md), on runs
    with 10 and 1,000 snapshots. Each is bound by its fsyncs (nine), so its
    wall time is the disk's on a shared machine; the target is about the
    write path not growing with history."""
    rows, med = [], {}
    for s in [10, 1_000]:
        p, run = run_with_history(s)
        cmds = [Cmd("rk note", [RK, "note", "h", "bench note"], cwd=p),
                Cmd("rk gate add", [RK, "gate", "add", "h", "stats", "--reason", "bench"], cwd=p)]
        measure(cmds, reps)
        for c in cmds:
            rows.append([c.label, f"{s}", f"{c.median() * 1e3:.2f}", f"{(c.rss_kb or 0) / 1024:.1f}"])
            med.setdefault(c.label, []).append(c.median())
            rep.commands.append(c.text())
    rows.sort(key=lambda r: (r[0], int(r[1])))
    rep.growth("Writes through the one write path", ["operation", "snapshots", "median ms", "peak RSS MB"], rows)
    for label in ["rk note", "rk gate add"]:
        a, b = med[label]
        rep.target(f"{label} < 20 ms at 1000 snapshots", f"{b * 1e3:.1f} ms ({a * 1e3:.1f} ms at 10)", b < 0.020)


def case_scaling(rep, reps, quick):
    """The same command on one worker thread and on two (RK_THREADS)."""
    p, run = run_with_trials(10_000)
    lp = list_project()
    ap, arun, files, reset = archive_project()
    cases = [("rk scan-trials (10000 trials)", [RK, "scan-trials", "b"], p, None),
             ("rk status (10000 trials)", [RK, "status", "b"], p, None),
             ("rk list (1000 runs)", [RK, "list"], lp, None),
             ("rk archive (256 MB)", [RK, "-C", ap, "archive", "big"], None, reset)]
    rows = []
    for label, argv, cwd, prepare in cases:
        one = Cmd(label, argv, cwd=cwd, prepare=prepare, env={"RK_THREADS": "1"})
        two = Cmd(label, argv, cwd=cwd, prepare=prepare, env={"RK_THREADS": "2"})
        measure([one, two], reps, rss=False)
        speedup = one.median() / two.median()
        rows.append([label, f"{one.median() * 1e3:.1f}", f"{two.median() * 1e3:.1f}", f"{speedup:.2f}×"])
        rep.commands += [one.text(), two.text()]
        rep.target(f"{label}: 2 threads not slower than 1 (speed-up ≥ 0.95)", f"{speedup:.2f}×", speedup >= 0.95)
    reset()
    rep.growth(f"Scaling from 1 to 2 worker threads ({reps} runs each, medians; the machine has "
               f"{os.cpu_count()} cores, shared)", ["command", "RK_THREADS=1 ms", "RK_THREADS=2 ms", "speed-up"],
               rows)


def find_snakemake(install):
    for cand in [shutil.which("snakemake"), TOOLS / "snakemake-venv" / "bin" / "snakemake"]:
        if cand and Path(cand).exists():
            return str(cand), None
    if not install:
        return None, "snakemake not found (on PATH or bench/.tools/snakemake-venv); full mode or --install-dvc installs it"
    print("snakemake is missing: pip install snakemake into bench/.tools/snakemake-venv …", flush=True)
    venv = TOOLS / "snakemake-venv"
    try:
        subprocess.run([PY, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
        r = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "snakemake"], capture_output=True,
                           text=True, timeout=900)
    except (OSError, subprocess.SubprocessError) as e:
        return None, f"pip install snakemake did not finish: {e}"
    if r.returncode != 0:
        return None, "pip install snakemake failed: " + (r.stderr.strip().splitlines() or ["?"])[-1]
    return str(venv / "bin" / "snakemake"), None


# The pipeline as a workflow engine sees it: one output file a phase a trial,
# chained. prepare, poll and parse produce the files rk's evidence rules look
# at; build and submit leave markers (made old, all present); so on the
# generated runs five phases are done on every other trial, two or three on
# the rest, and score, stats, costs and report are left everywhere.
PIPELINE = [("prepare", "{run}/{t}/results/trial_manifest.json"),
            ("build", "markers/{t}/build.done"),
            ("submit", "markers/{t}/submit.done"),
            ("poll", "{run}/{t}/results/results_combined.jsonl"),
            ("parse", "{run}/{t}/results/predictions.csv"),
            ("score", "{run}/{t}/results/per_item_scores.csv"),
            ("stats", "{run}/{t}/results/significance.json"),
            ("costs", "{run}/{t}/results/costs.json"),
            ("report", "{run}/{t}/reports/report.md")]


def markers(root, slugs):
    for t in slugs:
        d = root / "markers" / t
        d.mkdir(parents=True, exist_ok=True)
        for m in ["build.done", "submit.done"]:
            (d / m).write_text("done\n")
            os.utime(d / m, (1e9, 1e9))


def snakemake_project(p, run, n):
    """A Snakefile beside the run (in the rk project dir) with the pipeline above."""
    if (p / "Snakefile").exists():
        return
    slugs = sorted(x.name for x in run.iterdir() if x.is_dir() and x.name.startswith("t"))
    markers(p, slugs)
    rel = run.relative_to(p)
    lines = [f"TRIALS = {slugs!r}", "", "rule all:",
             f"    input: expand({PIPELINE[-1][1].replace('{run}', str(rel))!r}, t=TRIALS)", ""]
    for i, (phase, out) in enumerate(PIPELINE):
        lines.append(f"rule {phase}:")
        if i:
            lines.append(f"    input: {PIPELINE[i - 1][1].replace('{run}', str(rel))!r}")
        lines.append(f"    output: {out.replace('{run}', str(rel))!r}")
        lines.append(f"    shell: 'touch {{output}}'\n")
    (p / "Snakefile").write_text("\n".join(lines))


def dvc_project(d, run, n):
    """A DVC project holding a copy of the run: one `foreach` stage a phase
    over the trials, and a dvc.lock recording the phases done as done."""
    import hashlib
    if (d / ".done").exists():
        return
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    rel = Path("experiments") / "run_b"
    shutil.copytree(run, d / rel, ignore=shutil.ignore_patterns(".rk", "run_state.json", "STATUS.md"))
    slugs = sorted(x.name for x in (d / rel).iterdir() if x.is_dir() and x.name.startswith("t"))
    markers(d, slugs)
    subprocess.run(["git", "init", "-q"], cwd=d, check=True)
    subprocess.run([DVC, "init", "-q"], cwd=d, check=True)
    stages = {}
    lock = {}
    for i, (phase, out) in enumerate(PIPELINE):
        # cache: false: DVC checks the files in the workspace against
        # dvc.lock, as rk checks the trials' files, with no cache to fill.
        do = {"cmd": "touch " + out.replace("{run}", str(rel)).replace("{t}", "${item}"),
              "outs": [{out.replace("{run}", str(rel)).replace("{t}", "${item}"): {"cache": False}}]}
        if i:
            do["deps"] = [PIPELINE[i - 1][1].replace("{run}", str(rel)).replace("{t}", "${item}")]
        stages[phase] = {"foreach": slugs, "do": do}
        for t in slugs:
            paths = [PIPELINE[j][1].replace("{run}", str(rel)).replace("{t}", t) for j in range(i + 1)]
            if not all((d / q).exists() for q in paths):
                continue

            def entry(q):
                b = (d / q).read_bytes()
                return {"path": q, "hash": "md5", "md5": hashlib.md5(b).hexdigest(), "size": len(b)}
            e = {"cmd": do["cmd"].replace("${item}", t), "outs": [dict(entry(paths[-1]), cache=False)]}
            if i:
                e["deps"] = [entry(paths[-2])]
            lock[f"{phase}@{t}"] = e
    import yaml
    (d / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    (d / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": lock}, sort_keys=False))
    done(d)


DVC = None


def case_peers(rep, reps, quick):
    """What a user would pick instead of rk to ask "what is done, what is left"."""
    global DVC
    smk, why_smk = find_snakemake(install=not quick or ARGS.install_dvc)
    DVC, why_dvc = find_dvc(install=not quick or ARGS.install_dvc)
    if not smk:
        rep.skip("snakemake peer", why_smk)
    if not DVC:
        rep.skip("dvc status peer", why_dvc)
    dvc_slow = False
    for n in [1_000, 10_000]:
        p, run = run_with_trials(n)
        rkc = Cmd(f"rk status ({n} trials)", [RK, "status", "b"], cwd=p)
        cmds = [rkc]
        slow = 3 if n <= 1_000 else 1
        if smk:
            snakemake_project(p, run, n)
            cmds.append(Cmd(f"snakemake -n ({n} trials)", [smk, "-n", "-c1"], cwd=p, reps=slow, timeout=600))
        if DVC and dvc_slow:
            rep.skip(f"dvc status ({n} trials)", "it did not finish within its time limit at 1000 trials")
        elif DVC:
            d = WORK / f"dvc-status{n}"
            dvc_project(d, run, n)
            cmds.append(Cmd(f"dvc status ({n} trials)", [DVC, "status"], cwd=d, reps=1, timeout=300))
        measure(cmds, reps, rss=False)
        for c in cmds:
            if c.timed_out:
                rep.notes.append(f"* {c.label}: stopped after {c.timeout} s; its figure is that lower bound")
                dvc_slow |= c.label.startswith("dvc")
        rep.table(f"status against workflow engines, {n} trials × 9 phases "
                  f"(rk: {reps} runs; peers: {slow} run{'s' if slow > 1 else ''}"
                  f"{', after a warm-up' if slow > 1 else ', no warm-up'})", cmds)
        for c in cmds[1:]:
            if c.label.startswith("snakemake"):
                ratio = c.median() / rkc.median()
                rep.target(f"rk status ≥ 250× faster than {c.label}", f"{ratio:.0f}×", ratio >= 250)


CASES = {
    "hash-config": case_hash_config,
    "scan-trials": case_scan_trials,
    "list": case_list,
    "status": case_status_small,
    "status-slurm": case_status_slurm,
    "resume-migrate": case_resume_migrate,
    "archive": case_archive,
    "diff-config": case_diff_config,
    "growth": case_growth,
    "writes": case_writes,
    "scaling": case_scaling,
    "peers": case_peers,
}
ARGS = None


def record(md, quick):
    """Replace the generated block of this mode in bench/RESULTS.md, keeping
    the prose around it. Full and quick runs have a block each: a quick run
    (10,000 trials at most, 7 runs a command) never overwrites what the full
    run measured, misses included."""
    path = BENCH / "RESULTS.md"
    mode = "--quick --record" if quick else "--record"
    begin, end = f"<!-- generated by bench/bench.py {mode}: begin -->", f"<!-- generated by {mode}: end -->"
    text = path.read_text() if path.exists() else "# rk benchmark results\n"
    if begin not in text:
        text = text.rstrip("\n") + f"\n\n{begin}\n{end}\n"
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{begin}\n{md}\n{end}{tail}")
    print(f"recorded in {path}")


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, no 100k-trial or 10k-snapshot growth")
    ap.add_argument("--only", help="comma-separated cases: " + ",".join(CASES))
    ap.add_argument("--reps", type=int, help="timed runs per command (default 21, quick 7)")
    ap.add_argument("--record", action="store_true", help="write the results into bench/RESULTS.md")
    ap.add_argument("--install-dvc", action="store_true", help="pip install dvc into bench/.tools in quick mode too")
    ap.add_argument("--no-build", action="store_true", help="use the rk binary already built")
    ARGS = ap.parse_args()
    reps = ARGS.reps or (7 if ARGS.quick else 21)
    names = ARGS.only.split(",") if ARGS.only else list(CASES)
    if ARGS.record and ARGS.only:
        raise SystemExit("--record rewrites the whole block of its mode: run it without --only")
    for n in names:
        if n not in CASES:
            raise SystemExit(f"unknown case {n!r}; cases: {', '.join(CASES)}")
    t0 = time.time()
    if not ARGS.no_build:
        cargo_build()
    WORK.mkdir(parents=True, exist_ok=True)
    rep = Report(ARGS.quick, reps)
    for n in names:
        CASES[n](rep, reps, ARGS.quick)
    md = rep.markdown()
    (WORK / "results.md").write_text(md)
    missed = [t for t in rep.targets if t[2] is False]
    met = [t for t in rep.targets if t[2]]
    print(f"\n{len(met)}/{len(rep.targets)} targets met ({len(missed)} missed); "
          f"wrote {WORK / 'results.md'}; {time.time() - t0:.0f} s in all")
    if ARGS.record:
        record(md + f"\nWhole harness: {time.time() - t0:.0f} s.\n", ARGS.quick)


if __name__ == "__main__":
    main()
