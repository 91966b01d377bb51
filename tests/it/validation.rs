//! One test per validation rule: start from a valid model, break exactly that
//! rule, and check that exactly one diagnostic comes back, at the right path.
//! Then YAML-level behaviour (positions, hints, several mistakes) and the CLI.
use std::path::Path;
use std::process::Command;

use asyncflow::scenario::schema::{
    Distribution, EventKind, EventMetric, LbAlgorithm, LoadBalancer, RvConfig, SampleMetric,
    ScenarioFile, StepOperation, StepValue, WorkerDispatch,
};
use asyncflow::scenario::{Diagnostic, Scenario};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn model(rel: &str) -> ScenarioFile {
    let p = Path::new(ROOT).join(rel);
    match Scenario::load(&p) {
        Ok(s) => s.model().clone(),
        Err(e) => panic!("{rel}: {e}"),
    }
}

/// generator → client-1 → app-1 → client-1.
fn quick() -> ScenarioFile {
    model("scenarios/quickstart.yml")
}

/// generator → client-1 → lb-1 → srv-1 | srv-2 → client-1; edges in that order:
/// gen-client, client-lb, lb-srv1, lb-srv2, srv1-client, srv2-client.
fn lb() -> ScenarioFile {
    model("../shared/compat/valid/two_servers_lb.yml")
}

/// `lb()` plus five events: spike client-lb, srv-1 down 180-240, spike lb-srv2,
/// srv-2 down 360-420, spike gen-client.
fn with_events() -> ScenarioFile {
    model("../shared/compat/valid/event_inj_lb.yml")
}

fn diagnostics(m: ScenarioFile) -> Vec<Diagnostic> {
    match Scenario::from_model(m) {
        Ok(_) => Vec::new(),
        Err(e) => e.diagnostics().to_vec(),
    }
}

/// Exactly one diagnostic, at `path`.
#[track_caller]
fn only(m: ScenarioFile, path: &str) -> Diagnostic {
    let d = diagnostics(m);
    let paths: Vec<&str> = d.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, [path], "{d:#?}");
    d.into_iter().next().expect("one diagnostic")
}

#[test]
fn bases_are_valid() {
    for m in [quick(), lb(), with_events()] {
        assert_eq!(diagnostics(m), []);
    }
}

// ---- ids and node tags ----

#[test]
fn ids_are_unique_across_nodes_and_edges() {
    let mut m = quick();
    m.topology_graph.edges[1].id = "app-1".into();
    let d = only(m, "topology_graph.edges[1].id");
    assert!(
        d.found.contains("topology_graph.nodes.servers[0].id"),
        "{d:?}"
    );
}

#[test]
fn event_ids_are_unique() {
    let mut m = with_events();
    m.events[1].event_id = m.events[0].event_id.clone();
    only(m, "events[1].event_id");
}

#[test]
fn ids_are_not_empty() {
    let mut m = lb();
    m.topology_graph.edges[2].id = String::new();
    only(m, "topology_graph.edges[2].id");
}

#[test]
fn node_type_tag_must_match_its_kind() {
    let mut m = quick();
    m.topology_graph.nodes.client.as_mut().unwrap().node_type = Some("server".into());
    only(m.clone(), "topology_graph.nodes.client.type");
    m.topology_graph.nodes.client.as_mut().unwrap().node_type = Some("client".into());
    m.topology_graph.nodes.servers[0].node_type = Some("client".into());
    only(m.clone(), "topology_graph.nodes.servers[0].type");
    m.topology_graph.nodes.servers[0].node_type = None;
    m.rqs_input.as_mut_slice()[0].node_type = Some("client".into());
    only(m, "rqs_input.type");
    let mut m = lb();
    m.topology_graph
        .nodes
        .load_balancer
        .as_mut()
        .expect("lb")
        .node_type = Some("lb".into());
    only(m, "topology_graph.nodes.load_balancer.type");
}

// ---- random variables ----

#[test]
fn rv_mean_must_be_finite() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut m = quick();
        m.topology_graph.edges[0].latency.mean = bad;
        only(m, "topology_graph.edges[0].latency.mean");
    }
}

#[test]
fn rv_variance_must_be_non_negative_and_finite() {
    for bad in [-1.0, f64::NAN] {
        let mut m = quick();
        m.topology_graph.edges[0].latency.variance = Some(bad);
        only(m, "topology_graph.edges[0].latency.variance");
    }
}

#[test]
fn rv_parameters_must_be_accepted_by_the_sampler() {
    let mut m = quick();
    let huge = RvConfig::new(Distribution::Poisson, 1e30);
    m.topology_graph.nodes.servers[0].endpoints[0].steps[0]
        .step_operation
        .cpu_time = Some(StepValue::Random(huge));
    only(
        m,
        "topology_graph.nodes.servers[0].endpoints[0].steps[0].step_operation.cpu_time",
    );
}

