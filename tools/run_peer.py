#!/usr/bin/env python3
"""Run the peer simulator (AsyncFlow 0.1.1) once on a scenario and report.

Must be run with the peer's own interpreter (the venv it is installed in, see
docs/peer.md), e.g.

    /work/peer/venv/bin/python tools/run_peer.py scenarios/bench/quickstart.yml --seed 1 --json

Seeding: the peer builds one `numpy.random.Generator` in `SimulationRunner`
and hands that same object to every actor when `run()` wires them, so
replacing `runner.rng` before `run()` makes the whole run reproducible.

Latencies are those of completed requests only (the peer keeps no record of
dropped ones); percentiles use numpy's default linear interpolation, like the
peer's own `ResultsAnalyzer`.

With `--reference-out FILE --seeds 1-20 SCENARIO...` it instead runs every
scenario once per seed, each in a fresh process, and writes the per-seed
values and their across-seed mean and standard deviation to FILE (this is how
tests/data/peer_reference.json is made).
"""

from __future__ import annotations

import time

# Start the clock before the heavy imports: the wall figure is meant to cover
# the whole process (interpreter start-up aside), as `/usr/bin/time` would.
_T0 = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402


def _percentiles(lat: list[float]) -> dict[str, float | None]:
    import numpy as np

    if not lat:
        return {"mean_s": None, "p50_s": None, "p95_s": None, "p99_s": None}
    arr = np.asarray(lat, dtype=float)
    return {
        "mean_s": float(arr.mean()),
        "p50_s": float(np.median(arr)),
        "p95_s": float(np.percentile(arr, 95)),
        "p99_s": float(np.percentile(arr, 99)),
    }


def run(scenario: str, seed: int | None) -> dict:
    """Run the peer once and return the summary dict."""
    import numpy as np
    import simpy
    from asyncflow.runtime.simulation_runner import SimulationRunner

    t_load = time.perf_counter()
    env = simpy.Environment()
    runner = SimulationRunner.from_yaml(env=env, yaml_path=scenario)
    if seed is not None:
        runner.rng = np.random.default_rng(seed)
    t_run = time.perf_counter()
    runner.run()
    t_done = time.perf_counter()

    # The client's private list of (start, finish) pairs is exactly what the
    # peer's analyzer turns into latencies; reading it directly avoids also
    # building throughput series and plots.
    client = next(iter(runner._client_runtime.values()))  # noqa: SLF001
    lat = [c.finish - c.start for c in client.rqs_clock]
    generated = sum(g.id_counter for g in runner._rqs_runtime.values())  # noqa: SLF001

    out = {
        "engine": "asyncflow-sim 0.1.1 (peer)",
        "scenario": scenario,
        "seed": seed,
        "generated": generated,
        "completed": len(lat),
        **_percentiles(lat),
        "load_s": t_run - t_load,
        "run_s": t_done - t_run,
    }
    out["wall_s"] = time.perf_counter() - _T0
    # ru_maxrss is in KiB on Linux.
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return out


def _seed_list(text: str) -> list[int]:
    """Parse `1-10` or `1,2,5` into a list of seeds."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds.extend(range(int(lo), int(hi or lo) + 1))
    return seeds


def _mean_sd(xs: list[float]) -> dict[str, float | int]:
    n = len(xs)
    m = sum(xs) / n
    # Sample standard deviation (n - 1): these are independent replications.
    sd = (sum((x - m) ** 2 for x in xs) / (n - 1)) ** 0.5 if n > 1 else 0.0
    return {"n": n, "mean": m, "sd": sd}


def reference(scenarios: list[str], seeds: list[int], out_path: str) -> int:
    """Run every scenario once per seed, each in a fresh process, and write
    the per-seed values plus their across-seed mean and standard deviation.

    The file is rewritten after every run so an interrupted job keeps what it
    has measured so far.
    """
    import os
    import subprocess

    doc: dict = {
        "peer": "asyncflow-sim 0.1.1",
        "seeding": "runner.rng = numpy.random.default_rng(seed) before runner.run()",
        "latency": "seconds, completed requests only; percentiles by numpy linear interpolation",
        "across_seeds": "mean and sample standard deviation (n - 1) over the runs",
        "command": "/work/peer/venv/bin/python tools/run_peer.py FILES... --seeds 1-20 "
                   "--reference-out tests/data/peer_reference.json",
        "scenarios": {},
    }
    if os.path.exists(out_path):
        with open(out_path) as f:
            doc = json.load(f)
    for sc in scenarios:
        name = os.path.basename(sc)
        entry = doc["scenarios"].setdefault(name, {"path": sc, "runs": []})
        done = {r["seed"] for r in entry["runs"]}
        for seed in seeds:
            if seed in done:
                continue
            proc = subprocess.run(
                [sys.executable, os.path.abspath(__file__), sc, "--seed", str(seed), "--json"],
                check=True,
                capture_output=True,
                text=True,
            )
            r = json.loads(proc.stdout)
            entry["runs"].append(
                {k: r[k] for k in ("seed", "generated", "completed", "mean_s", "p50_s", "p95_s", "p99_s")}
            )
            entry["runs"].sort(key=lambda x: x["seed"])
            entry["across_seeds"] = {
                k: _mean_sd([x[k] for x in entry["runs"]])
                for k in ("completed", "mean_s", "p95_s", "p99_s")
            }
            with open(out_path + ".tmp", "w") as f:
                json.dump(doc, f, indent=2)
                f.write("\n")
            os.replace(out_path + ".tmp", out_path)
            print(f"{name} seed {seed}: {r['completed']} completed, "
                  f"mean {r['mean_s']:.6f} p95 {r['p95_s']:.6f} ({r['wall_s']:.1f} s)",
                  flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scenario", nargs="+", help="AsyncFlow-compatible YAML file(s)")
    p.add_argument("--seed", type=int, default=None, help="seed for numpy's default_rng")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--reference-out", metavar="FILE",
                   help="run every scenario for every seed of --seeds and write FILE")
    p.add_argument("--seeds", default="1-10", help="seeds for --reference-out, e.g. 1-10 or 1,3")
    a = p.parse_args(argv)

    if a.reference_out:
        return reference(a.scenario, _seed_list(a.seeds), a.reference_out)
    if len(a.scenario) != 1:
        p.error("exactly one scenario unless --reference-out is given")
    res = run(a.scenario[0], a.seed)
    if a.json:
        json.dump(res, sys.stdout)
        sys.stdout.write("\n")
    else:
        for k, v in res.items():
            print(f"{k:12} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
