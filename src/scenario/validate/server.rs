//! Servers: resources (cores, RAM, connection pool, workers dividing the
//! cores), endpoints (non-empty, unique names, optional probabilities summing
//! to 1) and their steps (one operation key matching the step kind, positive
//! values, total RAM within `ram_mb`). How servers are wired to the rest of the graph is `edge.rs`'s.

use std::collections::HashMap;

use super::random_variable::MeanRule;
use super::{SERVERS, Validator, fmt_num};
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::schema::{Server, ServerResources, StepFamily, StepValue};

/// Tolerance on the sum of endpoint probabilities.
const PROBABILITY_SUM_TOLERANCE: f64 = 1e-9;

impl Validator<'_> {
    pub(super) fn servers(&mut self) {
        for (i, s) in self.m.topology_graph.nodes.servers.iter().enumerate() {
            self.server(i, s);
        }
    }

    fn server(&mut self, i: usize, s: &Server) {
        let p = format!("{SERVERS}[{i}]");
        let r = &s.server_resources;
        if r.cpu_cores < 1 {
            self.err(
                format!("{p}.server_resources.cpu_cores"),
                "an integer >= 1",
                r.cpu_cores.to_string(),
            );
        }
        if r.ram_mb < 256 {
            self.err(
                format!("{p}.server_resources.ram_mb"),
                "an integer >= 256 (MB)",
                r.ram_mb.to_string(),
            );
        }
        if let Some(pool) = r.db_connection_pool
            && pool < 1
        {
            self.err(
                format!("{p}.server_resources.db_connection_pool"),
                "an integer >= 1",
                pool.to_string(),
            );
        }
        self.server_workers(&p, r);
        if s.endpoints.is_empty() {
            self.err(
                format!("{p}.endpoints"),
                "at least one endpoint",
                "an empty list",
            );
            return;
        }
        let mut names: HashMap<&str, usize> = HashMap::new();
        for (j, ep) in s.endpoints.iter().enumerate() {
            let ep_path = format!("{p}.endpoints[{j}]");
            if let Some(first) = names.get(ep.endpoint_name.as_str()) {
                self.push(
                    Diagnostic::new(
                        format!("{ep_path}.endpoint_name"),
                        "endpoint names unique within a server (compared lower-cased)",
                        format!(
                            "`{}`, also the name of endpoints[{first}]",
                            ep.endpoint_name
                        ),
                    )
                    .with_hint("names are lower-cased on load, so `/API` and `/api` clash"),
                );
            } else {
                names.insert(&ep.endpoint_name, j);
            }
            if ep.steps.is_empty() {
                self.err(
                    format!("{ep_path}.steps"),
                    "at least one step",
                    "an empty list",
                );
            }
            let mut ram_sum = 0.0;
            let mut ram_random = false;
            let mut ram_ok = true;
            for (k, step) in ep.steps.iter().enumerate() {
                let sp = format!("{ep_path}.steps[{k}].step_operation");
                let entries = step.step_operation.entries();
                let family = step.kind.family();
                // Call steps are checked by `calls.rs`; other steps must not
                // carry call keys.
                if family == StepFamily::Call {
                    continue;
                }
                if let Some(key) = step.step_operation.call_key() {
                    self.push(
                        Diagnostic::new(
                            format!("{sp}.{key}"),
                            format!("only `{}` (kind `{}`)", family.key(), step.kind.as_str()),
                            format!("`{key}`, a key of `call` and `parallel` steps"),
                        )
                        .with_hint("use `kind: call` (or `parallel`) to call another service"),
                    );
                    ram_ok = false;
                    continue;
                }
                let keys: Vec<&str> = entries.iter().map(|(f, _)| f.key()).collect();
                if entries.len() != 1 {
                    let found = if keys.is_empty() {
                        "no key".to_string()
                    } else {
                        format!("{} keys: {}", keys.len(), keys.join(", "))
                    };
                    self.err(
                        sp.clone(),
                        format!("exactly one key, `{}`", family.key()),
                        found,
                    );
                    ram_ok = false;
                    continue;
                }
                let (got, value) = entries[0];
                if got != family {
                    self.push(
                        Diagnostic::new(
                            format!("{sp}.{}", got.key()),
                            format!(
                                "`{}` (kind `{}` takes it)",
                                family.key(),
                                step.kind.as_str()
                            ),
                            format!("`{}`", got.key()),
                        )
                        .with_hint(format!(
                            "rename the key to `{}` or change `kind`",
                            family.key()
                        )),
                    );
                    ram_ok = false;
                    continue;
                }
                let vp = format!("{sp}.{}", got.key());
                let good = match value {
                    StepValue::Fixed(x) => {
                        let good = x.is_finite() && *x > 0.0;
                        if !good {
                            self.err(vp, "a finite number > 0", fmt_num(*x));
                        }
                        good
                    }
                    StepValue::Random(rv) => self.rv(&vp, rv, MeanRule::Positive),
                };
                if got == StepFamily::Ram {
                    ram_ok &= good;
                    ram_sum += value.mean();
                    ram_random |= matches!(value, StepValue::Random(_));
                }
            }
            if ram_ok && ram_sum > r.ram_mb as f64 && r.ram_mb >= 256 {
                let what = if ram_random {
                    " (RV steps count their mean)"
                } else {
                    ""
                };
                self.push(
                    Diagnostic::new(
                        ep_path,
                        format!(
                            "the endpoint's RAM to fit in the server's ram_mb ({} MB)",
                            r.ram_mb
                        ),
                        format!("{} MB of `necessary_ram` in total{what}", fmt_num(ram_sum)),
                    )
                    .with_hint(
                        "a request that can never reserve its RAM would wait forever; raise ram_mb",
                    ),
                );
            }
        }
        self.probabilities(&p, s);
    }

    /// `workers` is an integer >= 1 that divides `cpu_cores` (each worker
    /// gets `cpu_cores / workers` cores). A bad `cpu_cores` is reported on its
    /// own and skips the divisibility check.
    fn server_workers(&mut self, p: &str, r: &ServerResources) {
        let path = format!("{p}.server_resources.workers");
        if r.workers < 1 {
            self.err(path, "an integer >= 1", r.workers.to_string());
            return;
        }
        if r.cpu_cores < 1 || r.cpu_cores % r.workers == 0 {
            return;
        }
        let up = (r.cpu_cores / r.workers + 1).saturating_mul(r.workers);
        self.push(
            Diagnostic::new(
                path,
                format!("a divisor of cpu_cores ({})", r.cpu_cores),
                format!(
                    "{} ({} cores do not split evenly into {} workers)",
                    r.workers, r.cpu_cores, r.workers
                ),
            )
            .with_hint(format!(
                "each worker gets cpu_cores / workers cores: set cpu_cores to {up} \
                 (the next multiple of {}) or workers to a divisor of {}",
                r.workers, r.cpu_cores
            )),
        );
    }

    fn probabilities(&mut self, p: &str, s: &Server) {
        let given = s
            .endpoints
            .iter()
            .filter(|e| e.probability.is_some())
            .count();
        if given == 0 {
            return;
        }
        if given != s.endpoints.len() {
            if let Some(j) = s.endpoints.iter().position(|e| e.probability.is_none()) {
                self.err(
                    format!("{p}.endpoints[{j}].probability"),
                    "a probability on every endpoint of the server, or on none",
                    format!(
                        "{given} of {} endpoints have one; this one does not",
                        s.endpoints.len()
                    ),
                );
            }
            return;
        }
        let mut ok = true;
        let mut sum = 0.0;
        for (j, e) in s.endpoints.iter().enumerate() {
            let x = e.probability.unwrap_or(0.0);
            if !(x.is_finite() && x >= 0.0) {
                self.err(
                    format!("{p}.endpoints[{j}].probability"),
                    "a finite number >= 0",
                    fmt_num(x),
                );
                ok = false;
            }
            sum += x;
        }
        if ok && (sum - 1.0).abs() > PROBABILITY_SUM_TOLERANCE {
            self.err(
                format!("{p}.endpoints"),
                "endpoint probabilities summing to 1",
                format!("they sum to {}", fmt_num(sum)),
            );
        }
    }
}