// ---- generator ----

#[test]
fn active_users_are_poisson_or_normal() {
    let mut m = quick();
    m.rqs_input.as_mut_slice()[0].avg_active_users.distribution = Distribution::Exponential;
    only(m, "rqs_input.avg_active_users.distribution");
}

#[test]
fn requests_per_minute_are_poisson() {
    let mut m = quick();
    m.rqs_input.as_mut_slice()[0]
        .avg_request_per_minute_per_user
        .distribution = Distribution::Normal;
    only(m, "rqs_input.avg_request_per_minute_per_user.distribution");
}

#[test]
fn active_users_mean_is_non_negative() {
    let mut m = quick();
    m.rqs_input.as_mut_slice()[0].avg_active_users.mean = -1.0;
    only(m.clone(), "rqs_input.avg_active_users.mean");
    m.rqs_input.as_mut_slice()[0].avg_active_users.mean = 0.0;
    assert_eq!(diagnostics(m), []);
}

#[test]
fn requests_per_minute_mean_is_positive() {
    let mut m = quick();
    m.rqs_input.as_mut_slice()[0]
        .avg_request_per_minute_per_user
        .mean = 0.0;
    only(m, "rqs_input.avg_request_per_minute_per_user.mean");
}

#[test]
fn user_sampling_window_is_between_1_and_120() {
    for (w, ok) in [
        (0, false),
        (1, true),
        (120, true),
        (121, false),
        (-5, false),
    ] {
        let mut m = quick();
        m.rqs_input.as_mut_slice()[0].user_sampling_window = w;
        if ok {
            assert_eq!(diagnostics(m), [], "{w}");
        } else {
            only(m, "rqs_input.user_sampling_window");
        }
    }
}

// ---- servers and endpoints ----

#[test]
fn cpu_cores_at_least_one() {
    let mut m = quick();
    m.topology_graph.nodes.servers[0].server_resources.cpu_cores = 0;
    only(
        m,
        "topology_graph.nodes.servers[0].server_resources.cpu_cores",
    );
}

#[test]
fn ram_at_least_256_mb() {
    let mut m = quick();
    m.topology_graph.nodes.servers[0].server_resources.ram_mb = 255;
    only(m, "topology_graph.nodes.servers[0].server_resources.ram_mb");
}

#[test]
fn db_connection_pool_at_least_one() {
    let mut m = quick();
    m.topology_graph.nodes.servers[0]
        .server_resources
        .db_connection_pool = Some(0);
    only(
        m,
        "topology_graph.nodes.servers[0].server_resources.db_connection_pool",
    );
}

#[test]
fn workers_at_least_one() {
    let mut m = quick();
    m.topology_graph.nodes.servers[0].server_resources.workers = 0;
    let d = only(
        m,
        "topology_graph.nodes.servers[0].server_resources.workers",
    );
    assert_eq!(
        (d.expected.as_str(), d.found.as_str()),
        ("an integer >= 1", "0")
    );
}

#[test]
fn workers_divide_cpu_cores() {
    let mut m = lb();
    let r = &mut m.topology_graph.nodes.servers[1].server_resources;
    (r.cpu_cores, r.workers) = (6, 4);
    let d = only(
        m,
        "topology_graph.nodes.servers[1].server_resources.workers",
    );
    assert_eq!(d.expected, "a divisor of cpu_cores (6)");
    assert!(d.found.starts_with('4'), "{d:?}");
    let hint = d.hint.as_deref().unwrap_or_default();
    assert!(hint.contains("set cpu_cores to 8"), "{hint}");
    // More workers than cores is the same mistake.
    let mut m = quick();
    let r = &mut m.topology_graph.nodes.servers[0].server_resources;
    (r.cpu_cores, r.workers) = (2, 4);
    only(
        m,
        "topology_graph.nodes.servers[0].server_resources.workers",
    );
    // Every divisor is fine, and a bad cpu_cores is reported once, on its own.
    for w in [1, 2, 3, 6] {
        let mut m = quick();
        let r = &mut m.topology_graph.nodes.servers[0].server_resources;
        (r.cpu_cores, r.workers) = (6, w);
        assert_eq!(diagnostics(m), [], "workers {w}");
    }
    let mut m = quick();
    let r = &mut m.topology_graph.nodes.servers[0].server_resources;
    (r.cpu_cores, r.workers) = (0, 2);
    only(
        m,
        "topology_graph.nodes.servers[0].server_resources.cpu_cores",
    );
}

