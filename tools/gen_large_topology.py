#!/usr/bin/env python3
"""Generate a large load-balanced scenario (one LB in front of N servers).

    python3 tools/gen_large_topology.py --servers 1000 --rps 100000 --seconds 60 \
        > scenarios/bench/large_1000_servers.yml

The output uses only keys of docs SCENARIO.md (and loads in AsyncFlow 0.1.1,
which ignores `seed`). It satisfies the topology rules: every server is
covered by the load balancer, has exactly one edge from it, and exactly one
return edge to the client. Servers are sized from the target utilisation:
with `r` requests/s reaching a server of `c` cores, each request holds a core
for `u * c / r` seconds, so the cores are busy a fraction `u` of the time.
Standard library only, deterministic output.
"""

from __future__ import annotations

import argparse
import math
import sys

IO_WAIT_S = 0.012  # the quickstart's DB wait
RAM_PER_REQUEST_MB = 64
MIN_RAM_MB = 1024  # never below SCENARIO.md's 256 MB floor


def _num(x: float) -> str:
    """Shortest round-trip text for a float (no exponent surprises in YAML)."""
    if float(x).is_integer():
        return str(int(x))
    s = repr(float(x))
    return s if "e" not in s else f"{x:.12f}".rstrip("0")


def generate(
    servers: int,
    rps: float,
    seconds: int,
    cores: int,
    utilization: float,
    rpm_per_user: float,
    seed: int,
) -> str:
    """Return the scenario as YAML text."""
    if servers < 1 or rps <= 0 or seconds < 5 or cores < 1 or not 0 < utilization < 1:
        raise ValueError("need servers >= 1, rps > 0, seconds >= 5, cores >= 1, 0 < utilization < 1")

    users = rps * 60.0 / rpm_per_user
    per_server_rps = rps / servers
    cpu_time = utilization * cores / per_server_rps
    # Average requests inside one server (Little's law, ignoring queueing),
    # with generous headroom so RAM never becomes the bottleneck by accident.
    in_flight = per_server_rps * (cpu_time + IO_WAIT_S)
    ram_mb = max(MIN_RAM_MB, 256 * math.ceil(8 * in_flight * RAM_PER_REQUEST_MB / 256))
    width = len(str(servers))

    def sid(i: int) -> str:
        return f"srv-{i:0{width}d}"

    out: list[str] = []
    w = out.append
    w(f"# Bench 4: a very large topology, generated (do not edit by hand):")
    w(f"#   python3 tools/gen_large_topology.py --servers {servers} --rps {rps:g} "
      f"--seconds {seconds} --cores {cores} --utilization {utilization:g} "
      f"--rpm-per-user {rpm_per_user:g} --seed {seed}")
    w("#")
    w(f"# One round-robin load balancer spreads ~{rps:,.0f} rps over {servers} identical")
    w(f"# servers ({per_server_rps:g} rps each before the 1% edge drops). Each server has")
    w(f"# {cores} core{'s' if cores > 1 else ''}; a request holds a core for {_num(cpu_time)} s, so the cores are")
    w(f"# ~{utilization:.0%} busy, then waits {IO_WAIT_S} s on I/O. {RAM_PER_REQUEST_MB} MB per request")
    w(f"# out of {ram_mb} MB leaves RAM far from the limit.")
    w(f"# Total: ~{rps * seconds:,.0f} requests in {seconds} s of simulated time. It measures")
    w("# how the engine scales with topology size (per-node state, routing over a")
    w("# thousand edges) at a high request rate.")
    w("")
    w("rqs_input:")
    w("  id: rqs-1")
    w(f"  avg_active_users: {{ mean: {_num(users)} }}")
    w(f"  avg_request_per_minute_per_user: {{ mean: {_num(rpm_per_user)} }}")
    w("  user_sampling_window: 60")
    w("")
    w("topology_graph:")
    w("  nodes:")
    w("    client: { id: client-1 }")
    w("    load_balancer:")
    w("      id: lb-1")
    w("      algorithms: round_robin")
    w("      server_covered:")
    for i in range(1, servers + 1):
        w(f"        - {sid(i)}")
    w("    servers:")
    for i in range(1, servers + 1):
        w(f"      - id: {sid(i)}")
        w(f"        server_resources: {{ cpu_cores: {cores}, ram_mb: {ram_mb} }}")
        w("        endpoints:")
        w("          - endpoint_name: /api")
        w("            steps:")
        w(f"              - {{ kind: initial_parsing, step_operation: {{ cpu_time: {_num(cpu_time)} }} }}")
        w(f"              - {{ kind: ram, step_operation: {{ necessary_ram: {RAM_PER_REQUEST_MB} }} }}")
        w(f"              - {{ kind: io_db, step_operation: {{ io_waiting_time: {IO_WAIT_S} }} }}")
    w("  # dropout_rate stays at its default of 0.01 per hop.")
    w("  edges:")
    lat_in = "{ mean: 0.003, distribution: exponential }"
    w(f"    - {{ id: gen-client, source: rqs-1, target: client-1, latency: {lat_in} }}")
    w("    - { id: client-lb, source: client-1, target: lb-1, "
      "latency: { mean: 0.002, distribution: exponential } }")
    for i in range(1, servers + 1):
        w(f"    - {{ id: lb-{sid(i)}, source: lb-1, target: {sid(i)}, "
          "latency: { mean: 0.001, distribution: exponential } }")
    for i in range(1, servers + 1):
        w(f"    - {{ id: {sid(i)}-client, source: {sid(i)}, target: client-1, latency: {lat_in} }}")
    w("")
    w("sim_settings:")
    w(f"  total_simulation_time: {seconds}")
    w("  sample_period_s: 0.05")
    w("  enabled_sample_metrics:")
    for m in ("ready_queue_len", "event_loop_io_sleep", "ram_in_use", "edge_concurrent_connection"):
        w(f"    - {m}")
    w("  enabled_event_metrics:")
    w("    - rqs_clock")
    w(f"  seed: {seed}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--servers", type=int, default=1000)
    p.add_argument("--rps", type=float, default=100_000.0, help="total arrival rate at the client")
    p.add_argument("--seconds", type=int, default=60, help="total_simulation_time")
    p.add_argument("--cores", type=int, default=1, help="cores per server")
    p.add_argument("--utilization", type=float, default=0.6, help="target core utilisation")
    p.add_argument("--rpm-per-user", type=float, default=100.0)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", help="write here instead of stdout")
    a = p.parse_args(argv)
    try:
        text = generate(a.servers, a.rps, a.seconds, a.cores, a.utilization, a.rpm_per_user, a.seed)
    except ValueError as e:
        p.error(str(e))
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
