#!/usr/bin/env python3
"""Generate a large microservice call graph (service-to-service `call` steps).

    python3 tools/gen_call_graph.py --services 1000 --depth 6 --rps 3000 \\
        --seconds 30 --seed 42 --out scenarios/bench/call_graph_1000.yml

The graph is layered and acyclic: tier 0 is a replicated frontend (an API
gateway with many routes) behind a load balancer; each endpoint of tier t calls
2-4 distinct services of tier t+1 (now and then a shared leaf deeper down),
some of them at once in a `parallel` step, a few with a `timeout_s`. On average
`--branching` of those callees are inner services that call on themselves; the
others are leaves (CPU + I/O). Callee endpoints are created on demand, so every
endpoint has a caller; the number of frontend routes is found by bisection
as the first that gives at least `--services` services.

Sizing comes from the call rates: the root rate is split over the frontend's
routes, every call passes its caller's rate on to the callee endpoint, and each
service gets the cores that keep it at `--utilization` or below (replicated
behind a load balancer when it needs more than 4 cores, and always for the
frontend and the `--replicated` busiest services). Every call has its edges:
caller -> callee (or its load balancer), load balancer -> each replica, and
each replica -> caller for the reply.

`--check FILE...` validates any scenario's call graph instead (needs PyYAML):
ids unique, every call's service and endpoint exist (on every server its load
balancer covers), both edges of every call exist, no endpoint can reach itself;
it also prints the call rates and CPU utilisation implied by the file. A
generated file is always checked before it is written (round-tripped through
PyYAML when it is installed). Standard library only, deterministic output.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from dataclasses import dataclass, field

EDGE_LATENCY_S = 0.0004  # in-datacenter hop
CLIENT_LATENCY_S = 0.002  # client <-> frontend hop
MAX_CORES = 4  # a service needing more is replicated
VERBS = ["get", "list", "put", "search", "check", "resolve", "count", "fetch", "update", "score"]
IO_KINDS = [("io_cache", 0.0003, 0.0012), ("io_db", 0.002, 0.008), ("io_wait", 0.001, 0.005)]


# --------------------------------------------------------------------------- YAML out


class Flow(dict):
    """A mapping written on one line, `{ k: v, ... }`."""


class FlowList(list):
    """A list written on one line, `[a, b]`."""


def _num(x: float) -> str:
    """Shortest round-trip text for a number (no exponent in YAML)."""
    if isinstance(x, int) or float(x).is_integer():
        return str(int(x))
    s = repr(float(x))
    return s if "e" not in s else f"{x:.12f}".rstrip("0")


def _scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return _num(v)
    return str(v)  # ids and endpoint names: plain scalars by construction


def _inline(v) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k}: {_inline(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(_inline(x) for x in v) + "]"
    return _scalar(v)


def _block(v, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if isinstance(v, dict):
        for k, x in v.items():
            if isinstance(x, (Flow, FlowList)) or not isinstance(x, (dict, list)) or not x:
                out.append(f"{pad}{k}: {_inline(x)}")
            else:
                out.append(f"{pad}{k}:")
                _block(x, indent + 2, out)
    else:
        for x in v:
            if isinstance(x, (Flow, FlowList)) or not isinstance(x, (dict, list)):
                out.append(f"{pad}- {_inline(x)}")
            else:
                sub: list[str] = []
                _block(x, indent + 2, sub)
                sub[0] = f"{pad}- " + sub[0][indent + 2:]
                out.extend(sub)


def to_yaml(doc: dict) -> str:
    out: list[str] = []
    for k, v in doc.items():
        _block({k: v}, 0, out)
        out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------- model


@dataclass
class Endpoint:
    service: "Service"
    name: str
    inner: bool
    calls: list["Endpoint"] = field(default_factory=list)
    parse_s: float = 0.0
    cpu_s: float = 0.0  # exponential mean
    io: tuple[str, float] | None = None  # leaves: (kind, exponential mean)
    ram_mb: int = 4
    # [("call", (ep, timeout)) | ("parallel", join, [(ep, timeout), ...])]; timeout None = none
    steps: list = field(default_factory=list)
    rate: float = 0.0
    dur_s: float = 0.0


@dataclass
class Service:
    id: str
    tier: int
    inner: bool
    max_eps: int
    endpoints: list[Endpoint] = field(default_factory=list)
    replicas: int = 1
    cores: int = 1
    ram_mb: int = 512
    load: float = 0.0

    @property
    def servers(self) -> list[str]:
        if self.replicas == 1:
            return [self.id]
        return [f"{self.id}-{i}" for i in range(1, self.replicas + 1)]

    @property
    def target(self) -> str:
        """What a caller addresses: the load balancer of a replicated service."""
        return f"{self.id}-lb" if self.replicas > 1 else self.id

    def utilization(self) -> float:
        return self.load / (self.replicas * self.cores)


@dataclass
class Params:
    services: int
    depth: int
    rps: float
    seconds: int
    fanout_min: int
    fanout_max: int
    branching: float
    share: float
    skip: float
    parallel: float
    timeouts: float
    utilization: float
    replicated: int
    rpm_per_user: float
    seed: int


def _pick_count(rng: random.Random, mean: float) -> int:
    base = int(mean)
    return base + (1 if rng.random() < mean - base else 0)


def build_graph(p: Params, routes: int) -> list[list[Service]]:
    """The tiers of services, wired, for a frontend with `routes` endpoints."""
    rng = random.Random(p.seed)
    tiers: list[list[Service]] = [[] for _ in range(p.depth)]
    frontend = Service("frontend", 0, True, routes)
    tiers[0].append(frontend)
    for i in range(routes):
        frontend.endpoints.append(Endpoint(frontend, f"/route-{i + 1:03d}", True))
    counters = [0] * p.depth
    open_svc: dict[tuple[int, bool], Service] = {}

    def new_endpoint(tier: int, inner: bool, avoid: set[str]) -> Endpoint:
        s = open_svc.get((tier, inner))
        if s is None or len(s.endpoints) >= s.max_eps or s.id in avoid:
            counters[tier] += 1
            s = Service(f"t{tier}-{counters[tier]:04d}", tier, inner,
                        rng.randint(1, 3) if inner else rng.randint(1, 2))
            tiers[tier].append(s)
            open_svc[(tier, inner)] = s
        used = {e.name for e in s.endpoints}
        name = "/" + rng.choice([v for v in VERBS if "/" + v not in used])
        ep = Endpoint(s, name, inner)
        s.endpoints.append(ep)
        return ep

    def pick(tier: int, inner: bool, avoid: set[str]) -> Endpoint:
        if rng.random() < p.share:
            pool = [e for s in tiers[tier] if s.inner == inner and s.id not in avoid for e in s.endpoints]
            if pool:
                return rng.choice(pool)
        return new_endpoint(tier, inner, avoid)

    for t in range(p.depth - 1):
        last = t + 1 == p.depth - 1
        for s in list(tiers[t]):
            for ep in s.endpoints:
                if not ep.inner:
                    continue
                f = rng.randint(p.fanout_min, p.fanout_max)
                n_in = 0 if last else min(f, _pick_count(rng, p.branching))
                avoid: set[str] = set()
                for k in range(f):
                    if k < n_in:
                        c = pick(t + 1, True, avoid)
                    elif t + 2 < p.depth and rng.random() < p.skip:
                        pool = [e for d in range(t + 2, p.depth) for x in tiers[d]
                                if not x.inner and x.id not in avoid for e in x.endpoints]
                        c = rng.choice(pool) if pool else pick(t + 1, False, avoid)
                    else:
                        c = pick(t + 1, False, avoid)
                    avoid.add(c.service.id)
                    ep.calls.append(c)
                rng.shuffle(ep.calls)
    return tiers


def _round_sig(x: float, digits: int = 2) -> float:
    if x <= 0:
        return x
    e = math.floor(math.log10(x)) - digits + 1
    return round(round(x / 10**e) * 10**e, max(0, -e))


def _ceil_sig(x: float, digits: int = 2) -> float:
    e = math.floor(math.log10(x)) - digits + 1
    return round(math.ceil(x / 10**e) * 10**e, max(0, -e))


def _route_weights(rng: random.Random, n: int) -> list[int]:
    """Zipf-like route popularity in parts per million, summing to exactly 10**6."""
    raw = [1.0 / (i + 1) ** 0.9 for i in range(n)]
    rng.shuffle(raw)
    total = sum(raw)
    exact = [10**6 * r / total for r in raw]
    ppm = [max(1, int(x)) for x in exact]
    rest = 10**6 - sum(ppm)
    order = sorted(range(n), key=lambda i: exact[i] - int(exact[i]), reverse=True)
    for k in range(abs(rest)):
        ppm[order[k % n]] += 1 if rest > 0 else -1
    return ppm


def size_and_shape(p: Params, tiers: list[list[Service]]) -> list[int]:
    """Costs, steps, rates, cores, replicas, RAM and timeouts; returns the route weights."""
    rng = random.Random(p.seed + 1)
    services = [s for tier in tiers for s in tier]
    for s in services:
        for ep in s.endpoints:
            if s.tier == 0:
                ep.parse_s, ep.cpu_s, ep.ram_mb = 0.0003, 0.0005, 4
            elif ep.inner:
                ep.parse_s = _round_sig(rng.uniform(0.0001, 0.0004))
                ep.cpu_s = _round_sig(rng.uniform(0.0002, 0.0012))
                ep.ram_mb = rng.choice([2, 4, 8, 16])
            else:
                ep.parse_s = _round_sig(rng.uniform(0.0001, 0.0003))
                ep.cpu_s = _round_sig(math.exp(rng.uniform(math.log(0.0003), math.log(0.004))))
                kind, lo, hi = rng.choice(IO_KINDS)
                ep.io = (kind, _round_sig(rng.uniform(lo, hi)))
                ep.ram_mb = rng.choice([2, 4, 8, 16, 32])
            # Steps: the calls in order, some of them grouped in one parallel step.
            calls = list(ep.calls)
            if len(calls) >= 2 and rng.random() < p.parallel:
                g = rng.randint(2, len(calls))
                at = rng.randint(0, len(calls) - g)
                group = calls[at:at + g]
                r = rng.random()
                if r < 0.8:
                    join = "all"
                elif r < 0.9 or g < 3:
                    join = "any"
                else:
                    join = Flow(quorum=2)
                ep.steps = [("call", c) for c in calls[:at]] + [("parallel", join, group)] + \
                           [("call", c) for c in calls[at + g:]]
            else:
                ep.steps = [("call", c) for c in calls]

    # Rates, tier by tier (a callee is always in a deeper tier).
    weights = _route_weights(rng, len(tiers[0][0].endpoints))
    for ep, w in zip(tiers[0][0].endpoints, weights):
        ep.rate = p.rps * w / 10**6
    for tier in tiers:
        for s in tier:
            for ep in s.endpoints:
                for c in ep.calls:
                    c.rate += ep.rate

    # Cores and replicas from the CPU load.
    for s in services:
        s.load = sum(ep.rate * (ep.parse_s + ep.cpu_s) for ep in s.endpoints)
    hottest = sorted((s for s in services if s.tier > 0), key=lambda s: -s.load)[: p.replicated]
    forced = {s.id for s in hottest} | {"frontend"}
    for s in services:
        need = s.load / p.utilization
        if need > MAX_CORES or s.id in forced:
            s.replicas = max(2, math.ceil(need / MAX_CORES))
            s.cores = max(1, math.ceil(need / s.replicas))
        else:
            s.cores = max(1, math.ceil(need))

    # Expected durations bottom-up (queueing as M/M/1 on the CPU), then RAM and timeouts.
    def hop(c: Endpoint) -> float:
        return (3 if c.service.replicas > 1 else 2) * EDGE_LATENCY_S + c.dur_s

    for tier in reversed(tiers):
        for s in tier:
            stretch = 1.0 / (1.0 - s.utilization())
            for ep in s.endpoints:
                d = (ep.parse_s + ep.cpu_s) * stretch + (ep.io[1] if ep.io else 0.0)
                for st in ep.steps:
                    d += hop(st[1]) if st[0] == "call" else max(hop(c) for c in st[2])
                ep.dur_s = d
    for s in services:
        # Little's law on the mean duration; 8x covers the spread and the queueing.
        in_flight_mb = sum(ep.rate / s.replicas * ep.dur_s * ep.ram_mb for ep in s.endpoints)
        s.ram_mb = max(512, 256 * math.ceil((8 * in_flight_mb + 64) / 256))
    for s in services:
        for ep in s.endpoints:
            timed = []
            for st in ep.steps:
                for c in ([st[1]] if st[0] == "call" else st[2]):
                    t = _ceil_sig(max(0.05, 5 * hop(c))) if rng.random() < p.timeouts else None
                    timed.append((c, t))
            it = iter(timed)
            ep.steps = [("call", next(it)) if st[0] == "call" else ("parallel", st[1], [next(it) for _ in st[2]])
                        for st in ep.steps]
    return weights


def _call(c: Endpoint, timeout: float | None) -> Flow:
    d = Flow(service=c.service.target, endpoint=c.name)
    if timeout is not None:
        d["timeout_s"] = timeout
    return d


def _steps(ep: Endpoint) -> list:
    out: list = [
        Flow(kind="initial_parsing", step_operation=Flow(cpu_time=ep.parse_s)),
        Flow(kind="ram", step_operation=Flow(necessary_ram=ep.ram_mb)),
    ]
    for st in ep.steps:
        if st[0] == "call":
            out.append(Flow(kind="call", step_operation=_call(*st[1])))
        else:
            out.append({"kind": "parallel", "step_operation": {
                "join": st[1], "calls": [_call(c, t) for c, t in st[2]]}})
    cpu = Flow(kind="cpu_bound_operation",
               step_operation=Flow(cpu_time=Flow(mean=ep.cpu_s, distribution="exponential")))
    out.append(cpu)
    if ep.io:
        out.append(Flow(kind=ep.io[0], step_operation=Flow(
            io_waiting_time=Flow(mean=ep.io[1], distribution="exponential"))))
    return out


def build_doc(p: Params, tiers: list[list[Service]], weights: list[int]) -> dict:
    services = [s for tier in tiers for s in tier]
    servers, lbs = [], []
    for s in services:
        eps = []
        for i, ep in enumerate(s.endpoints):
            e = {"endpoint_name": ep.name}
            if s.tier == 0:
                e["probability"] = weights[i] / 10**6
            e["steps"] = _steps(ep)
            eps.append(e)
        for sid in s.servers:
            servers.append({"id": sid,
                            "server_resources": Flow(cpu_cores=s.cores, ram_mb=s.ram_mb),
                            "endpoints": eps})
        if s.replicas > 1:
            lbs.append({"id": s.target, "algorithms": "round_robin", "server_covered": FlowList(s.servers)})

    edges: list[Flow] = []
    seen: set[tuple[str, str]] = set()

    def edge(src: str, dst: str, mean: float) -> None:
        if (src, dst) in seen:
            return
        seen.add((src, dst))
        edges.append(Flow(id=f"{src}--{dst}", source=src, target=dst,
                          latency=Flow(mean=mean, distribution="exponential"), dropout_rate=0.0))

    front = tiers[0][0]
    edge("rqs-1", "client-1", 0.003)
    edge("client-1", front.target, CLIENT_LATENCY_S)
    for sid in front.servers:
        edge(sid, "client-1", CLIENT_LATENCY_S)
    for s in services:
        if s.replicas > 1:
            for sid in s.servers:
                edge(s.target, sid, EDGE_LATENCY_S)
    for s in services:
        callees: list[Service] = []
        for ep in s.endpoints:
            for c in ep.calls:
                if c.service not in callees:
                    callees.append(c.service)
        for c in callees:
            for caller in s.servers:
                edge(caller, c.target, EDGE_LATENCY_S)
                for callee in c.servers:
                    edge(callee, caller, EDGE_LATENCY_S)

    return {
        "rqs_input": {
            "id": "rqs-1",
            "avg_active_users": Flow(mean=_round_sig(p.rps * 60 / p.rpm_per_user, 6)),
            "avg_request_per_minute_per_user": Flow(mean=p.rpm_per_user),
            "user_sampling_window": 60,
        },
        "topology_graph": {
            "nodes": {"client": Flow(id="client-1"), "load_balancers": lbs, "servers": servers},
            "edges": edges,
        },
        "sim_settings": {
            "total_simulation_time": p.seconds,
            "sample_period_s": 0.05,
            "enabled_sample_metrics": ["ready_queue_len", "event_loop_io_sleep", "ram_in_use",
                                       "edge_concurrent_connection"],
            "enabled_event_metrics": ["rqs_clock"],
            "seed": p.seed,
        },
    }


def header(p: Params, tiers: list[list[Service]], doc: dict, stats: dict, out: str | None) -> list[str]:
    services = [s for tier in tiers for s in tier]
    n_servers = len(doc["topology_graph"]["nodes"]["servers"])
    n_lbs = len(doc["topology_graph"]["nodes"]["load_balancers"])
    n_edges = len(doc["topology_graph"]["edges"])
    tier_txt = ", ".join(f"{len(t)}" for t in tiers)
    repl = sorted((s for s in services if s.replicas > 1), key=lambda s: (s.tier, s.id))
    busiest = max(services, key=lambda s: s.utilization())
    h = [
        "# Bench 5: a large microservice call graph, generated (do not edit by hand):",
        f"#   python3 tools/gen_call_graph.py --services {p.services} --depth {p.depth} --rps {p.rps:g} "
        f"--seconds {p.seconds} --fanout {p.fanout_min} {p.fanout_max} --branching {p.branching:g} "
        f"--share {p.share:g} --skip {p.skip:g} --parallel {p.parallel:g} --timeouts {p.timeouts:g} "
        f"--utilization {p.utilization:g} --replicated {p.replicated} --rpm-per-user {p.rpm_per_user:g} "
        f"--seed {p.seed}" + (f" --out {out}" if out else ""),
        "#",
        f"# {len(services)} services in {p.depth} tiers ({tier_txt} services per tier), run on",
        f"# {n_servers} servers; {n_lbs} load balancers in front of the replicated ones; {n_edges} edges.",
        f"# Tier 0 is the frontend ({tiers[0][0].replicas} replicas behind frontend-lb) with "
        f"{len(tiers[0][0].endpoints)} routes of Zipf-like",
        "# popularity. Each endpoint of an inner service in tier t calls "
        f"{p.fanout_min}-{p.fanout_max} distinct services",
        f"# of tier t+1 (or a shared leaf deeper down), ~{p.branching:g} of them inner services that call",
        "# on; the other services are leaves (CPU, then a cache, database or other I/O",
        f"# wait), and so is all of tier {p.depth - 1}. The file has {stats['calls']} calls: "
        f"{stats['parallel_steps']} `parallel` steps group some",
        f"# (mostly join: all, some any and quorum 2), and {stats['timeouts']} calls carry a timeout_s of 5x",
        "# their expected duration, so only real tails time out. Every edge is loss-free:",
        "# a request makes dozens of hops and a 1% dropout each would fail most of them.",
        "#",
        f"# Load: ~{p.rps:,.0f} root requests/s, {stats['calls_per_root']:.1f} calls per root request on average,",
        f"# so ~{p.rps * stats['calls_per_root']:,.0f} calls/s and ~{p.rps * p.seconds * stats['calls_per_root']:,.0f} spans "
        f"in {p.seconds} s. Cores are sized for <= {p.utilization:.0%} CPU:",
        f"# the busiest server ({busiest.servers[0]}) is at {busiest.utilization():.0%}, "
        f"{stats['servers_over_half']} servers are above 50%, most deep",
        "# services are nearly idle (as in production call graphs).",
        "# Replicated (load-balanced) services: "
        + ", ".join(f"{s.id} x{s.replicas}" for s in repl) + ".",
        "#",
        "# What it measures: the call-stack machinery at scale (child requests, joins,",
        "# timers for timeouts, span rows) over a thousand-node topology.",
        "",
    ]
    return h


def generate(p: Params, out: str | None = None) -> tuple[str, dict]:
    if p.services < 2 or p.depth < 2 or p.seconds < 5 or p.rps <= 0:
        raise ValueError("need services >= 2, depth >= 2, seconds >= 5, rps > 0")
    if not 2 <= p.fanout_min <= p.fanout_max <= len(VERBS):
        raise ValueError("need 2 <= fanout min <= fanout max")
    if not 0 < p.utilization < 1:
        raise ValueError("need 0 < utilization < 1")
    def enough(routes: int) -> bool:
        return sum(len(t) for t in build_graph(p, routes)) >= p.services

    hi = 1
    while not enough(hi):
        hi *= 2
        if hi > 8 * p.services:
            raise ValueError("cannot reach --services with these parameters")
    lo = hi // 2  # not enough (or 0); bisect to the first count that is
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if enough(mid) else (mid, hi)
    tiers = build_graph(p, hi)
    weights = size_and_shape(p, tiers)
    doc = build_doc(p, tiers, weights)
    errors, stats = check(doc)
    if errors:
        raise RuntimeError("generated scenario fails its own check:\n  " + "\n  ".join(errors[:20]))
    text = "\n".join(header(p, tiers, doc, stats, out)) + "\n" + to_yaml(doc)
    try:
        import yaml  # optional: prove the text parses back to the same document
    except ImportError:
        pass
    else:
        back = yaml.safe_load(text)
        if back != _plain(doc):
            raise RuntimeError("the YAML text does not parse back to the generated document")
        errors, stats = check(back)
        if errors:
            raise RuntimeError("parsed scenario fails the check:\n  " + "\n  ".join(errors[:20]))
    return text, stats


def _plain(v):
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


# --------------------------------------------------------------------------- check


def _mean(v) -> float:
    return float(v["mean"]) if isinstance(v, dict) else float(v)


def _as_list(v) -> list:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def check(doc: dict) -> tuple[list[str], dict]:
    """Validate the call graph of a scenario document; return (errors, stats)."""
    errs: list[str] = []
    nodes = doc.get("topology_graph", {}).get("nodes", {})
    gens = _as_list(doc.get("rqs_input"))
    clients = _as_list(nodes.get("client")) + _as_list(nodes.get("clients"))
    servers = _as_list(nodes.get("servers"))
    lbs = _as_list(nodes.get("load_balancer")) + _as_list(nodes.get("load_balancers"))
    dbs = _as_list(nodes.get("databases"))
    caches = _as_list(nodes.get("caches"))
    kinds: dict[str, str] = {}
    for kind, items in (("generator", gens), ("client", clients), ("server", servers),
                        ("load_balancer", lbs), ("database", dbs), ("cache", caches)):
        for it in items:
            i = it.get("id")
            if i in kinds:
                errs.append(f"duplicate id {i!r} ({kinds[i]} and {kind})")
            kinds[i] = kind
    edges = doc.get("topology_graph", {}).get("edges", [])
    edge_ids: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    for e in edges:
        if e["id"] in edge_ids:
            errs.append(f"duplicate edge id {e['id']!r}")
        if e["id"] in kinds:
            errs.append(f"edge id {e['id']!r} is also a node id")
        edge_ids.add(e["id"])
        s, t = e["source"], e["target"]
        if s == t:
            errs.append(f"edge {e['id']}: source == target")
        if kinds.get(t) in (None, "generator"):
            errs.append(f"edge {e['id']}: target {t!r} is not a node")
        if s not in kinds:
            errs.append(f"edge {e['id']}: source {s!r} is not declared")
        if (s, t) in pairs:
            errs.append(f"edge {e['id']}: a second edge {s} -> {t}")
        pairs.add((s, t))

    lb_cover = {lb["id"]: list(lb.get("server_covered", [])) for lb in lbs}
    endpoints: dict[str, dict[str, dict]] = {}
    for n in servers + dbs:
        endpoints[n["id"]] = {}
        for ep in n.get("endpoints", []):
            name = str(ep["endpoint_name"]).lower()
            if name in endpoints[n["id"]]:
                errs.append(f"{n['id']}: endpoint {name} twice")
            endpoints[n["id"]][name] = ep
    for s in servers:
        probs = [ep.get("probability") for ep in s.get("endpoints", [])]
        given = [x for x in probs if x is not None]
        if given and (len(given) != len(probs) or abs(sum(given) - 1) > 1e-9 or min(given) < 0):
            errs.append(f"{s['id']}: endpoint probabilities must all be given, >= 0, sum to 1")
    for lb, cov in lb_cover.items():
        for c in cov:
            if kinds.get(c) not in ("server", "load_balancer"):
                errs.append(f"{lb}: covers {c!r}, not a server or load balancer")
            elif (lb, c) not in pairs:
                errs.append(f"missing edge {lb} -> {c} (covered by the load balancer)")

    def terminals(n: str, seen=()) -> list[str]:
        if kinds.get(n) != "load_balancer":
            return [n]
        if n in seen:
            errs.append(f"load balancer tiers loop at {n}")
            return []
        return [x for c in lb_cover[n] for x in terminals(c, seen + (n,))]

    # Calls: (server, endpoint) -> [(server, endpoint, share)]
    graph: dict[tuple[str, str], list[tuple[str, str, float]]] = {}
    n_calls = n_parallel = n_timeouts = 0
    for s in servers:
        sid = s["id"]
        for name, ep in endpoints[sid].items():
            out = graph.setdefault((sid, name), [])
            for k, st in enumerate(ep.get("steps", [])):
                kind, op = st.get("kind"), st.get("step_operation", {})
                where = f"{sid} {name} steps[{k}]"
                if kind == "call":
                    calls = [op]
                elif kind == "parallel":
                    n_parallel += 1
                    calls = op.get("calls", [])
                    join = op.get("join", "all")
                    ok = join in ("all", "any") or (isinstance(join, dict) and list(join) == ["quorum"]
                                                   and isinstance(join["quorum"], int)
                                                   and 1 <= join["quorum"] <= len(calls))
                    if not ok or not calls:
                        errs.append(f"{where}: bad parallel step (join {join!r}, {len(calls)} calls)")
                else:
                    if len(op) != 1:
                        errs.append(f"{where}: step_operation needs exactly one key")
                    elif _mean(next(iter(op.values()))) <= 0:
                        errs.append(f"{where}: value must be > 0")
                    continue
                for c in calls:
                    n_calls += 1
                    svc = c.get("service")
                    if "timeout_s" in c:
                        n_timeouts += 1
                        if not c["timeout_s"] > 0:
                            errs.append(f"{where}: timeout_s must be > 0")
                    if kinds.get(svc) not in ("server", "load_balancer", "database", "cache"):
                        errs.append(f"{where}: service {svc!r} does not exist")
                        continue
                    if (sid, svc) not in pairs:
                        errs.append(f"{where}: missing edge {sid} -> {svc}")
                    terms = terminals(svc)
                    for t in terms:
                        if (t, sid) not in pairs:
                            errs.append(f"{where}: missing reply edge {t} -> {sid}")
                        if kinds[t] == "cache":
                            continue
                        names = list(endpoints.get(t, {}))
                        want = str(c.get("endpoint", names[0] if names else "")).lower()
                        if want not in endpoints.get(t, {}):
                            errs.append(f"{where}: {t} has no endpoint {want!r}")
                        elif kinds[t] == "server":
                            out.append((t, want, 1.0 / len(terms)))

    # Acyclic: no endpoint reaches itself (iterative DFS, colours).
    order: list[tuple[str, str]] = []
    colour: dict[tuple[str, str], int] = {}
    for root in graph:
        if colour.get(root):
            continue
        stack = [(root, iter(graph[root]))]
        colour[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = 2
                order.append(node)
                stack.pop()
                continue
            child = nxt[:2]
            c = colour.get(child, 0)
            if c == 1:
                errs.append(f"call cycle through {child[0]} {child[1]}")
            elif c == 0:
                colour[child] = 1
                stack.append((child, iter(graph.get(child, []))))
    order.reverse()  # callers before callees

    # Root path and rates.
    stats: dict = {"services_nodes": len(servers), "load_balancers": len(lbs), "edges": len(edges),
                   "calls": n_calls, "parallel_steps": n_parallel, "timeouts": n_timeouts}
    rate: dict[tuple[str, str], float] = {}
    root_rate = 0.0
    for g in gens:
        root_rate += _mean(g["avg_active_users"]) * _mean(g["avg_request_per_minute_per_user"]) / 60
    for cl in clients:
        outs = [t for (s, t) in pairs if s == cl["id"]]
        if len(outs) != 1:
            errs.append(f"client {cl['id']}: {len(outs)} outgoing edges, expected 1")
            continue
        terms = terminals(outs[0])
        for t in terms:
            if (t, cl["id"]) not in pairs:
                errs.append(f"missing reply edge {t} -> {cl['id']}")
            eps = list(endpoints.get(t, {}).values())
            for ep in eps:
                w = ep.get("probability", 1.0 / len(eps))
                key = (t, str(ep["endpoint_name"]).lower())
                rate[key] = rate.get(key, 0.0) + root_rate / len(clients) / len(terms) * w
    if not any(e.startswith("call cycle") for e in errs):
        for node in order:
            for t, name, share in graph.get(node, []):
                rate[(t, name)] = rate.get((t, name), 0.0) + rate.get(node, 0.0) * share
    util: dict[str, float] = {}
    for s in servers:
        cpu = 0.0
        for name, ep in endpoints[s["id"]].items():
            per = sum(_mean(st["step_operation"]["cpu_time"]) for st in ep.get("steps", [])
                      if st.get("kind") in ("initial_parsing", "cpu_bound_operation"))
            cpu += rate.get((s["id"], name), 0.0) * per
        util[s["id"]] = cpu / s.get("server_resources", {}).get("cpu_cores", 1)
    # Every rate beyond the root requests' own is a call.
    stats["root_rate"] = root_rate
    stats["calls_per_root"] = (sum(rate.values()) - root_rate) / root_rate if root_rate else 0.0
    stats["utilization"] = util
    stats["servers_over_half"] = sum(1 for u in util.values() if u > 0.5)
    cyclic = any(e.startswith("call cycle") for e in errs)
    for s in servers if not cyclic else []:
        if not any(rate.get((s["id"], n), 0.0) > 0 for n in endpoints[s["id"]]):
            errs.append(f"server {s['id']} is never reached (nothing calls it)")
    return errs, stats


def check_files(paths: list[str]) -> int:
    try:
        import yaml
    except ImportError:
        print("--check needs PyYAML (pip install pyyaml)", file=sys.stderr)
        return 2
    bad = 0
    for path in paths:
        with open(path) as f:
            doc = yaml.safe_load(f)
        errs, st = check(doc)
        top = sorted(st["utilization"].items(), key=lambda kv: -kv[1])[:5]
        print(f"{path}: {st['services_nodes']} servers, {st['load_balancers']} load balancers, "
              f"{st['edges']} edges, {st['calls']} calls ({st['parallel_steps']} parallel steps, "
              f"{st['timeouts']} with timeout_s)")
        print(f"  root rate {st['root_rate']:g}/s, {st['calls_per_root']:.2f} calls per root request; "
              "busiest CPU: " + ", ".join(f"{k} {v:.1%}" for k, v in top))
        for e in errs:
            print(f"  error: {e}")
        print("  OK" if not errs else f"  {len(errs)} errors")
        bad |= bool(errs)
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, default=1000, help="at least this many services")
    ap.add_argument("--depth", type=int, default=6, help="tiers, the frontend's included")
    ap.add_argument("--rps", type=float, default=3000.0, help="root requests per second")
    ap.add_argument("--seconds", type=int, default=30, help="total_simulation_time")
    ap.add_argument("--fanout", type=int, nargs=2, default=[2, 4], metavar=("MIN", "MAX"),
                    help="distinct callees per inner endpoint")
    ap.add_argument("--branching", type=float, default=1.4, help="mean inner callees per inner endpoint")
    ap.add_argument("--share", type=float, default=0.25, help="chance a call reuses an existing endpoint")
    ap.add_argument("--skip", type=float, default=0.1, help="chance a leaf call goes two or more tiers down")
    ap.add_argument("--parallel", type=float, default=0.5, help="chance an endpoint has a parallel step")
    ap.add_argument("--timeouts", type=float, default=0.1, help="chance a call carries timeout_s")
    ap.add_argument("--utilization", type=float, default=0.6, help="CPU utilisation cap per server")
    ap.add_argument("--replicated", type=int, default=8, help="busiest services always replicated")
    ap.add_argument("--rpm-per-user", type=float, default=100.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", help="write here instead of stdout")
    ap.add_argument("--check", nargs="+", metavar="FILE", help="check these scenarios instead")
    a = ap.parse_args(argv)
    if a.check:
        return check_files(a.check)
    p = Params(a.services, a.depth, a.rps, a.seconds, a.fanout[0], a.fanout[1], a.branching,
               a.share, a.skip, a.parallel, a.timeouts, a.utilization, a.replicated, a.rpm_per_user, a.seed)
    try:
        text, stats = generate(p, a.out)
    except ValueError as e:
        ap.error(str(e))
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
