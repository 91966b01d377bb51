#!/usr/bin/env python3
"""Common questions about an asyncflow run directory, answered with Polars.

Usage: queries_polars.py RUN_DIR

The same questions as `tools/queries_duckdb.py`, with the same result columns
and row order, so `tools/check_outputs.py` can compare the two answers.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import polars as pl

# Seconds of context shown before an outage starts and after it ends.
OUTAGE_MARGIN_S = 10.0


@dataclass
class Result:
    """One query's answer: a frame, or the reason it was skipped."""

    name: str
    frame: pl.DataFrame | None = None
    skipped: str | None = None


def _scan(run_dir: Path, name: str) -> pl.LazyFrame | None:
    """The file as a lazy frame with dictionary (Categorical) columns as plain
    strings, so frames from different files join without a shared string cache."""
    path = run_dir / f"{name}.parquet"
    if not path.exists():
        return None
    return pl.scan_parquet(path).with_columns(pl.col(pl.Categorical).cast(pl.String))


def p99_per_server_per_minute(run_dir: Path) -> Result:
    """p99 latency of completed requests, per server and minute of completion."""
    name = "p99 latency per server per minute"
    requests = _scan(run_dir, "requests")
    if requests is None:
        return Result(name, skipped="no requests.parquet")
    frame = (
        requests.filter(pl.col("status") == "completed")
        .with_columns((pl.col("finished_s") // 60).cast(pl.Int64).alias("minute"))
        .group_by("server", "minute")
        .agg(
            pl.len().alias("completed"),
            pl.col("latency_s").quantile(0.99, interpolation="linear").alias("p99_latency_s"),
        )
        .sort("server", "minute")
        .collect()
    )
    return Result(name, frame)


def ready_queue_around_outage(run_dir: Path) -> Result:
    """`ready_queue_len` of each outage's target server, from OUTAGE_MARGIN_S
    before the outage starts to OUTAGE_MARGIN_S after it ends."""
    name = "ready queue around outage"
    events = _scan(run_dir, "events")
    samples = _scan(run_dir, "samples")
    if events is None:
        return Result(name, skipped="no events.parquet")
    if samples is None:
        return Result(name, skipped="no samples.parquet")
    outages = (
        events.filter(pl.col("kind").is_in(["server_down", "server_up"]))
        .group_by("event_id", "target")
        .agg(
            pl.col("t_s").filter(pl.col("phase") == "start").min().alias("start_s"),
            pl.col("t_s").filter(pl.col("phase") == "end").max().alias("end_s"),
        )
        .filter(pl.col("start_s").is_not_null())
        # An outage still open when the run ended has no end row: it lasts until
        # the last sample.
        .with_columns(pl.col("end_s").fill_null(float("inf")))
        .collect()
    )
    if outages.is_empty():
        return Result(name, skipped="the run has no server outage")
    frame = (
        samples.filter(
            (pl.col("entity_kind") == "server") & (pl.col("metric") == "ready_queue_len")
        )
        .join(outages.lazy(), left_on="entity", right_on="target")
        .filter(
            (pl.col("t_s") >= pl.col("start_s") - OUTAGE_MARGIN_S)
            & (pl.col("t_s") <= pl.col("end_s") + OUTAGE_MARGIN_S)
        )
        .select(
            "event_id",
            pl.col("entity").alias("server"),
            "t_s",
            (pl.col("t_s") - pl.col("start_s")).alias("since_start_s"),
            "value",
            "mean",
            "max",
        )
        .sort("event_id", "t_s")
        .collect()
    )
    return Result(name, frame)


def latency_by_endpoint(run_dir: Path) -> Result:
    """Latency distribution of completed requests per endpoint."""
    name = "latency by endpoint"
    requests = _scan(run_dir, "requests")
    if requests is None:
        return Result(name, skipped="no requests.parquet")
    lat = pl.col("latency_s")
    frame = (
        requests.filter(pl.col("status") == "completed")
        .group_by("endpoint")
        .agg(
            pl.len().alias("completed"),
            lat.mean().alias("mean_s"),
            lat.quantile(0.5, interpolation="linear").alias("p50_s"),
            lat.quantile(0.95, interpolation="linear").alias("p95_s"),
            lat.quantile(0.99, interpolation="linear").alias("p99_s"),
            lat.max().alias("max_s"),
        )
        .sort("endpoint")
        .collect()
    )
    return Result(name, frame)


def drop_rate_per_edge(run_dir: Path) -> Result:
    """Requests dropped on each edge over all requests that ended (completed or
    dropped). Edges come from the drops and, when sampled, from samples.parquet,
    so an edge that lost nothing shows 0."""
    name = "drop rate per edge"
    requests = _scan(run_dir, "requests")
    if requests is None:
        return Result(name, skipped="no requests.parquet")
    samples = _scan(run_dir, "samples")
    sent = requests.select(pl.len()).collect().item()
    drops = (
        requests.filter((pl.col("status") == "dropped") & pl.col("dropped_on").is_not_null())
        .group_by(pl.col("dropped_on").alias("edge"))
        .agg(pl.len().alias("dropped"))
    )
    edges = drops.select("edge")
    if samples is not None:
        sampled = samples.filter(pl.col("entity_kind") == "edge").select(
            pl.col("entity").alias("edge")
        )
        edges = pl.concat([edges, sampled])
    frame = (
        edges.unique()
        .join(drops, on="edge", how="left")
        .with_columns(pl.col("dropped").fill_null(0).cast(pl.Int64), pl.lit(sent, pl.Int64).alias("sent"))
        .with_columns((pl.col("dropped") / pl.col("sent")).alias("drop_rate"))
        .select("edge", "dropped", "sent", "drop_rate")
        .sort("edge")
        .collect()
    )
    if frame.is_empty():
        return Result(name, skipped="no request was dropped and no edge was sampled")
    return Result(name, frame)


def latency_by_service(run_dir: Path) -> Result:
    """Calls per callee and endpoint, seen from the caller: count, share that
    completed, mean and p99 duration of the completed ones."""
    name = "latency by service"
    spans = _scan(run_dir, "spans")
    if spans is None:
        return Result(name, skipped="no spans.parquet (the run made no calls)")
    done = pl.col("status") == "completed"
    dur = pl.col("duration_s").filter(done)
    frame = (
        spans.group_by("callee", "endpoint")
        .agg(
            pl.len().alias("calls"),
            done.cast(pl.Float64).mean().alias("completed_share"),
            dur.mean().alias("mean_s"),
            dur.quantile(0.99, interpolation="linear").alias("p99_s"),
        )
        .sort("callee", "endpoint")
        .collect()
    )
    return Result(name, frame)


def critical_paths(run_dir: Path) -> Result:
    """Each completed trace's critical path (the rule is in the DuckDB
    version's docstring): the critical set grows one step per loop, along
    "the sibling before" and "the last child" links."""
    name = "critical paths"
    spans = _scan(run_dir, "spans")
    requests = _scan(run_dir, "requests")
    if spans is None or requests is None:
        return Result(name, skipped="no spans.parquet (the run made no calls)")
    done = (
        spans.filter(pl.col("status") == "completed")
        .select("trace_id", "parent_span_id", "span_id", "callee", "start_s", "end_s", "duration_s")
        .collect()
    )
    # Null parents (calls of the root's server) group under a sentinel.
    keyed = done.with_columns(pl.col("parent_span_id").fill_null(0).alias("pkey"))
    last_child = (
        keyed.sort(["trace_id", "pkey", "end_s", "span_id"], descending=[False, False, True, False])
        .group_by("trace_id", "pkey", maintain_order=True)
        .first()
        .select("trace_id", "parent_span_id", "span_id")
    )
    pairs = keyed.join(keyed, on=["trace_id", "pkey"], suffix="_b").filter(
        (pl.col("span_id_b") != pl.col("span_id")) & (pl.col("end_s_b") <= pl.col("start_s"))
    )
    before = (
        pairs.sort(["span_id", "end_s_b", "span_id_b"], descending=[False, True, False])
        .group_by("span_id", maintain_order=True)
        .first()
        .select("trace_id", pl.col("span_id").alias("from_span"), pl.col("span_id_b").alias("to_span"))
    )
    down = last_child.filter(pl.col("parent_span_id").is_not_null()).select(
        "trace_id", pl.col("parent_span_id").alias("from_span"), pl.col("span_id").alias("to_span")
    )
    links = pl.concat([before, down])
    crit = last_child.filter(pl.col("parent_span_id").is_null()).select("trace_id", "span_id")
    frontier = crit
    while not frontier.is_empty():
        step = frontier.join(
            links, left_on=["trace_id", "span_id"], right_on=["trace_id", "from_span"]
        ).select("trace_id", pl.col("to_span").alias("span_id"))
        frontier = step.join(crit, on=["trace_id", "span_id"], how="anti").unique()
        crit = pl.concat([crit, frontier])
    paths = (
        crit.join(done, on=["trace_id", "span_id"])
        .sort("trace_id", "start_s", "span_id")
        .group_by("trace_id", maintain_order=True)
        .agg(
            pl.col("callee").str.join(" > ").alias("calls_path"),
            pl.len().alias("calls"),
        )
    )
    roots = (
        requests.filter(pl.col("status") == "completed")
        .select(pl.col("request_id").alias("trace_id"), "server", "latency_s")
        .collect()
    )
    frame = (
        paths.join(roots, on="trace_id")
        .group_by(
            (pl.col("server") + " > " + pl.col("calls_path")).alias("critical_path"),
            pl.col("calls").cast(pl.Int64),
        )
        .agg(
            pl.len().alias("traces"),
            pl.col("latency_s").mean().alias("mean_latency_s"),
        )
        .sort(["traces", "critical_path"], descending=[True, False])
    )
    return Result(name, frame)


QUERIES = [
    p99_per_server_per_minute,
    ready_queue_around_outage,
    latency_by_endpoint,
    drop_rate_per_edge,
    latency_by_service,
    critical_paths,
]


def file_status(run_dir: Path) -> dict[str, str]:
    """`asyncflow.status` (complete / interrupted) of each Parquet file present."""
    return {
        path.name: pl.read_parquet_metadata(path).get("asyncflow.status", "unknown")
        for path in sorted(run_dir.glob("*.parquet"))
    }


def run_all(run_dir: Path) -> list[Result]:
    """Every query against one run directory."""
    return [q(run_dir) for q in QUERIES]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    run_dir = Path(argv[1])
    if not run_dir.is_dir():
        print(f"error: {run_dir} is not a directory", file=sys.stderr)
        return 2
    for fname, status in file_status(run_dir).items():
        print(f"{fname}: {status}")
    print()
    pl.Config.set_tbl_rows(20)
    for result in run_all(run_dir):
        if result.skipped is not None:
            print(f"## {result.name}: skipped ({result.skipped})\n")
        else:
            print(f"## {result.name} ({result.frame.height} rows)")
            print(result.frame, end="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