#[test]
fn worker_keys_are_left_out_at_their_defaults() {
    let m = quick();
    let v = serde_json::to_value(&m.topology_graph.nodes.servers[0].server_resources)
        .expect("serialises");
    assert!(
        v.get("workers").is_none() && v.get("worker_dispatch").is_none(),
        "{v}"
    );
    let mut r = m.topology_graph.nodes.servers[0].server_resources.clone();
    (r.workers, r.worker_dispatch) = (2, WorkerDispatch::LeastBusy);
    let v = serde_json::to_value(&r).expect("serialises");
    assert_eq!(v["workers"], 2);
    assert_eq!(v["worker_dispatch"], "least_busy");
}

#[test]
fn a_server_has_an_endpoint() {
    let mut m = quick();
    m.topology_graph.nodes.servers[0].endpoints.clear();
    only(m, "topology_graph.nodes.servers[0].endpoints");
}

#[test]
fn an_endpoint_has_a_step() {
    let mut m = quick();
    m.topology_graph.nodes.servers[0].endpoints[0].steps.clear();
    only(m, "topology_graph.nodes.servers[0].endpoints[0].steps");
}

#[test]
fn endpoint_names_are_unique_after_lower_casing() {
    let mut m = quick();
    let mut twin = m.topology_graph.nodes.servers[0].endpoints[0].clone();
    twin.endpoint_name = "/API".into();
    m.topology_graph.nodes.servers[0].endpoints.push(twin);
    only(
        m,
        "topology_graph.nodes.servers[0].endpoints[1].endpoint_name",
    );
}

/// quick() with two endpoints of the given probabilities.
fn two_endpoints(p0: Option<f64>, p1: Option<f64>) -> ScenarioFile {
    let mut m = quick();
    let eps = &mut m.topology_graph.nodes.servers[0].endpoints;
    let mut second = eps[0].clone();
    second.endpoint_name = "/other".into();
    eps.push(second);
    eps[0].probability = p0;
    eps[1].probability = p1;
    m
}

#[test]
fn probabilities_are_non_negative() {
    only(
        two_endpoints(Some(1.5), Some(-0.5)),
        "topology_graph.nodes.servers[0].endpoints[1].probability",
    );
    only(
        two_endpoints(Some(0.5), Some(f64::NAN)),
        "topology_graph.nodes.servers[0].endpoints[1].probability",
    );
}

#[test]
fn probabilities_are_all_given_or_none() {
    assert_eq!(diagnostics(two_endpoints(None, None)), []);
    only(
        two_endpoints(Some(1.0), None),
        "topology_graph.nodes.servers[0].endpoints[1].probability",
    );
}

#[test]
fn probabilities_sum_to_one() {
    assert_eq!(diagnostics(two_endpoints(Some(0.3), Some(0.7))), []);
    only(
        two_endpoints(Some(0.3), Some(0.6)),
        "topology_graph.nodes.servers[0].endpoints",
    );
}

const STEP0: &str = "topology_graph.nodes.servers[0].endpoints[0].steps[0].step_operation";

#[test]
fn step_operation_has_exactly_one_key() {
    let mut m = quick();
    let op = &mut m.topology_graph.nodes.servers[0].endpoints[0].steps[0].step_operation;
    op.io_waiting_time = Some(StepValue::Fixed(0.1));
    only(m.clone(), STEP0);
    m.topology_graph.nodes.servers[0].endpoints[0].steps[0].step_operation =
        StepOperation::default();
    only(m, STEP0);
}

#[test]
fn step_operation_key_matches_the_kind() {
    let mut m = quick();
    m.topology_graph.nodes.servers[0].endpoints[0].steps[0].step_operation = StepOperation {
        necessary_ram: Some(StepValue::Fixed(10.0)),
        ..StepOperation::default()
    };
    let d = only(m, &format!("{STEP0}.necessary_ram"));
    assert!(d.expected.contains("cpu_time"), "{d:?}");
}

#[test]
fn fixed_step_values_are_positive_and_finite() {
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let mut m = quick();
        m.topology_graph.nodes.servers[0].endpoints[0].steps[0]
            .step_operation
            .cpu_time = Some(StepValue::Fixed(bad));
        only(m, &format!("{STEP0}.cpu_time"));
    }
}

#[test]
fn random_step_values_have_a_positive_mean() {
    let mut m = quick();
    m.topology_graph.nodes.servers[0].endpoints[0].steps[0]
        .step_operation
        .cpu_time = Some(StepValue::Random(RvConfig::new(
        Distribution::Exponential,
        0.0,
    )));
    only(m, &format!("{STEP0}.cpu_time.mean"));
}

