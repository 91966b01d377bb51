//! The per-replication figures a sweep aggregates ([`Metric`]): their column
//! names, their short names on the command line, and their value in a run's row.

use super::rows::SummaryRow;

/// A per-replication figure that can be aggregated across replications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Mean latency of completed requests, seconds.
    LatencyMean,
    /// Median latency, seconds.
    LatencyP50,
    /// 95th percentile latency, seconds.
    LatencyP95,
    /// 99th percentile latency, seconds.
    LatencyP99,
    /// Mean completions per second.
    Throughput,
    /// Requests dropped.
    Dropped,
    /// Dropped over generated.
    DropRate,
    /// Highest CPU utilisation of any server.
    CpuUtilisationMax,
}

impl Metric {
    /// Every metric, in the column order of `aggregate.parquet`.
    pub const ALL: [Metric; 8] = [
        Metric::LatencyMean,
        Metric::LatencyP50,
        Metric::LatencyP95,
        Metric::LatencyP99,
        Metric::Throughput,
        Metric::Dropped,
        Metric::DropRate,
        Metric::CpuUtilisationMax,
    ];

    /// Column stem in `summary.parquet` and `aggregate.parquet`.
    pub fn column(self) -> &'static str {
        match self {
            Metric::LatencyMean => "latency_mean_s",
            Metric::LatencyP50 => "latency_p50_s",
            Metric::LatencyP95 => "latency_p95_s",
            Metric::LatencyP99 => "latency_p99_s",
            Metric::Throughput => "throughput_mean_rps",
            Metric::Dropped => "dropped",
            Metric::DropRate => "drop_rate",
            Metric::CpuUtilisationMax => "cpu_utilisation_max",
        }
    }

    /// Parse a short name (`mean`, `p50`, `p95`, `p99`, `throughput`, `dropped`,
    /// `drop_rate`, `utilisation`) or a column stem.
    pub fn parse(s: &str) -> Option<Metric> {
        let s = s.trim();
        Metric::ALL
            .into_iter()
            .find(|m| m.column() == s)
            .or(match s {
                "mean" | "latency" | "latency_mean" => Some(Metric::LatencyMean),
                "p50" => Some(Metric::LatencyP50),
                "p95" => Some(Metric::LatencyP95),
                "p99" => Some(Metric::LatencyP99),
                "throughput" => Some(Metric::Throughput),
                "drops" => Some(Metric::Dropped),
                "utilisation" | "utilization" | "cpu" => Some(Metric::CpuUtilisationMax),
                _ => None,
            })
    }

    /// Its value in one run's row.
    pub fn of(self, r: &SummaryRow) -> f64 {
        match self {
            Metric::LatencyMean => r.latency_mean_s,
            Metric::LatencyP50 => r.latency_p50_s,
            Metric::LatencyP95 => r.latency_p95_s,
            Metric::LatencyP99 => r.latency_p99_s,
            Metric::Throughput => r.throughput_mean_rps,
            Metric::Dropped => r.dropped as f64,
            Metric::DropRate => r.drop_rate,
            Metric::CpuUtilisationMax => r.cpu_utilisation_max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_parse_short_names_and_columns() {
        assert_eq!(Metric::parse("p99"), Some(Metric::LatencyP99));
        assert_eq!(Metric::parse("latency_p95_s"), Some(Metric::LatencyP95));
        assert_eq!(
            Metric::parse("utilisation"),
            Some(Metric::CpuUtilisationMax)
        );
        assert_eq!(Metric::parse("p98"), None);
    }
}
