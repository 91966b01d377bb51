#!/usr/bin/env python3
"""Common questions about an asyncflow run directory, answered with DuckDB.

Usage: queries_duckdb.py RUN_DIR

RUN_DIR holds requests.parquet, samples.parquet and events.parquet as written by
`asyncflow run`. Each query prints a table; a query whose input is absent (no
outage in the run, no samples file) says why and is skipped.

`tools/queries_polars.py` answers the same questions with Polars, and
`tools/check_outputs.py` runs both and compares them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

# Seconds of context shown before an outage starts and after it ends.
OUTAGE_MARGIN_S = 10.0


@dataclass
class Result:
    """One query's answer: a table, or the reason it was skipped."""

    name: str
    columns: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    skipped: str | None = None


def _connect(run_dir: Path) -> duckdb.DuckDBPyConnection:
    """A connection with one view per Parquet file present in the run."""
    con = duckdb.connect()
    for name in ("requests", "samples", "events", "spans"):
        path = run_dir / f"{name}.parquet"
        if path.exists():
            quoted = str(path).replace("'", "''")
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{quoted}')")
    return con


def _has(con: duckdb.DuckDBPyConnection, view: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_views() WHERE view_name = ?", [view]
        ).fetchone()[0]
    )


def _table(con: duckdb.DuckDBPyConnection, name: str, sql: str, params=None) -> Result:
    cur = con.execute(sql, params or [])
    columns = [d[0] for d in cur.description]
    return Result(name, columns, cur.fetchall())


def p99_per_server_per_minute(con) -> Result:
    """p99 latency of completed requests, per server and minute of completion."""
    name = "p99 latency per server per minute"
    if not _has(con, "requests"):
        return Result(name, skipped="no requests.parquet")
    return _table(
        con,
        name,
        """
        SELECT server::VARCHAR AS server,
               CAST(floor(finished_s / 60) AS BIGINT) AS minute,
               count(*) AS completed,
               quantile_cont(latency_s, 0.99) AS p99_latency_s
        FROM requests
        WHERE status = 'completed'
        GROUP BY ALL
        ORDER BY server, minute
        """,
    )


def ready_queue_around_outage(con) -> Result:
    """`ready_queue_len` of each outage's target server, from OUTAGE_MARGIN_S
    before the outage starts to OUTAGE_MARGIN_S after it ends."""
    name = "ready queue around outage"
    if not _has(con, "events"):
        return Result(name, skipped="no events.parquet")
    if not _has(con, "samples"):
        return Result(name, skipped="no samples.parquet")
    outages = con.execute(
        "SELECT count(*) FROM events WHERE kind = 'server_down' AND phase = 'start'"
    ).fetchone()[0]
    if outages == 0:
        return Result(name, skipped="the run has no server outage")
    # An outage still open when the run ended (interrupted run, or a window past
    # the horizon) has no end row: it lasts until the last sample.
    return _table(
        con,
        name,
        """
        WITH outage AS (
            SELECT event_id::VARCHAR AS event_id, target::VARCHAR AS target,
                   min(t_s) FILTER (WHERE phase = 'start') AS start_s,
                   max(t_s) FILTER (WHERE phase = 'end') AS end_s
            FROM events
            WHERE kind IN ('server_down', 'server_up')
            GROUP BY ALL
        )
        SELECT o.event_id, o.target AS server, s.t_s,
               s.t_s - o.start_s AS since_start_s,
               s.value, s.mean, s.max
        FROM samples s
        JOIN outage o ON s.entity::VARCHAR = o.target
        WHERE s.entity_kind = 'server'
          AND s.metric = 'ready_queue_len'
          AND o.start_s IS NOT NULL
          AND s.t_s >= o.start_s - ?
          AND s.t_s <= coalesce(o.end_s, 'infinity'::DOUBLE) + ?
        ORDER BY o.event_id, s.t_s
        """,
        [OUTAGE_MARGIN_S, OUTAGE_MARGIN_S],
    )


def latency_by_endpoint(con) -> Result:
    """Latency distribution of completed requests per endpoint."""
    name = "latency by endpoint"
    if not _has(con, "requests"):
        return Result(name, skipped="no requests.parquet")
    return _table(
        con,
        name,
        """
        SELECT endpoint::VARCHAR AS endpoint,
               count(*) AS completed,
               avg(latency_s) AS mean_s,
               quantile_cont(latency_s, 0.5) AS p50_s,
               quantile_cont(latency_s, 0.95) AS p95_s,
               quantile_cont(latency_s, 0.99) AS p99_s,
               max(latency_s) AS max_s
        FROM requests
        WHERE status = 'completed'
        GROUP BY ALL
        ORDER BY endpoint
        """,
    )


def drop_rate_per_edge(con) -> Result:
    """Requests dropped on each edge over all requests that ended (completed or
    dropped). Edges come from the drops and, when sampled, from samples.parquet,
    so an edge that lost nothing shows 0."""
    name = "drop rate per edge"
    if not _has(con, "requests"):
        return Result(name, skipped="no requests.parquet")
    sampled_edges = (
        "UNION SELECT DISTINCT entity::VARCHAR FROM samples WHERE entity_kind = 'edge'"
        if _has(con, "samples")
        else ""
    )
    result = _table(
        con,
        name,
        f"""
        WITH sent AS (SELECT count(*) AS sent FROM requests),
        drops AS (
            SELECT dropped_on::VARCHAR AS edge, count(*) AS dropped
            FROM requests
            WHERE status = 'dropped' AND dropped_on IS NOT NULL
            GROUP BY ALL
        ),
        edges AS (SELECT edge FROM drops {sampled_edges})
        SELECT e.edge,
               coalesce(d.dropped, 0) AS dropped,
               s.sent,
               coalesce(d.dropped, 0) / s.sent AS drop_rate
        FROM edges e CROSS JOIN sent s LEFT JOIN drops d USING (edge)
        ORDER BY e.edge
        """,
    )
    if not result.rows:
        result.skipped = "no request was dropped and no edge was sampled"
    return result