#[test]
fn endpoint_ram_fits_in_the_server() {
    let mut m = quick();
    // quickstart: ram_mb 2048, one ram step (index 1).
    m.topology_graph.nodes.servers[0].endpoints[0].steps[1]
        .step_operation
        .necessary_ram = Some(StepValue::Fixed(2049.0));
    only(m.clone(), "topology_graph.nodes.servers[0].endpoints[0]");
    // A random RAM value counts with its mean.
    m.topology_graph.nodes.servers[0].endpoints[0].steps[1]
        .step_operation
        .necessary_ram = Some(StepValue::Random(RvConfig::new(
        Distribution::Exponential,
        2049.0,
    )));
    only(m.clone(), "topology_graph.nodes.servers[0].endpoints[0]");
    m.topology_graph.nodes.servers[0].endpoints[0].steps[1]
        .step_operation
        .necessary_ram = Some(StepValue::Fixed(2048.0));
    assert_eq!(diagnostics(m), []);
}

// ---- edges ----

#[test]
fn edge_source_differs_from_target() {
    let mut m = quick();
    m.topology_graph.edges[1].target = "client-1".into();
    only(m, "topology_graph.edges[1].target");
}

#[test]
fn edge_latency_mean_is_positive() {
    let mut m = quick();
    m.topology_graph.edges[2].latency.mean = 0.0;
    only(m, "topology_graph.edges[2].latency.mean");
}

#[test]
fn dropout_rate_is_a_probability() {
    for bad in [-0.1, 1.5, f64::NAN] {
        let mut m = quick();
        m.topology_graph.edges[0].dropout_rate = bad;
        only(m, "topology_graph.edges[0].dropout_rate");
    }
    let mut m = quick();
    m.topology_graph.edges[0].dropout_rate = 1.0;
    assert_eq!(diagnostics(m), []);
}

#[test]
fn edge_target_is_a_declared_node() {
    let mut m = quick();
    m.topology_graph.edges[1].target = "app-2".into();
    let d = only(m, "topology_graph.edges[1].target");
    assert_eq!(d.hint.as_deref(), Some("did you mean `app-1`?"));
}

#[test]
fn an_undeclared_source_must_be_the_generator() {
    let mut m = quick();
    let mut e = m.topology_graph.edges[0].clone();
    e.id = "ghost-edge".into();
    e.source = "ghost".into();
    m.topology_graph.edges.push(e);
    only(m, "topology_graph.edges[3].source");
}

#[test]
fn the_generator_is_never_a_target() {
    let mut m = lb();
    let mut e = m.topology_graph.edges[2].clone();
    e.id = "lb-gen".into();
    e.target = "rqs-1".into();
    m.topology_graph.edges.push(e);
    only(m, "topology_graph.edges[6].target");
}

#[test]
fn only_the_load_balancer_fans_out() {
    let mut m = quick();
    let mut e = m.topology_graph.edges[1].clone();
    e.id = "client-app-again".into();
    m.topology_graph.edges.push(e);
    only(m, "topology_graph.edges[3].source");
    // The load balancer itself may (lb() has two edges from lb-1).
    assert_eq!(diagnostics(lb()), []);
}

// ---- load balancer ----

#[test]
fn covered_servers_are_declared() {
    let mut m = lb();
    m.topology_graph
        .nodes
        .load_balancer
        .as_mut()
        .expect("lb")
        .server_covered
        .push("srv-9".into());
    only(m, "topology_graph.nodes.load_balancer.server_covered[2]");
}

#[test]
fn covered_servers_are_a_set() {
    let mut m = lb();
    m.topology_graph
        .nodes
        .load_balancer
        .as_mut()
        .expect("lb")
        .server_covered
        .push("srv-1".into());
    only(m, "topology_graph.nodes.load_balancer.server_covered[2]");
}

#[test]
fn every_covered_server_has_an_edge_from_the_load_balancer() {
    let mut m = lb();
    m.topology_graph.edges.remove(3); // lb-srv2
    only(m, "topology_graph.nodes.load_balancer.server_covered[1]");
}

#[test]
fn load_balancer_edges_go_to_covered_servers() {
    let mut m = lb();
    m.topology_graph
        .nodes
        .load_balancer
        .as_mut()
        .expect("lb")
        .server_covered
        .pop();
    only(m, "topology_graph.edges[3].target");
}

#[test]
fn a_reached_load_balancer_has_an_out_edge() {
    let mut m = lb();
    m.topology_graph
        .nodes
        .load_balancer
        .as_mut()
        .expect("lb")
        .server_covered
        .clear();
    m.topology_graph.edges.retain(|e| e.source != "lb-1");
    only(m, "topology_graph.nodes.load_balancer");
}

// ---- load-balancer algorithms and weights ----

