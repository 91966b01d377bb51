//! Calls between services: `call` and `parallel` steps.
//!
//! A request reaching a call step gives its core back and keeps its RAM (an
//! await, like I/O), opens a [`Wait`] and sends one child request per call
//! on the edge caller → callee. A child is an ordinary request with a
//! [`CallInfo`]: it is routed by load balancers and served like any other,
//! asking for the endpoint the step names; its reply rides the edge callee →
//! caller (load balancers are not on the way back). Each reply is counted
//! into the caller's wait: the caller resumes at its next step once the join
//! rule has its successes (`all`: every call, `any`: one, `quorum: k`: k),
//! and fails (its reply goes back as a failure) as soon as the rule can no
//! longer be met. Calls still running then are left to finish; their replies
//! are ignored.
//!
//! A call's `timeout_s` is a timer on the caller: when it fires first the
//! call counts as failed for the wait, its span gets `timed_out`, and the
//! callee's work goes on (counted as orphaned CPU at the server that
//! finishes it). A call lost on the network is seen only through that timer,
//! or at once when the call has none ([`crate::engine::request::finish`]).

use bevy_ecs::prelude::*;
use bevy_ecs::system::SystemParamItem;

use super::{CALL_TIMEOUT, Handoffs, Param, ServerConfig, Work, proceed};
use crate::engine::event::Event;
use crate::engine::network;
use crate::engine::node::Ctx;
use crate::engine::request::{self, CallInfo, Phase, Request, Wait};
use crate::engine::time::SimTime;
use crate::engine::world::{BuildCx, BuildError};
use crate::metrics::record::{NameId, RequestStatus};
use crate::scenario::schema::{Join, Step, StepKind};

/// How many successes a wait needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinRule {
    /// Every call.
    All,
    /// One call.
    Any,
    /// `k` calls.
    Quorum(u16),
}

/// One call of a step, resolved to entities.
#[derive(Debug, Clone)]
pub struct CallTarget {
    /// The node called (a server or a load balancer).
    pub node: Entity,
    /// Its name.
    pub name: NameId,
    /// The endpoint asked for (`None`: the callee's first).
    pub endpoint: Option<NameId>,
    /// The edge caller → callee.
    pub edge: Entity,
    /// How long the caller waits for the reply.
    pub timeout: Option<SimTime>,
}

/// A `call` or `parallel` step, ready to run.
#[derive(Debug, Clone)]
pub struct CallPlan {
    /// The calls, sent in this order.
    pub targets: Vec<CallTarget>,
    /// The join rule.
    pub join: JoinRule,
    /// Successes needed.
    pub need: u16,
}

/// Resolve a call step of server `caller` (validation made every name and
/// edge exist; a failure here is a build error naming `what`).
pub(super) fn plan(
    cx: &mut BuildCx,
    caller: &str,
    step: &Step,
    what: &str,
) -> Result<CallPlan, BuildError> {
    let op = &step.step_operation;
    let specs: Vec<(&str, Option<&str>, Option<f64>)> = match step.kind {
        StepKind::Parallel => op
            .calls
            .iter()
            .flatten()
            .map(|c| (c.service.as_str(), c.endpoint.as_deref(), c.timeout_s))
            .collect(),
        _ => op
            .service
            .iter()
            .map(|s| (s.as_str(), op.endpoint.as_deref(), op.timeout_s))
            .collect(),
    };
    if specs.is_empty() {
        return Err(BuildError::Topology(format!(
            "{what}: a call step calls nothing"
        )));
    }
    let mut targets = Vec::with_capacity(specs.len());
    for (service, endpoint, timeout) in specs {
        let node = cx.require_node(service, what)?;
        let edge = cx.edge_between(caller, service).ok_or_else(|| {
            BuildError::Topology(format!("{what}: no edge {caller} -> {service}"))
        })?;
        targets.push(CallTarget {
            node,
            name: cx.names.intern(service),
            endpoint: endpoint.map(|e| cx.names.intern(&e.to_lowercase())),
            edge,
            timeout: timeout.map(SimTime::from_secs_f64),
        });
    }
    let n = targets.len() as u16;
    let join = match (step.kind, op.join) {
        (StepKind::Parallel, Some(Join::Any)) => JoinRule::Any,
        (StepKind::Parallel, Some(Join::Quorum(k))) => {
            JoinRule::Quorum(u16::try_from(k.clamp(1, i64::from(n))).unwrap_or(n))
        }
        _ => JoinRule::All,
    };
    let need = match join {
        JoinRule::All => n,
        JoinRule::Any => 1,
        JoinRule::Quorum(k) => k,
    };
    Ok(CallPlan {
        targets,
        join,
        need,
    })
}

