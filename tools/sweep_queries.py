#!/usr/bin/env python3
"""p99 latency against the swept parameters, with 95% intervals, from a sweep
directory, answered twice: with DuckDB and with Polars, straight from the
hive-partitioned request files (OUT/point=<k>/replication=<r>/requests.parquet,
read as OUT/**/requests.parquet with hive partitioning).

Usage: sweep_queries.py OUT

For each point: every replication's p99 of `latency_s` over completed requests
(the smallest value with at least 99% of the values at or below it: the order
statistic of rank ceil(0.99 n)), then the mean across
replications and the Student t 95% half-width. The script checks that

- DuckDB and Polars agree exactly on every replication's p99;
- each replication's p99 is within 0.2% of the engine's own figure in
  summary.parquet (the engine's quantiles come from an HDR histogram, within
  0.1%);
- the means and intervals agree with aggregate.parquet within 0.5%;
- bands.parquet's per-tick means equal the mean of the replications' samples
  (read through hive partitioning as well).

and exits 1 if any check fails. Install: pip install duckdb polars.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import duckdb
import polars as pl

Q = 0.99
# Engine quantiles are within 0.1% of the exact order statistic; the rank
# convention may differ by one order statistic, hence 0.2%.
P99_TOL = 2e-3
AGG_TOL = 5e-3


def t_quantile(df: int, p: float = 0.975) -> float:
    """Student t quantile by bisection on the CDF (Simpson integration of the
    density); accurate to ~1e-9 for the two-sided 95% values used here."""

    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)

    def pdf(x: float) -> float:
        return c * (1 + x * x / df) ** (-(df + 1) / 2)

    def cdf(x: float) -> float:
        n = 2000
        h = x / n
        s = pdf(0) + pdf(x) + sum((4 if i % 2 else 2) * pdf(i * h) for i in range(1, n))
        return 0.5 + s * h / 3

    lo, hi = 0.0, 1.0
    while cdf(hi) < p:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        if cdf(mid) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def ci(values: list[float]) -> tuple[float, float | None]:
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, None
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, t_quantile(n - 1) * sd / math.sqrt(n)


def swept_columns(out: Path) -> list[str]:
    cols = pl.read_parquet_schema(out / "points.parquet")
    return [c for c in cols if c not in ("point", "seed")]


def p99_duckdb(out: Path) -> dict[tuple[int, int], float]:
    con = duckdb.connect()
    glob = str(out / "**" / "requests.parquet")
    rows = con.execute(
        f"""
        SELECT point, replication, quantile_disc(latency_s, {Q}) AS p99
        FROM read_parquet('{glob}', hive_partitioning = true)
        WHERE status = 'completed'
        GROUP BY point, replication
        ORDER BY point, replication
        """
    ).fetchall()
    return {(int(p), int(r)): float(v) for p, r, v in rows}


def p99_polars(out: Path) -> dict[tuple[int, int], float]:
    glob = str(out / "**" / "requests.parquet")
    df = (
        pl.scan_parquet(glob, hive_partitioning=True)
        .filter(pl.col("status") == "completed")
        .group_by("point", "replication")
        # The same order statistic as DuckDB's quantile_disc: rank ceil(q n).
        .agg(
            pl.col("latency_s")
            .sort()
            .get((pl.len() * Q).ceil().cast(pl.Int64) - 1)
            .alias("p99")
        )
        .sort("point", "replication")
        .collect()
    )
    return {(int(p), int(r)): float(v) for p, r, v in df.iter_rows()}


def by_point(p99: dict[tuple[int, int], float]) -> dict[int, list[float]]:
    out: dict[int, list[float]] = {}
    for (p, _r), v in sorted(p99.items()):
        out.setdefault(p, []).append(v)
    return out


def check_bands(out: Path) -> str | None:
    """Compare bands.parquet with the replications' samples; None when fine."""
    glob = str(out / "**" / "samples.parquet")
    if not list(out.glob("point=*/replication=*/samples.parquet")):
        return None
    con = duckdb.connect()
    worst = con.execute(
        f"""
        WITH s AS (
            SELECT point, entity_kind, entity, metric, t_s,
                   avg("mean") AS m, count(*) AS n
            FROM read_parquet('{glob}', hive_partitioning = true)
            GROUP BY ALL
        )
        SELECT max(abs(s.m - b."mean") / greatest(abs(s.m), 1e-12)),
               sum(CASE WHEN s.n = b.replications THEN 0 ELSE 1 END),
               count(*), (SELECT count(*) FROM '{out / "bands.parquet"}')
        FROM s JOIN '{out / "bands.parquet"}' b
          ON s.point = b.point AND s.entity_kind = b.entity_kind
         AND s.entity = b.entity AND s.metric = b.metric AND s.t_s = b.t_s
        """
    ).fetchone()
    rel, bad_n, joined, total = worst
    if joined != total:
        return f"bands: {joined} of {total} rows match a samples tick"
    if bad_n:
        return f"bands: {bad_n} rows with a wrong replication count"
    if rel is not None and rel > 1e-9:
        return f"bands: per-tick mean off by {rel:.3g} (relative)"
    return None


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(sys.argv[1])
    problems: list[str] = []

    duck = p99_duckdb(out)
    polars = p99_polars(out)
    if duck != polars:
        diff = [k for k in sorted(set(duck) | set(polars)) if duck.get(k) != polars.get(k)]
        problems.append(f"DuckDB and Polars disagree on p99 for (point, replication) {diff[:5]}")

    summary = pl.read_parquet(out / "summary.parquet")
    for p, r, engine in summary.select("point", "replication", "latency_p99_s").iter_rows():
        ours = duck.get((int(p), int(r)))
        if ours is None:
            problems.append(f"point {p} replication {r}: no completed request")
        elif abs(ours - engine) > P99_TOL * engine:
            problems.append(f"point {p} replication {r}: p99 {ours} vs engine {engine}")

    points = pl.read_parquet(out / "points.parquet")
    swept = swept_columns(out)
    agg = pl.read_parquet(out / "aggregate.parquet")
    agg_by_point = {row["point"]: row for row in agg.iter_rows(named=True)}
    header = ["point", *swept, "n", "p99 mean (ms)", "± 95% (ms)"]
    print("p99 latency per point (DuckDB; Polars agrees)")
    print("  ".join(header))
    for row in points.iter_rows(named=True):
        p = row["point"]
        vals = by_point(duck).get(p, [])
        if not vals:
            continue
        mean, half = ci(vals)
        a = agg_by_point.get(p)
        if a is not None:
            if abs(a["latency_p99_s_mean"] - mean) > AGG_TOL * abs(mean):
                problems.append(f"point {p}: p99 mean {mean} vs aggregate {a['latency_p99_s_mean']}")
            if half is not None and a["latency_p99_s_ci_half"] is not None:
                # Interval widths come from per-run p99s that differ by up to
                # P99_TOL, so compare them against the mean's scale.
                if abs(a["latency_p99_s_ci_half"] - half) > AGG_TOL * abs(mean) + 0.05 * half:
                    problems.append(
                        f"point {p}: p99 half-width {half} vs aggregate {a['latency_p99_s_ci_half']}"
                    )
        cells = [str(p), *(str(row[c]) for c in swept), str(len(vals)), f"{mean * 1e3:.3f}",
                 "-" if half is None else f"{half * 1e3:.3f}"]
        print("  ".join(cells))

    bands = check_bands(out)
    if bands:
        problems.append(bands)

    for pr in problems:
        print(f"FAIL: {pr}", file=sys.stderr)
    if problems:
        return 1
    print("sweep queries: DuckDB and Polars agree with summary, aggregate and bands")
    return 0


if __name__ == "__main__":
    sys.exit(main())