/// `lb()` with its load balancer's algorithm and weights set.
fn weighted(algorithm: LbAlgorithm, weights: &[(&str, i64)]) -> ScenarioFile {
    let mut m = lb();
    let l = m.topology_graph.nodes.load_balancer.as_mut().expect("lb");
    l.algorithms = algorithm;
    l.weights = Some(weights.iter().map(|&(k, w)| (k.to_owned(), w)).collect());
    m
}

/// `lb()` in two tiers: lb-1 covers lb-2 and lb-3 (the `load_balancers`
/// list), which cover srv-1 and srv-2.
fn tiers() -> ScenarioFile {
    let mut m = lb();
    let g = &mut m.topology_graph;
    g.nodes.load_balancer.as_mut().expect("lb").server_covered = vec!["lb-2".into(), "lb-3".into()];
    for (i, (tier, srv)) in [("lb-2", "srv-1"), ("lb-3", "srv-2")]
        .into_iter()
        .enumerate()
    {
        g.nodes.load_balancers.push(LoadBalancer {
            id: tier.into(),
            node_type: None,
            algorithms: LbAlgorithm::RoundRobin,
            server_covered: vec![srv.into()],
            weights: None,
            sockets: None,
        });
        // lb-srv1 and lb-srv2 now lead to the tier; each tier gets an edge on.
        g.edges[2 + i].target = tier.into();
        let mut e = g.edges[2 + i].clone();
        e.id = format!("{tier}-{srv}");
        e.source = tier.into();
        e.target = srv.into();
        g.edges.push(e);
    }
    m
}

#[test]
fn every_algorithm_is_accepted_and_tiers_are_valid() {
    for a in [
        LbAlgorithm::RoundRobin,
        LbAlgorithm::LeastConnection,
        LbAlgorithm::Random,
        LbAlgorithm::WeightedRoundRobin,
        LbAlgorithm::PowerOfTwoChoices,
        LbAlgorithm::LeastResponseTime,
    ] {
        let mut m = lb();
        m.topology_graph
            .nodes
            .load_balancer
            .as_mut()
            .expect("lb")
            .algorithms = a;
        assert_eq!(diagnostics(m), [], "{a:?}");
    }
    assert_eq!(diagnostics(tiers()), []);
    // Weights are optional (every target weighs 1) and may name a tier.
    let mut m = tiers();
    m.topology_graph
        .nodes
        .load_balancer
        .as_mut()
        .expect("lb")
        .algorithms = LbAlgorithm::WeightedRoundRobin;
    assert_eq!(diagnostics(m.clone()), []);
    m.topology_graph
        .nodes
        .load_balancer
        .as_mut()
        .expect("lb")
        .weights = Some([("lb-3".to_owned(), 4)].into_iter().collect());
    assert_eq!(diagnostics(m), []);
}

#[test]
fn weights_need_weighted_round_robin() {
    let d = only(
        weighted(LbAlgorithm::RoundRobin, &[("srv-1", 3)]),
        "topology_graph.nodes.load_balancer.weights",
    );
    assert_eq!(
        d.expected,
        "`weights` only with `algorithms: weighted_round_robin`"
    );
    assert_eq!(d.found, "`weights` with `algorithms: round_robin`");
    assert_eq!(
        d.hint.as_deref(),
        Some("set `algorithms: weighted_round_robin`, or remove `weights`")
    );
    only(
        weighted(LbAlgorithm::PowerOfTwoChoices, &[]),
        "topology_graph.nodes.load_balancer.weights",
    );
}

#[test]
fn weights_name_covered_targets() {
    let d = only(
        weighted(
            LbAlgorithm::WeightedRoundRobin,
            &[("srv-1", 3), ("srv-3", 1)],
        ),
        "topology_graph.nodes.load_balancer.weights.srv-3",
    );
    assert_eq!(d.expected, "a target listed in `server_covered` of `lb-1`");
    assert_eq!(d.found, "`srv-3`");
    assert_eq!(d.hint.as_deref(), Some("did you mean `srv-1`?"));
    let d = only(
        weighted(LbAlgorithm::WeightedRoundRobin, &[("database", 2)]),
        "topology_graph.nodes.load_balancer.weights.database",
    );
    assert_eq!(
        d.hint.as_deref(),
        Some("add `database` to server_covered or remove its weight")
    );
}

