//! Simulation settings (`sim_settings`): horizon, sample period, in-flight cap,
//! and each enabled metric listed once.

use std::collections::HashSet;

use super::{Validator, fmt_num};

impl Validator<'_> {
    pub(super) fn settings(&mut self) {
        let s = &self.m.sim_settings;
        if s.total_simulation_time < 5 {
            self.err(
                "sim_settings.total_simulation_time",
                "whole seconds >= 5",
                s.total_simulation_time.to_string(),
            );
        }
        if !(s.sample_period_s.is_finite() && (0.001..=0.1).contains(&s.sample_period_s)) {
            self.err(
                "sim_settings.sample_period_s",
                "seconds in [0.001, 0.1]",
                fmt_num(s.sample_period_s),
            );
        }
        if s.max_in_flight < 1 {
            self.err(
                "sim_settings.max_in_flight",
                "a whole number of requests >= 1",
                s.max_in_flight.to_string(),
            );
        }
        let mut seen = HashSet::new();
        for (i, m) in s.enabled_sample_metrics.iter().enumerate() {
            if !seen.insert(*m) {
                self.err(
                    format!("sim_settings.enabled_sample_metrics[{i}]"),
                    "each metric once",
                    format!("`{}` again", m.as_str()),
                );
            }
        }
        let mut seen = HashSet::new();
        for (i, m) in s.enabled_event_metrics.iter().enumerate() {
            if !seen.insert(*m) {
                self.err(
                    format!("sim_settings.enabled_event_metrics[{i}]"),
                    "each metric once",
                    format!("`{m:?}` again"),
                );
            }
        }
    }
}
