//! Exact gauges: a value that changes at instants, with its time integral and
//! maximum kept between sample ticks, so that a 1 ms burst between two 50 ms ticks
//! still shows in the tick's `max` and `mean`.

use crate::engine::time::SimTime;

/// One gauge reading at a tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GaugeReading {
    /// Value just before the tick instant.
    pub value: f64,
    /// Time-weighted mean over the period that ends at the tick.
    pub mean: f64,
    /// Maximum over that period.
    pub max: f64,
}

/// A piecewise-constant quantity of the simulation.
#[derive(Debug, Clone, Default)]
pub struct Gauge {
    value: f64,
    since: SimTime,
    /// Integral of value over [period start, `since`], in value·ns.
    period_integral: f64,
    period_start: SimTime,
    period_max: f64,
    /// Integral over the whole run up to the last tick, in value·ns.
    run_integral: f64,
    run_max: f64,
}

impl Gauge {
    /// A gauge at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Current value.
    #[inline]
    pub fn value(&self) -> f64 {
        self.value
    }

    /// Change the value at `now`.
    #[inline]
    pub fn set(&mut self, now: SimTime, value: f64) {
        if value == self.value {
            return;
        }
        self.period_integral += self.value * (now - self.since).as_nanos() as f64;
        self.since = now;
        self.value = value;
        if value > self.period_max {
            self.period_max = value;
        }
    }

    /// Close the period at `t` and open the next one.
    pub fn tick(&mut self, t: SimTime) -> GaugeReading {
        self.period_integral += self.value * (t - self.since).as_nanos() as f64;
        self.since = t;
        let len = (t - self.period_start).as_nanos() as f64;
        let reading = GaugeReading {
            value: self.value,
            mean: if len > 0.0 {
                self.period_integral / len
            } else {
                self.value
            },
            max: self.period_max.max(self.value),
        };
        self.run_integral += self.period_integral;
        self.run_max = self.run_max.max(reading.max);
        self.period_integral = 0.0;
        self.period_start = t;
        self.period_max = self.value;
        reading
    }

    /// Time-weighted mean over [0, `until`]; `until` must be the last tick.
    pub fn run_mean(&self, until: SimTime) -> f64 {
        let len = until.as_nanos() as f64;
        if len > 0.0 {
            self.run_integral / len
        } else {
            0.0
        }
    }

    /// Integral over the run up to the last tick, in value·seconds.
    pub fn run_integral_secs(&self) -> f64 {
        self.run_integral / 1e9
    }

    /// Maximum over the run up to the last tick.
    pub fn run_max(&self) -> f64 {
        self.run_max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_between_ticks_shows_in_mean_and_max() {
        let mut g = Gauge::new();
        // 0 until 20 ms, 3 for 1 ms, then 0 again; tick at 50 ms.
        g.set(SimTime(20_000_000), 3.0);
        g.set(SimTime(21_000_000), 0.0);
        let r = g.tick(SimTime(50_000_000));
        assert_eq!(r.value, 0.0);
        assert_eq!(r.max, 3.0);
        assert!((r.mean - 3.0 * 1.0 / 50.0).abs() < 1e-12);
        // The next period starts from the current value.
        let r2 = g.tick(SimTime(100_000_000));
        assert_eq!((r2.value, r2.mean, r2.max), (0.0, 0.0, 0.0));
        assert!((g.run_mean(SimTime(100_000_000)) - 0.03).abs() < 1e-12);
        assert_eq!(g.run_max(), 3.0);
    }

    #[test]
    fn a_value_held_across_ticks_is_its_own_mean() {
        let mut g = Gauge::new();
        g.set(SimTime(0), 2.0);
        g.tick(SimTime(10));
        let r = g.tick(SimTime(20));
        assert_eq!((r.value, r.mean, r.max), (2.0, 2.0, 2.0));
    }
}
