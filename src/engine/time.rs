//! Simulated time as an integer count of nanoseconds.
//!
//! Seconds (f64) from the scenario are converted once, where the model meets the
//! engine; inside the engine every clock is a [`SimTime`], so equal instants are
//! exactly equal and no epsilon is ever needed.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// Nanoseconds since the start of the simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(pub u64);

impl SimTime {
    /// Time zero.
    pub const ZERO: SimTime = SimTime(0);
    /// The largest representable instant (about 584 years).
    pub const MAX: SimTime = SimTime(u64::MAX);
    /// Nanoseconds per second.
    pub const NANOS_PER_SEC: u64 = 1_000_000_000;

    /// From seconds, rounded to the nearest nanosecond; negative and NaN give zero,
    /// values past the range saturate.
    #[inline]
    pub fn from_secs_f64(secs: f64) -> SimTime {
        // Round half up by truncating x + 0.5 (`f64::round` is a libm call on
        // baseline x86-64, and this is on the hot path); `as` saturates on
        // overflow and maps NaN and negatives to 0.
        SimTime((secs * 1e9 + 0.5) as u64)
    }

    /// From whole seconds.
    pub const fn from_secs(secs: u64) -> SimTime {
        SimTime(secs.saturating_mul(Self::NANOS_PER_SEC))
    }

    /// As seconds (for output only).
    #[inline]
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Nanoseconds.
    #[inline]
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
}

impl Add for SimTime {
    type Output = SimTime;
    #[inline]
    fn add(self, rhs: SimTime) -> SimTime {
        SimTime(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for SimTime {
    #[inline]
    fn add_assign(&mut self, rhs: SimTime) {
        *self = *self + rhs;
    }
}

impl Sub for SimTime {
    type Output = SimTime;
    /// Saturating difference: never negative.
    #[inline]
    fn sub(self, rhs: SimTime) -> SimTime {
        SimTime(self.0.saturating_sub(rhs.0))
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.9}s", self.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_trip_to_the_nanosecond() {
        assert_eq!(SimTime::from_secs_f64(0.003).as_nanos(), 3_000_000);
        assert_eq!(SimTime::from_secs_f64(1.5e-9).as_nanos(), 2);
        assert_eq!(SimTime::from_secs(300), SimTime::from_secs_f64(300.0));
        assert_eq!(SimTime::from_secs_f64(-1.0), SimTime::ZERO);
        assert_eq!(SimTime::from_secs_f64(f64::NAN), SimTime::ZERO);
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(SimTime(5) - SimTime(7), SimTime::ZERO);
        assert_eq!(SimTime::MAX + SimTime(1), SimTime::MAX);
    }
}
