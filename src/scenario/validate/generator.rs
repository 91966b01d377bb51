//! The generator (`rqs_input`): its user-count and per-user-rate distributions
//! and its user sampling window. Its `type` tag and id are checked with every
//! other node's in `identity.rs`.

use super::Validator;
use super::random_variable::MeanRule;
use std::collections::BTreeMap;

use super::fmt_num;
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::parse::did_you_mean;
use crate::scenario::schema::{Distribution, RqsGenerator};

impl Validator<'_> {
    pub(super) fn generator(&mut self) {
        let m = self.m;
        for (i, g) in m.generators().iter().enumerate() {
            self.one_generator(&m.generator_path(i), g);
        }
    }

    fn one_generator(&mut self, p: &str, g: &RqsGenerator) {
        let users = &g.avg_active_users;
        if !matches!(
            users.distribution,
            Distribution::Poisson | Distribution::Normal
        ) {
            self.err(
                format!("{p}.avg_active_users.distribution"),
                "`poisson` or `normal`",
                format!("`{}`", users.distribution.as_str()),
            );
        }
        self.rv(
            &format!("{p}.avg_active_users"),
            users,
            MeanRule::NonNegative,
        );
        let rpm = &g.avg_request_per_minute_per_user;
        if rpm.distribution != Distribution::Poisson {
            self.err(
                format!("{p}.avg_request_per_minute_per_user.distribution"),
                "`poisson` (its mean is the per-user rate)",
                format!("`{}`", rpm.distribution.as_str()),
            );
        }
        self.rv(
            &format!("{p}.avg_request_per_minute_per_user"),
            rpm,
            MeanRule::Positive,
        );
        if !(1..=120).contains(&g.user_sampling_window) {
            self.err(
                format!("{p}.user_sampling_window"),
                "whole seconds in [1, 120]",
                g.user_sampling_window.to_string(),
            );
        }
        if let Some(w) = &g.endpoint_weights {
            self.endpoint_weights(p, g, w);
        }
    }

    /// Weights finite and non-negative, not all zero, and every endpoint
    /// named served by every server the generator's requests can reach.
    fn endpoint_weights(&mut self, p: &str, g: &RqsGenerator, w: &BTreeMap<String, f64>) {
        let wp = format!("{p}.endpoint_weights");
        if w.is_empty() {
            self.err(
                wp,
                "at least one endpoint with a weight",
                "an empty mapping",
            );
            return;
        }
        let mut total = 0.0;
        for (name, &x) in w {
            if !(x.is_finite() && x >= 0.0) {
                self.err(format!("{wp}.{name}"), "a finite weight >= 0", fmt_num(x));
            } else {
                total += x;
            }
        }
        if total <= 0.0 {
            self.push(
                Diagnostic::new(wp.clone(), "weights that are not all zero", "all zero")
                    .with_hint("give at least one endpoint a positive weight"),
            );
        }
        let n = &self.m.topology_graph.nodes;
        let client = match &g.target {
            Some(t) => t.as_str(),
            None => match n.all_clients().next() {
                Some((_, c)) => c.id.as_str(),
                None => return,
            },
        };
        for sid in self.servers_reached_from(client) {
            let Some(s) = n.servers.iter().find(|s| s.id == sid) else {
                continue;
            };
            for name in w.keys() {
                if !s.endpoints.iter().any(|e| &e.endpoint_name == name) {
                    let have: Vec<&str> = s
                        .endpoints
                        .iter()
                        .map(|e| e.endpoint_name.as_str())
                        .collect();
                    let mut d = Diagnostic::new(
                        format!("{wp}.{name}"),
                        format!(
                            "an endpoint of every server the generator reaches (`{sid}` has {})",
                            have.join(", ")
                        ),
                        format!("`{name}`, which `{sid}` does not serve"),
                    );
                    if let Some(best) = did_you_mean(name, have.iter().copied()) {
                        d = d.with_hint(format!("did you mean `{best}`?"));
                    }
                    self.push(d);
                }
            }
        }
    }
}
