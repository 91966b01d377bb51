//! The generator (`rqs_input`): its user-count and per-user-rate distributions
//! and its user sampling window. Its `type` tag and id are checked with every
//! other node's in `identity.rs`.

use super::Validator;
use super::random_variable::MeanRule;
use crate::scenario::schema::Distribution;

impl Validator<'_> {
    pub(super) fn generator(&mut self) {
        let g = &self.m.rqs_input;
        let users = &g.avg_active_users;
        if !matches!(
            users.distribution,
            Distribution::Poisson | Distribution::Normal
        ) {
            self.err(
                "rqs_input.avg_active_users.distribution",
                "`poisson` or `normal`",
                format!("`{}`", users.distribution.as_str()),
            );
        }
        self.rv("rqs_input.avg_active_users", users, MeanRule::NonNegative);
        let rpm = &g.avg_request_per_minute_per_user;
        if rpm.distribution != Distribution::Poisson {
            self.err(
                "rqs_input.avg_request_per_minute_per_user.distribution",
                "`poisson` (its mean is the per-user rate)",
                format!("`{}`", rpm.distribution.as_str()),
            );
        }
        self.rv(
            "rqs_input.avg_request_per_minute_per_user",
            rpm,
            MeanRule::Positive,
        );
        if !(1..=120).contains(&g.user_sampling_window) {
            self.err(
                "rqs_input.user_sampling_window",
                "whole seconds in [1, 120]",
                g.user_sampling_window.to_string(),
            );
        }
    }
}
