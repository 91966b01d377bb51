//! `bands.parquet`: per point, gauge series and tick, the mean and interval of
//! the replications' sampled values, folded one replication at a time.

use std::collections::HashMap;

use arrow_array::RecordBatch;

use super::columns::Cols;
use super::read::SeriesData;
use crate::sweep::SweepError;
use crate::sweep::stats::Acc;

/// Time-series bands: per point, per gauge series (entity kind, entity, metric)
/// and tick, the mean and interval of the replications' `mean` column.
#[derive(Default)]
pub(super) struct Bands {
    /// Series of the current point, in first-seen order.
    series: Vec<(String, String, String)>,
    lookup: HashMap<(String, String, String), usize>,
    /// Per series: (tick bits, values) in tick order.
    ticks: Vec<Vec<(u64, Acc)>>,
    /// Finished rows.
    rows: BandRows,
}

#[derive(Default)]
struct BandRows {
    point: Vec<u64>,
    entity_kind: Vec<String>,
    entity: Vec<String>,
    metric: Vec<String>,
    t_s: Vec<f64>,
    replications: Vec<u64>,
    mean: Vec<f64>,
    low: Vec<Option<f64>>,
    high: Vec<Option<f64>>,
}

/// Push `add`'s values into `into`, both in tick order; ticks only one side has
/// are kept (an interrupted replication has fewer).
fn merge_ticks(into: &mut Vec<(u64, Acc)>, add: &[(u64, f64)]) {
    if into.len() == add.len() && into.iter().zip(add).all(|(a, b)| a.0 == b.0) {
        for (slot, &(_, x)) in into.iter_mut().zip(add) {
            slot.1.push(x);
        }
        return;
    }
    let old = std::mem::take(into);
    let mut old = old.into_iter().peekable();
    let mut add = add.iter().peekable();
    loop {
        let take_old = match (old.peek(), add.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(b)) => a.0 <= b.0,
        };
        if take_old {
            if let Some(x) = old.next() {
                into.push(x);
            }
        } else if let Some(&(t, x)) = add.next() {
            match into.last_mut() {
                Some(last) if last.0 == t => last.1.push(x),
                _ => {
                    let mut a = Acc::default();
                    a.push(x);
                    into.push((t, a));
                }
            }
        }
    }
}

impl Bands {
    /// Add one replication's series (replications in index order).
    pub(super) fn add(&mut self, data: Vec<SeriesData>) {
        for (key, values) in data {
            let s = match self.lookup.get(&key) {
                Some(&s) => s,
                None => {
                    self.series.push(key.clone());
                    self.ticks.push(Vec::new());
                    self.lookup.insert(key, self.series.len() - 1);
                    self.series.len() - 1
                }
            };
            merge_ticks(&mut self.ticks[s], &values);
        }
    }

    pub(super) fn finish_point(&mut self, point: u64) {
        for ((kind, entity, metric), ticks) in self.series.drain(..).zip(self.ticks.drain(..)) {
            for (bits, acc) in ticks {
                let ci = acc.ci();
                let r = &mut self.rows;
                r.point.push(point);
                r.entity_kind.push(kind.clone());
                r.entity.push(entity.clone());
                r.metric.push(metric.clone());
                r.t_s.push(f64::from_bits(bits));
                r.replications.push(acc.n());
                r.mean.push(ci.mean);
                r.low.push(ci.low());
                r.high.push(ci.high());
            }
        }
        self.lookup.clear();
    }

    pub(super) fn batch(self) -> Result<RecordBatch, SweepError> {
        let r = self.rows;
        let mut c = Cols::default();
        c.u64("point", r.point);
        c.str("entity_kind", r.entity_kind);
        c.str("entity", r.entity);
        c.str("metric", r.metric);
        c.f64("t_s", r.t_s);
        c.u64("replications", r.replications);
        c.f64("mean", r.mean);
        c.opt_f64("ci_low", r.low);
        c.opt_f64("ci_high", r.high);
        c.batch()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc(xs: &[f64]) -> Acc {
        let mut a = Acc::default();
        xs.iter().for_each(|&x| a.push(x));
        a
    }

    #[test]
    fn ticks_merge_in_order_and_keep_one_sided_ticks() {
        let mut v = Vec::new();
        merge_ticks(&mut v, &[(1, 1.0), (3, 3.0)]);
        merge_ticks(&mut v, &[(1, 2.0), (3, 5.0)]);
        // A shorter replication and one with an extra tick.
        merge_ticks(&mut v, &[(1, 3.0)]);
        merge_ticks(&mut v, &[(2, 7.0), (3, 4.0)]);
        assert_eq!(
            v,
            vec![
                (1, acc(&[1.0, 2.0, 3.0])),
                (2, acc(&[7.0])),
                (3, acc(&[3.0, 5.0, 4.0]))
            ]
        );
    }
}
