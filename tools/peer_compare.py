#!/usr/bin/env python3
"""Run the peer (AsyncFlow 0.1.1) and this engine side by side on the same YAML.

    python3 tools/peer_compare.py --peer-python /work/peer/venv/bin/python \
        --reps 3 scenarios/bench/quickstart.yml scenarios/bench/lb10_10k_rps.yml

Installs nothing: the peer must already be installed (docs/peer.md) and the
engine built (`cargo build --release`). Each engine runs N times per scenario
with the same seed as a separate process; wall time and peak RSS are whole
process, and the table shows their medians. Latency figures come from the
first repetition (same seed, so every repetition gives the same numbers).

Peak RSS comes from `/usr/bin/time -v` when it exists, else from the
rusage of the child process (`os.wait4`); both report the kernel's maxrss.
Throughput is generated requests per wall second, the one count both engines
report (the peer keeps no record of dropped requests).
"""

from __future__ import annotations

import argparse
import json
import shlex
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_PEER = ROOT / "tools" / "run_peer.py"
GNU_TIME = "/usr/bin/time"


def read_ours_summary(path: Path) -> dict:
    """Map the engine's `summary.json` onto the fields this script compares.

    This is the one place that knows the engine's output layout (OUTPUT.md);
    adjust it here if the keys move.
    """
    with open(path) as f:
        doc = json.load(f)
    res = doc.get("results", {})
    lat = res.get("latency", {})
    req = res.get("requests", {})
    return {
        "generated": req.get("generated"),
        "completed": req.get("completed", lat.get("count")),
        "dropped": req.get("dropped"),
        "mean_s": lat.get("mean_s"),
        "p50_s": lat.get("p50_s"),
        "p95_s": lat.get("p95_s"),
        "p99_s": lat.get("p99_s"),
    }


def measure(cmd: list[str], timeout: float) -> dict:
    """Run `cmd` once; return wall seconds, peak RSS (MB), exit code, stdout."""
    use_time = os.access(GNU_TIME, os.X_OK)
    full = [GNU_TIME, "-v", *cmd] if use_time else cmd
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        # Own session, so a timeout can end the whole group (time + engine).
        proc = subprocess.Popen(full, stdout=out, stderr=err, cwd=ROOT, start_new_session=True)
        deadline = t0 + timeout
        while True:
            # wait4 reaps this child only and hands back its own rusage.
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                os.wait4(proc.pid, 0)
                proc.returncode = -9
                return {"timeout": True, "wall_s": timeout, "rc": None}
            # Fine polling: a 20 ms step would swamp a 30 ms run.
            time.sleep(0.0005)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    rss_mb = ru.ru_maxrss / 1024.0  # KiB on Linux
    if use_time:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
        if m:
            rss_mb = int(m.group(1)) / 1024.0
    return {
        "timeout": False,
        "wall_s": wall,
        "rss_mb": rss_mb,
        "rc": proc.returncode,
        "stdout": stdout,
        "stderr": stderr[-2000:],
    }


def run_peer(py: str, scenario: str, seed: int, timeout: float) -> tuple[dict, dict]:
    r = measure([py, str(RUN_PEER), scenario, "--seed", str(seed), "--json"], timeout)
    if r["timeout"] or r["rc"] != 0:
        return r, {}
    return r, json.loads(r["stdout"].strip().splitlines()[-1])


def run_ours(
    binary: str, scenario: str, seed: int, timeout: float, extra: list[str]
) -> tuple[dict, dict]:
    outdir = tempfile.mkdtemp(prefix="asyncflow-cmp-")
    try:
        cmd = [binary, "run", scenario, "--seed", str(seed), "--out", outdir, *extra]
        r = measure(cmd, timeout)
        summary = Path(outdir) / "summary.json"
        if r["timeout"] or r["rc"] != 0 or not summary.exists():
            return r, {}
        return r, read_ours_summary(summary)
    finally:
        shutil.rmtree(outdir, ignore_errors=True)


def repeat(fn, reps: int, *args) -> dict:
    """Median wall and RSS over `reps` runs; results of the first good run."""
    walls, rss, result, failure = [], [], None, None
    for _ in range(reps):
        r, res = fn(*args)
        if r["timeout"]:
            return {"status": "timeout", "wall_s": r["wall_s"]}
        if not res:
            failure = r
            break
        walls.append(r["wall_s"])
        rss.append(r["rss_mb"])
        result = result or res
    if failure is not None:
        return {"status": f"failed (exit {failure['rc']})", "stderr": failure["stderr"]}
    return {
        "status": "ok",
        "wall_s": statistics.median(walls),
        "walls": walls,
        "rss_mb": statistics.median(rss),
        "result": result,
    }