/// Send the calls of the step `req` has reached at `server`.
pub(super) fn send(
    cx: &mut Ctx,
    hand: &mut Handoffs,
    cfg: &ServerConfig,
    server: Entity,
    req: Entity,
) {
    let now = cx.now;
    let Ok(mut r) = cx.requests.get_mut(req) else {
        return;
    };
    let ep = &cfg.endpoints[r.endpoint as usize];
    let Some(Work::Call(i)) = ep.steps.get(r.step as usize).map(|s| s.work) else {
        return;
    };
    let plan = &ep.calls[i as usize];
    hand.last_wait = hand.last_wait.wrapping_add(1).max(1);
    let wait = hand.last_wait;
    r.wait = Wait {
        id: wait,
        need: plan.need,
        total: plan.targets.len() as u16,
        ok: 0,
        failed: 0,
        done: 0,
    };
    let trace = r.call.map_or(r.id, |c| c.trace);
    let parent_span = r.call.map(|_| r.id);
    let (generator, client) = (r.generator, r.client);
    for (k, t) in plan.targets.iter().enumerate() {
        hand.last_span += 1;
        let mut child = Request::new(hand.last_span, generator, client, now);
        child.reply_to = server;
        child.wanted_endpoint = t.endpoint;
        child.call = Some(CallInfo {
            trace,
            parent: req,
            parent_wait: wait,
            index: k as u16,
            parent_span,
            caller: cfg.name,
            callee: t.name,
            deadline: t.timeout.map_or(SimTime::MAX, |d| now + d),
            attempt: 1,
        });
        let Some(c) = request::spawn(cx, child) else {
            continue;
        };
        if let Some(d) = t.timeout {
            cx.sched()
                .schedule_aux(now + d, CALL_TIMEOUT, server, req, (wait, k as u16));
        }
        network::send(cx, t.edge, c);
    }
}

/// A call's reply (or its loss, for a caller without a timeout) reached the
/// calling server.
pub(super) fn on_reply(
    cx: &mut Ctx,
    p: &mut SystemParamItem<Param>,
    server: Entity,
    child: Entity,
) {
    let now = cx.now;
    let Ok(c) = cx.requests.get(child) else {
        return;
    };
    let Some(info) = c.call else {
        return;
    };
    let status = c.status;
    let timed_out = now >= info.deadline;
    let (span_status, end) = if timed_out {
        (RequestStatus::TimedOut, info.deadline)
    } else {
        (status, now)
    };
    request::finish_call(cx, child, span_status, end);
    let ok = status == RequestStatus::Completed;
    outcome(
        cx,
        p,
        server,
        info.parent,
        (info.parent_wait, info.index),
        ok,
    );
}

/// A call's timeout fired at the caller (`request` = caller, `tag` = its
/// wait, `aux` = the call's index).
pub(super) fn on_timeout(cx: &mut Ctx, p: &mut SystemParamItem<Param>, ev: Event) {
    outcome(cx, p, ev.target, ev.request, (ev.tag, ev.aux), false);
}

/// Count one call's outcome into the caller's wait, if the caller still waits
/// for it; resume or fail the caller when the join rule is decided.
fn outcome(
    cx: &mut Ctx,
    p: &mut SystemParamItem<Param>,
    server: Entity,
    parent: Entity,
    (wait, index): (u32, u16),
    ok: bool,
) {
    let Ok(mut r) = cx.requests.get_mut(parent) else {
        return;
    };
    let bit = 1u64 << index;
    if r.phase() != Phase::Call || r.wait.id != wait || r.wait.done & bit != 0 {
        return;
    }
    r.wait.done |= bit;
    if ok {
        r.wait.ok += 1;
    } else {
        r.wait.failed += 1;
    }
    if r.wait.ok >= r.wait.need {
        proceed(cx, p, server, parent, |_, _, r| r.step += 1);
    } else if r.wait.hopeless() {
        // The endpoint ends here; its reply carries the failure.
        proceed(cx, p, server, parent, |_, _, r| {
            r.step = u32::MAX;
            r.status = RequestStatus::Failed;
        });
    }
}