def latency_by_service(con) -> Result:
    """Calls per callee and endpoint, seen from the caller: count, share that
    completed, mean and p99 duration of the completed ones."""
    name = "latency by service"
    if not _has(con, "spans"):
        return Result(name, skipped="no spans.parquet (the run made no calls)")
    return _table(
        con,
        name,
        """
        SELECT callee::VARCHAR AS callee,
               endpoint::VARCHAR AS endpoint,
               count(*) AS calls,
               avg(CASE WHEN status = 'completed' THEN 1.0 ELSE 0.0 END) AS completed_share,
               avg(duration_s) FILTER (WHERE status = 'completed') AS mean_s,
               quantile_cont(duration_s, 0.99) FILTER (WHERE status = 'completed') AS p99_s
        FROM spans
        GROUP BY ALL
        ORDER BY callee, endpoint
        """,
    )


def critical_paths(con) -> Result:
    """Each completed trace's critical path, rebuilt from spans.parquet.

    A caller resumes when the call it waited for last replies, so the path
    walks back from that call: under a span (or the root request), the
    completed child that ended last is critical; before a critical child, the
    sibling that ended last no later than it started is critical too (the call
    it waited for before); and so on down each critical span. Ties go to the
    lower span id. The path lists the root's server and then the critical
    calls' callees in start order; the table counts traces per path, with their
    mean root latency."""
    name = "critical paths"
    if not (_has(con, "spans") and _has(con, "requests")):
        return Result(name, skipped="no spans.parquet (the run made no calls)")
    return _table(
        con,
        name,
        """
        WITH RECURSIVE
        done AS (
            SELECT trace_id, parent_span_id, span_id, callee::VARCHAR AS callee,
                   start_s, end_s, duration_s
            FROM spans
            WHERE status = 'completed'
        ),
        last_child AS (
            SELECT trace_id, parent_span_id, span_id
            FROM (
                SELECT *, row_number() OVER (
                    PARTITION BY trace_id, parent_span_id ORDER BY end_s DESC, span_id
                ) AS rk
                FROM done
            )
            WHERE rk = 1
        ),
        before AS (
            SELECT a.trace_id, a.span_id AS from_span, b.span_id AS to_span
            FROM (
                SELECT a.trace_id, a.span_id, b.span_id AS b_span,
                       row_number() OVER (
                           PARTITION BY a.span_id ORDER BY b.end_s DESC, b.span_id
                       ) AS rk
                FROM done a JOIN done b
                  ON b.trace_id = a.trace_id
                 AND b.parent_span_id IS NOT DISTINCT FROM a.parent_span_id
                 AND b.span_id <> a.span_id
                 AND b.end_s <= a.start_s
            ) a JOIN done b ON b.span_id = a.b_span
            WHERE a.rk = 1
        ),
        next AS (
            SELECT trace_id, from_span, to_span FROM before
            UNION ALL
            SELECT trace_id, parent_span_id AS from_span, span_id AS to_span
            FROM last_child WHERE parent_span_id IS NOT NULL
        ),
        crit(trace_id, span_id) AS (
            SELECT trace_id, span_id FROM last_child WHERE parent_span_id IS NULL
            UNION
            SELECT n.trace_id, n.to_span
            FROM crit c JOIN next n ON n.trace_id = c.trace_id AND n.from_span = c.span_id
        ),
        paths AS (
            SELECT d.trace_id,
                   string_agg(d.callee, ' > ' ORDER BY d.start_s, d.span_id) AS calls_path,
                   count(*) AS calls
            FROM crit c JOIN done d ON d.span_id = c.span_id
            GROUP BY d.trace_id
        )
        SELECT r.server::VARCHAR || ' > ' || p.calls_path AS critical_path,
               p.calls,
               count(*) AS traces,
               avg(r.latency_s) AS mean_latency_s
        FROM paths p JOIN requests r ON r.request_id = p.trace_id
        WHERE r.status = 'completed'
        GROUP BY ALL
        ORDER BY traces DESC, critical_path
        """,
    )


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
    con = duckdb.connect()
    status = {}
    for path in sorted(run_dir.glob("*.parquet")):
        row = con.execute(
            "SELECT decode(value) FROM parquet_kv_metadata(?) "
            "WHERE decode(key) = 'asyncflow.status'",
            [str(path)],
        ).fetchone()
        status[path.name] = row[0] if row else "unknown"
    return status


def run_all(run_dir: Path) -> list[Result]:
    """Every query against one run directory."""
    con = _connect(run_dir)
    return [q(con) for q in QUERIES]


def render(result: Result, limit: int = 20) -> str:
    """A plain-text table (at most `limit` rows shown)."""
    if result.skipped is not None:
        return f"## {result.name}: skipped ({result.skipped})\n"
    lines = [f"## {result.name} ({len(result.rows)} rows)", " | ".join(result.columns)]
    for row in result.rows[:limit]:
        lines.append(
            " | ".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in row)
        )
    if len(result.rows) > limit:
        lines.append(f"... {len(result.rows) - limit} more")
    return "\n".join(lines) + "\n"


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
    for result in run_all(run_dir):
        print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