def _f(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def _ms(x) -> str:
    return "-" if x is None else f"{x * 1000:.2f}"


def table(rows: list[dict], reps: int) -> str:
    head = (
        "| scenario | peer wall s | ours wall s | speed-up | peer gen/s | ours gen/s "
        "| peer RSS MB | ours RSS MB | mean ms (peer / ours) | p95 ms (peer / ours) "
        "| p99 ms (peer / ours) |"
    )
    lines = [head, "|" + "---|" * 11]
    for row in rows:
        p, o = row["peer"], row["ours"]
        pr = p.get("result", {}) if p.get("status") == "ok" else {}
        orr = o.get("result", {}) if o.get("status") == "ok" else {}

        def wall(x):
            return _f(x.get("wall_s"), ".3f") if x.get("status") == "ok" else x.get("status", "-")

        def gen_rate(x, res):
            g = res.get("generated")
            return _f(g / x["wall_s"], ",.0f") if g and x.get("status") == "ok" else "-"

        ratio = (
            f"{p['wall_s'] / o['wall_s']:.1f}x"
            if p.get("status") == "ok" and o.get("status") == "ok"
            else "-"
        )
        lines.append(
            f"| {row['name']} | {wall(p)} | {wall(o)} | {ratio} "
            f"| {gen_rate(p, pr)} | {gen_rate(o, orr)} "
            f"| {_f(p.get('rss_mb'), '.0f')} | {_f(o.get('rss_mb'), '.0f')} "
            f"| {_ms(pr.get('mean_s'))} / {_ms(orr.get('mean_s'))} "
            f"| {_ms(pr.get('p95_s'))} / {_ms(orr.get('p95_s'))} "
            f"| {_ms(pr.get('p99_s'))} / {_ms(orr.get('p99_s'))} |"
        )
    lines.append("")
    lines.append(f"median of {reps} run(s) per engine; wall and RSS are whole process")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scenarios", nargs="*", help="YAML files (default: scenarios/bench/*.yml)")
    p.add_argument("--peer-python", default="/work/peer/venv/bin/python",
                   help="interpreter of the venv where asyncflow-sim is installed")
    p.add_argument("--asyncflow", default=str(ROOT / "target" / "release" / "asyncflow"),
                   help="this engine's binary")
    p.add_argument("--reps", type=int, default=3, help="repetitions per engine (median)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=300.0,
                   help="seconds before one run is abandoned (reported as timeout)")
    p.add_argument("--no-peer", action="store_true", help="run only this engine")
    p.add_argument("--no-ours", action="store_true", help="run only the peer")
    p.add_argument("--json", metavar="FILE", help="also write the raw measurements here")
    p.add_argument("--ours-args", action="append", metavar="ARGS",
                   help="extra arguments for this engine's run, e.g. '--outputs none --no-plots'; "
                        "repeat for several variants (one table row each, same peer runs); "
                        "default: one variant with the engine's defaults")
    a = p.parse_args(argv)
    variants = [shlex.split(v) for v in a.ours_args] if a.ours_args else [[]]

    scenarios = a.scenarios or sorted(str(x) for x in (ROOT / "scenarios" / "bench").glob("*.yml"))
    if not a.no_peer and not os.access(a.peer_python, os.X_OK):
        p.error(f"peer interpreter not found: {a.peer_python} (see docs/peer.md)")
    if not a.no_ours and not os.access(a.asyncflow, os.X_OK):
        p.error(f"engine binary not found: {a.asyncflow} (cargo build --release)")

    rows = []
    for sc in scenarios:
        sc = str(Path(sc).resolve())
        name = Path(sc).stem
        print(f"{name}: ", end="", file=sys.stderr, flush=True)
        runs = []
        for extra in variants:
            ours = (
                {"status": "skipped"}
                if a.no_ours
                else repeat(run_ours, a.reps, a.asyncflow, sc, a.seed, a.timeout, extra)
            )
            print(f"ours {ours['status']} ", end="", file=sys.stderr, flush=True)
            runs.append((extra, ours))
        peer = {"status": "skipped"} if a.no_peer else repeat(run_peer, a.reps, a.peer_python, sc, a.seed, a.timeout)
        print(f"peer {peer['status']}", file=sys.stderr, flush=True)
        for extra, ours in runs:
            label = f"{name} `{' '.join(extra)}`" if extra else name
            rows.append({"name": label, "path": sc, "seed": a.seed, "args": extra,
                         "peer": peer, "ours": ours})

    print(table(rows, a.reps))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