#[test]
fn weights_are_whole_numbers_from_one_to_a_million() {
    let m = weighted(
        LbAlgorithm::WeightedRoundRobin,
        &[("srv-1", 0), ("srv-2", 1_000_001)],
    );
    let d = diagnostics(m);
    let got: Vec<(&str, &str, &str)> = d
        .iter()
        .map(|d| {
            (
                d.path.as_str(),
                d.found.as_str(),
                d.hint.as_deref().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "topology_graph.nodes.load_balancer.weights.srv-1",
                "0",
                "a target that should get no traffic is left out of server_covered"
            ),
            (
                "topology_graph.nodes.load_balancer.weights.srv-2",
                "1000001",
                "scale the weights down: only their ratios matter"
            ),
        ]
    );
    assert!(
        d.iter()
            .all(|d| d.expected == "a whole number in [1, 1000000]")
    );
    only(
        weighted(LbAlgorithm::WeightedRoundRobin, &[("srv-1", -3)]),
        "topology_graph.nodes.load_balancer.weights.srv-1",
    );
    assert_eq!(
        diagnostics(weighted(
            LbAlgorithm::WeightedRoundRobin,
            &[("srv-1", 1), ("srv-2", 1_000_000)]
        )),
        []
    );
}

#[test]
fn a_tier_in_the_list_has_its_own_path() {
    let mut m = tiers();
    let l = &mut m.topology_graph.nodes.load_balancers[1];
    l.algorithms = LbAlgorithm::WeightedRoundRobin;
    l.weights = Some([("srv-9".to_owned(), 2)].into_iter().collect());
    let d = only(m, "topology_graph.nodes.load_balancers[1].weights.srv-9");
    assert_eq!(d.expected, "a target listed in `server_covered` of `lb-3`");
    assert_eq!(d.hint.as_deref(), Some("did you mean `srv-2`?"));
}

// ---- reachability ----

#[test]
fn the_generator_feeds_the_client() {
    let mut m = quick();
    m.topology_graph.edges[0].target = "app-1".into();
    only(m, "topology_graph.edges");
}

#[test]
fn the_client_has_an_out_edge() {
    let mut m = quick();
    m.topology_graph.edges.remove(1);
    only(m, "topology_graph.edges");
}

#[test]
fn a_reached_server_has_an_edge_back() {
    let mut m = quick();
    m.topology_graph.edges.remove(2);
    let d = only(m, "topology_graph.nodes.servers[0]");
    assert!(
        d.found.contains("client-1 → app-1"),
        "the broken hop is named: {d:?}"
    );
}

#[test]
fn a_server_answers_the_client_directly() {
    let mut m = lb();
    m.topology_graph.edges[5].target = "srv-1".into(); // srv-2 → srv-1
    let d = only(m, "topology_graph.edges[5].target");
    assert!(d.found.contains("srv-2 → srv-1"), "{d:?}");
}

// ---- settings ----

#[test]
fn horizon_at_least_five_seconds() {
    let mut m = quick();
    m.sim_settings.total_simulation_time = 4;
    only(m, "sim_settings.total_simulation_time");
}

#[test]
fn sample_period_between_1ms_and_100ms() {
    for (p, ok) in [
        (0.0009, false),
        (0.001, true),
        (0.1, true),
        (0.11, false),
        (f64::NAN, false),
    ] {
        let mut m = quick();
        m.sim_settings.sample_period_s = p;
        if ok {
            assert_eq!(diagnostics(m), [], "{p}");
        } else {
            only(m, "sim_settings.sample_period_s");
        }
    }
}

#[test]
fn metric_lists_have_no_duplicates() {
    let mut m = quick();
    m.sim_settings
        .enabled_sample_metrics
        .push(SampleMetric::RamInUse);
    only(m, "sim_settings.enabled_sample_metrics[4]");
    let mut m = quick();
    m.sim_settings
        .enabled_event_metrics
        .push(EventMetric::RqsClock);
    only(m, "sim_settings.enabled_event_metrics[1]");
}

// ---- events ----

#[test]
fn an_event_starts_with_a_start_kind() {
    let mut m = with_events();
    m.events[1].start.kind = EventKind::ServerUp;
    only(m, "events[1].start.kind");
}

#[test]
fn event_kinds_pair_up() {
    let mut m = with_events();
    m.events[1].end.kind = EventKind::NetworkSpikeEnd;
    only(m, "events[1].end.kind");
}

#[test]
fn server_events_target_a_server() {
    let mut m = with_events();
    m.events[1].target_id = "client-lb".into();
    only(m, "events[1].target_id");
}

#[test]
fn spikes_target_an_edge() {
    let mut m = with_events();
    m.events[0].target_id = "srv-1".into();
    only(m, "events[0].target_id");
}

#[test]
fn event_targets_exist() {
    let mut m = with_events();
    m.events[1].target_id = "srv-3".into();
    let d = only(m, "events[1].target_id");
    assert_eq!(
        d.hint.as_deref(),
        Some("did you mean `srv-1`?"),
        "ties go to the first id"
    );
}

#[test]
fn spikes_need_a_positive_spike() {
    for bad in [None, Some(0.0), Some(-1.0), Some(f64::NAN)] {
        let mut m = with_events();
        m.events[0].start.spike_s = bad;
        only(m, "events[0].start.spike_s");
    }
}

