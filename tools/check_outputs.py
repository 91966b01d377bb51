#!/usr/bin/env python3
"""Check that a run directory answers the common questions, in DuckDB and Polars.

Usage: check_outputs.py RUN_DIR

Runs every query of `queries_duckdb.py` and `queries_polars.py` on RUN_DIR and
exits non-zero if a query raises, if a query that was not skipped returns no
rows, or if the two engines disagree (columns, row count, or any value beyond a
relative 1e-9). Files whose `asyncflow.status` is not `complete` are reported
(an interrupted run is still a valid input).

Exit codes: 0 all checks passed, 1 a check failed, 2 bad usage.
"""

from __future__ import annotations

import math
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import queries_duckdb  # noqa: E402
import queries_polars  # noqa: E402


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _compare(d: queries_duckdb.Result, p: queries_polars.Result) -> str | None:
    """Why the two answers differ, or None."""
    if (d.skipped is None) != (p.skipped is None):
        return f"skipped in one engine only (duckdb: {d.skipped}, polars: {p.skipped})"
    if d.skipped is not None:
        return None
    if d.columns != p.frame.columns:
        return f"columns differ: duckdb {d.columns} vs polars {p.frame.columns}"
    p_rows = p.frame.rows()
    if len(d.rows) != len(p_rows):
        return f"row counts differ: duckdb {len(d.rows)} vs polars {len(p_rows)}"
    for i, (dr, pr) in enumerate(zip(d.rows, p_rows)):
        if not all(_same(x, y) for x, y in zip(dr, pr)):
            return f"row {i} differs: duckdb {dr} vs polars {pr}"
    return None


def check(run_dir: Path) -> list[str]:
    """Every failure found (empty when the directory passes)."""
    failures: list[str] = []
    if not any(run_dir.glob("*.parquet")):
        return [f"{run_dir}: no Parquet file"]
    for fname, status in queries_duckdb.file_status(run_dir).items():
        print(f"{fname}: status {status}")
    engines = {}
    con = queries_duckdb._connect(run_dir)
    for label, module, arg in (
        ("duckdb", queries_duckdb, con),
        ("polars", queries_polars, run_dir),
    ):
        results = []
        for query in module.QUERIES:
            try:
                results.append(query(arg))
            except Exception:  # noqa: BLE001 - every failure is reported, none stops the others
                failures.append(f"{label}: {query.__name__} raised\n{traceback.format_exc()}")
                results.append(None)
        engines[label] = results
    for d, p in zip(engines["duckdb"], engines["polars"]):
        if d is None or p is None:
            continue
        if d.skipped is None and not d.rows:
            failures.append(f"duckdb: {d.name}: empty result")
        if p.skipped is None and p.frame.is_empty():
            failures.append(f"polars: {p.name}: empty result")
        why = _compare(d, p)
        if why:
            failures.append(f"{d.name}: {why}")
        state = f"skipped ({d.skipped})" if d.skipped else f"{len(d.rows)} rows"
        print(f"{d.name}: {state}")
    return failures


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    run_dir = Path(argv[1])
    if not run_dir.is_dir():
        print(f"error: {run_dir} is not a directory", file=sys.stderr)
        return 2
    failures = check(run_dir)
    for f in failures:
        print(f"FAIL {f}", file=sys.stderr)
    if failures:
        return 1
    print("all output checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
