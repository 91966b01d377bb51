//! Injected events (`events`): unique event ids, start and end kinds that pair,
//! targets of the right kind (a server for an outage, an edge for a latency
//! spike), `spike_s` and window times, outages of one server that do not
//! overlap, and never every server down at once.

use std::collections::{HashMap, HashSet};

use super::{NodeKind, Validator, fmt_num};
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::parse::did_you_mean;
use crate::scenario::schema::EventKind;

impl Validator<'_> {
    pub(super) fn event_ids(&mut self) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, ev) in self.m.events.iter().enumerate() {
            if let Some(first) = seen.get(ev.event_id.as_str()) {
                self.err(
                    format!("events[{i}].event_id"),
                    "an event id unique among events",
                    format!("`{}`, already used by events[{first}]", ev.event_id),
                );
            } else {
                seen.insert(&ev.event_id, i);
            }
        }
    }

    pub(super) fn events(&mut self) {
        let nodes = self.nodes();
        let edge_ids: HashSet<&str> = self
            .m
            .topology_graph
            .edges
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        let horizon = self.m.sim_settings.total_simulation_time as f64;
        // Well-formed outages, for the overlap and all-down rules: (server, start, end, event).
        let mut outages: Vec<(&str, f64, f64, usize)> = Vec::new();
        for (i, ev) in self.m.events.iter().enumerate() {
            let p = format!("events[{i}]");
            let (want_end, want_target) = match ev.start.kind {
                EventKind::ServerDown => (EventKind::ServerUp, "server"),
                EventKind::NetworkSpikeStart => (EventKind::NetworkSpikeEnd, "edge"),
                k => {
                    self.err(
                        format!("{p}.start.kind"),
                        "`server_down` or `network_spike_start`",
                        format!("`{}`, which ends a window", k.as_str()),
                    );
                    continue;
                }
            };
            let mut ok = true;
            if ev.end.kind != want_end {
                self.err(
                    format!("{p}.end.kind"),
                    format!(
                        "`{}` (it pairs with `{}`)",
                        want_end.as_str(),
                        ev.start.kind.as_str()
                    ),
                    format!("`{}`", ev.end.kind.as_str()),
                );
                ok = false;
            }
            let target_ok = match want_target {
                "server" => nodes.get(ev.target_id.as_str()) == Some(&NodeKind::Server),
                _ => edge_ids.contains(ev.target_id.as_str()),
            };
            if !target_ok {
                let found = match nodes.get(ev.target_id.as_str()) {
                    Some(k) => format!("`{}`, a {}", ev.target_id, k.as_str()),
                    None if edge_ids.contains(ev.target_id.as_str()) => {
                        format!("`{}`, an edge", ev.target_id)
                    }
                    None => format!("`{}`, which is not declared", ev.target_id),
                };
                let mut d = Diagnostic::new(
                    format!("{p}.target_id"),
                    format!(
                        "the id of a {want_target} (`{}` targets one)",
                        ev.start.kind.as_str()
                    ),
                    found,
                );
                let candidates: Vec<&str> = if want_target == "server" {
                    self.m
                        .topology_graph
                        .nodes
                        .servers
                        .iter()
                        .map(|s| s.id.as_str())
                        .collect()
                } else {
                    edge_ids.iter().copied().collect()
                };
                if let Some(best) = did_you_mean(&ev.target_id, candidates) {
                    d = d.with_hint(format!("did you mean `{best}`?"));
                }
                self.push(d);
                ok = false;
            }
            match (want_target, ev.start.spike_s) {
                ("server", Some(x)) => {
                    self.err(
                        format!("{p}.start.spike_s"),
                        "no `spike_s` on a server event",
                        fmt_num(x),
                    );
                    ok = false;
                }
                ("edge", None) => {
                    self.err(
                        format!("{p}.start.spike_s"),
                        "`spike_s` > 0 (seconds added to latency)",
                        "nothing",
                    );
                    ok = false;
                }
                ("edge", Some(x)) if !(x.is_finite() && x > 0.0) => {
                    self.err(
                        format!("{p}.start.spike_s"),
                        "a finite number of seconds > 0",
                        fmt_num(x),
                    );
                    ok = false;
                }
                _ => {}
            }
            let (t0, t1) = (ev.start.t_start, ev.end.t_end);
            if !(t0.is_finite() && t0 >= 0.0) {
                self.err(format!("{p}.start.t_start"), "a time >= 0", fmt_num(t0));
                ok = false;
            }
            if !(t1.is_finite() && t1 <= horizon) {
                self.err(
                    format!("{p}.end.t_end"),
                    format!("a time <= total_simulation_time ({horizon})"),
                    fmt_num(t1),
                );
                ok = false;
            } else if t0.is_finite() && t0 >= t1 {
                self.err(
                    format!("{p}.end.t_end"),
                    format!("a time after t_start ({})", fmt_num(t0)),
                    fmt_num(t1),
                );
                ok = false;
            }
            if ok && want_target == "server" {
                outages.push((ev.target_id.as_str(), t0, t1, i));
            }
        }
        self.outage_overlaps(&mut outages);
        self.all_servers_down(&outages);
    }

    fn outage_overlaps(&mut self, outages: &mut [(&str, f64, f64, usize)]) {
        outages.sort_by(|a, b| a.0.cmp(b.0).then(a.1.total_cmp(&b.1)));
        for w in outages.windows(2) {
            let (prev, next) = (w[0], w[1]);
            if prev.0 == next.0 && next.1 < prev.2 {
                self.push(
                    Diagnostic::new(
                        format!("events[{}].start.t_start", next.3),
                        format!(
                            "an outage of `{}` starting at or after {} (events[{}] ends then)",
                            next.0,
                            fmt_num(prev.2),
                            prev.3
                        ),
                        fmt_num(next.1),
                    )
                    .with_hint("outages of one server may touch but not overlap"),
                );
            }
        }
    }

    fn all_servers_down(&mut self, outages: &[(&str, f64, f64, usize)]) {
        let servers: HashSet<&str> = self
            .m
            .topology_graph
            .nodes
            .servers
            .iter()
            .map(|s| s.id.as_str())
            .collect();
        if servers.is_empty() || outages.is_empty() {
            return;
        }
        // Sweep over window ends and starts; at equal times ends come first, so
        // back-to-back windows [a, b) and [b, c) never count as simultaneous.
        let mut marks: Vec<(f64, bool, &str, usize)> = Vec::new();
        for &(sid, t0, t1, i) in outages {
            marks.push((t0, true, sid, i));
            marks.push((t1, false, sid, i));
        }
        marks.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut down: HashMap<&str, usize> = HashMap::new();
        let mut reported = false;
        for (t, is_start, sid, i) in marks {
            let n = down.entry(sid).or_insert(0);
            if is_start {
                *n += 1;
            } else {
                *n = n.saturating_sub(1);
            }
            let all_down = servers
                .iter()
                .all(|s| down.get(s).copied().unwrap_or(0) > 0);
            if is_start && all_down && !reported {
                self.push(
                    Diagnostic::new(
                        format!("events[{i}]"),
                        "at least one server up at every instant",
                        format!("every server is down from t = {}", fmt_num(t)),
                    )
                    .with_hint("shift this outage so another server is up meanwhile"),
                );
                reported = true;
            } else if !all_down {
                reported = false;
            }
        }
    }
}