#[test]
fn server_events_have_no_spike() {
    let mut m = with_events();
    m.events[1].start.spike_s = Some(0.01);
    only(m, "events[1].start.spike_s");
}

#[test]
fn event_start_is_not_negative() {
    for bad in [-1.0, f64::NAN] {
        let mut m = with_events();
        m.events[0].start.t_start = bad;
        only(m, "events[0].start.t_start");
    }
}

#[test]
fn event_end_is_within_the_horizon() {
    let mut m = with_events();
    m.events[4].end.t_end = 601.0; // horizon 600
    only(m, "events[4].end.t_end");
}

#[test]
fn event_end_is_after_its_start() {
    let mut m = with_events();
    m.events[0].end.t_end = m.events[0].start.t_start;
    only(m, "events[0].end.t_end");
}

#[test]
fn outages_of_one_server_do_not_overlap() {
    // srv-1 is down 180-240; another outage from 200 overlaps.
    let m = with_events();
    let mut overlapping = m.clone();
    let mut ev = m.events[1].clone();
    ev.event_id = "again".into();
    ev.start.t_start = 200.0;
    ev.end.t_end = 300.0;
    overlapping.events.push(ev.clone());
    only(overlapping, "events[5].start.t_start");
    // Back to back is fine.
    let mut touching = m;
    ev.start.t_start = 240.0;
    touching.events.push(ev);
    assert_eq!(diagnostics(touching), []);
}

#[test]
fn some_server_is_always_up() {
    // srv-1 is down 180-240; srv-2 down 230-250 leaves nobody up from 230.
    let mut m = with_events();
    let mut ev = m.events[3].clone();
    ev.event_id = "srv2-early".into();
    ev.start.t_start = 230.0;
    ev.end.t_end = 250.0;
    m.events.push(ev);
    only(m.clone(), "events[5]");
    // Ending when srv-1 comes back is fine.
    m.events[5].start.t_start = 240.0;
    assert_eq!(diagnostics(m), []);
}

// ---- YAML: positions, hints, several mistakes ----

fn quick_text() -> String {
    std::fs::read_to_string(Path::new(ROOT).join("scenarios/quickstart.yml")).expect("quickstart")
}

fn yaml_errors(text: &str) -> Vec<Diagnostic> {
    match Scenario::from_yaml_str(text, Some(Path::new("t.yml"))) {
        Ok(_) => Vec::new(),
        Err(e) => e.diagnostics().to_vec(),
    }
}

#[test]
fn a_rule_error_in_yaml_has_line_and_column() {
    let old = "{ id: client-app, source: client-1, target: app-1, latency: { mean: 0.003";
    let text = quick_text().replace(old, &old.replace("0.003", "-2"));
    let (line_no, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("mean: -2"))
        .expect("edited line");
    let col = line.find("-2").expect("value") + 1;
    let d = yaml_errors(&text);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].path, "topology_graph.edges[1].latency.mean");
    assert_eq!((d[0].line, d[0].column), (Some(line_no + 1), Some(col)));
    assert_eq!(d[0].file.as_deref(), Some(Path::new("t.yml")));
}

#[test]
fn three_mistakes_give_exactly_three_diagnostics() {
    let text = quick_text()
        .replace("cpu_cores: 1", "cpu_cores: 0")
        .replace("sample_period_s: 0.05", "sample_period_s: 0.5")
        .replace("user_sampling_window: 60", "user_sampling_window: 0");
    let paths: Vec<String> = yaml_errors(&text).into_iter().map(|d| d.path).collect();
    assert_eq!(
        paths,
        [
            "rqs_input.user_sampling_window",
            "topology_graph.nodes.servers[0].server_resources.cpu_cores",
            "sim_settings.sample_period_s",
        ]
    );
}

#[test]
fn unknown_keys_are_rejected_with_a_suggestion() {
    let text = quick_text().replace("sample_period_s:", "sample_period:");
    let d = yaml_errors(&text);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].path, "sim_settings.sample_period");
    assert_eq!(
        d[0].hint.as_deref(),
        Some("did you mean `sample_period_s`?")
    );
    assert!(d[0].line.is_some());
}

#[test]
fn unknown_variants_are_rejected_with_a_suggestion() {
    let text = quick_text().replacen("distribution: exponential", "distribution: exponentail", 1);
    let d = yaml_errors(&text);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].path, "topology_graph.edges[0].latency.distribution");
    assert_eq!(d[0].hint.as_deref(), Some("did you mean `exponential`?"));
}

#[test]
fn weights_in_yaml_are_whole_numbers_with_a_position() {
    let text =
        std::fs::read_to_string(Path::new(ROOT).join("../shared/compat/valid/two_servers_lb.yml"))
            .expect("two_servers_lb");
    let old = "algorithms: round_robin";
    assert!(text.contains(old));
    let with = |w: &str| {
        text.replace(
            old,
            &format!("algorithms: weighted_round_robin\n      weights: {{ srv-1: {w}, srv-2: 1 }}"),
        )
    };
    assert_eq!(yaml_errors(&with("3")), []);
    let d = yaml_errors(&with("1.5"));
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(
        d[0].path,
        "topology_graph.nodes.load_balancer.weights.srv-1"
    );
    assert!(d[0].line.is_some());
    let d = yaml_errors(&with("0"));
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(
        d[0].path,
        "topology_graph.nodes.load_balancer.weights.srv-1"
    );
    assert!(d[0].line.is_some(), "{d:#?}");
}

#[test]
fn worker_keys_are_read_and_unknown_dispatch_is_a_format_error() {
    let text = quick_text().replace(
        "cpu_cores: 1, ram_mb: 2048",
        "cpu_cores: 2, ram_mb: 2048, workers: 2, worker_dispatch: least_busy",
    );
    let s = Scenario::from_yaml_str(&text, None).expect("valid");
    let r = &s.model().topology_graph.nodes.servers[0].server_resources;
    assert_eq!(
        (r.workers, r.worker_dispatch),
        (2, WorkerDispatch::LeastBusy)
    );
    let d = yaml_errors(&text.replace("least_busy", "least_bussy"));
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(
        d[0].path,
        "topology_graph.nodes.servers[0].server_resources.worker_dispatch"
    );
    assert_eq!(d[0].hint.as_deref(), Some("did you mean `least_busy`?"));
    assert!(d[0].line.is_some());
    let d = yaml_errors(&text.replace("workers: 2", "workers: 3"));
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(
        d[0].path,
        "topology_graph.nodes.servers[0].server_resources.workers"
    );
    assert!(d[0].line.is_some());
}

#[test]
fn a_string_mean_is_a_type_error() {
    let text = quick_text().replacen(
        "{ mean: 100, distribution: poisson }",
        "{ mean: \"100\" }",
        1,
    );
    let d = yaml_errors(&text);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].path, "rqs_input.avg_active_users.mean");
    assert_eq!(d[0].expected, "a number");
}

#[test]
fn a_missing_key_is_named() {
    let text = quick_text().replace("  id: rqs-1\n", "");
    let d = yaml_errors(&text);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].path, "rqs_input.id");
}

#[test]
fn invalid_fixtures_are_rejected() {
    let dir = Path::new(ROOT).join("tests/data");
    for (file, path) in [
        (
            "three_mistakes.yml",
            "rqs_input.avg_active_users.distribution",
        ),
        ("unreachable_server.yml", "topology_graph.nodes.servers[1]"),
        ("overlapping_outages.yml", "events[1].start.t_start"),
    ] {
        let e = Scenario::load(&dir.join(file)).expect_err(file);
        assert_eq!(e.diagnostics()[0].path, path, "{file}: {e}");
    }
}

// ---- the CLI ----

fn cli(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_asyncflow"))
        .args(args)
        .output()
        .expect("run asyncflow");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_validate_exits_0_on_valid_files() {
    let good = format!("{ROOT}/scenarios/quickstart.yml");
    let (code, stdout, _) = cli(&["validate", &good]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("ok"));
}

#[test]
fn cli_validate_exits_2_and_prints_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, quick_text().replace("ram_mb: 2048", "ram_mb: 100")).expect("write");
    let good = format!("{ROOT}/scenarios/quickstart.yml");
    let bad = bad.to_str().expect("utf-8 path");
    let (code, _, stderr) = cli(&["validate", &good, bad]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("topology_graph.nodes.servers[0].server_resources.ram_mb"),
        "{stderr}"
    );
    assert!(stderr.contains("bad.yml:"), "{stderr}");
}

#[test]
fn cli_validate_json_parses() {
    let missing = "/nonexistent/scenario.yml";
    let bad = format!("{ROOT}/tests/data/three_mistakes.yml");
    let good = format!("{ROOT}/scenarios/quickstart.yml");
    let (code, stdout, _) = cli(&["validate", "--json", &good, &bad, missing]);
    assert_eq!(code, Some(2));
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("valid JSON");
    let files = v.as_array().expect("an array");
    assert_eq!(files.len(), 3);
    assert_eq!(files[0]["valid"], true);
    assert_eq!(files[1]["valid"], false);
    assert_eq!(files[1]["diagnostics"].as_array().map(Vec::len), Some(3));
    assert!(files[1]["diagnostics"][0]["line"].is_u64());
    assert!(files[2]["io_error"].is_string());
}
