//! Ordinary least squares of a sample series: value over time (seconds).
use chrono::{DateTime, Utc};

use crate::checkpoint::trends::Sample;
use crate::num::{as_f64, signed_as_f64};

/// A straight line through a series, and how well it fits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// Change per second, in the series' unit.
    pub slope: f64,
    /// The line's value at `t0`.
    pub intercept: f64,
    /// The first sample's time: the origin of the line's seconds.
    pub t0: DateTime<Utc>,
    /// Coefficient of determination (0: the line explains nothing, 1: the
    /// samples lie on it); 0 for a flat series, which a line cannot explain
    /// better than its mean.
    pub r2: f64,
    pub samples: usize,
}

impl Fit {
    /// The line's value at `t`.
    pub fn at(&self, t: DateTime<Utc>) -> f64 {
        self.intercept + self.slope * secs(t - self.t0)
    }
}

fn secs(d: chrono::Duration) -> f64 {
    signed_as_f64(d.num_milliseconds()) / 1000.0
}

/// The least-squares line of `samples` (at least two, at two times at
/// least); `None` otherwise.
pub fn fit(samples: &[Sample]) -> Option<Fit> {
    let t0 = samples.first()?.at;
    let n = as_f64(samples.len() as u64);
    let xs: Vec<f64> = samples.iter().map(|s| secs(s.at - t0)).collect();
    let mx = xs.iter().sum::<f64>() / n;
    let my = samples.iter().map(|s| s.v).sum::<f64>() / n;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for (x, s) in xs.iter().zip(samples) {
        let (dx, dy) = (x - mx, s.v - my);
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    if samples.len() < 2 || sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let ss_res: f64 = xs
        .iter()
        .zip(samples)
        .map(|(x, s)| (s.v - (intercept + slope * x)).powi(2))
        .sum();
    let r2 = if syy > 0.0 {
        (1.0 - ss_res / syy).max(0.0)
    } else {
        0.0
    };
    Some(Fit {
        slope,
        intercept,
        t0,
        r2,
        samples: samples.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[f64]) -> Vec<Sample> {
        let t0: DateTime<Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| Sample {
                at: t0 + chrono::Duration::minutes(i64::try_from(i).unwrap()),
                v,
            })
            .collect()
    }

    #[test]
    fn a_linear_series_fits_exactly() {
        let f = fit(&series(&[100.0, 160.0, 220.0, 280.0, 340.0])).unwrap();
        assert!((f.slope - 1.0).abs() < 1e-12, "{f:?}");
        assert!((f.intercept - 100.0).abs() < 1e-9, "{f:?}");
        assert!((f.r2 - 1.0).abs() < 1e-12, "{f:?}");
        assert_eq!(f.samples, 5);
        let t = f.t0 + chrono::Duration::seconds(600);
        assert!((f.at(t) - 700.0).abs() < 1e-9);
    }

    #[test]
    fn r2_is_one_minus_residual_over_total_variance() {
        // y = 1, 3, 2, 4 at x = 0, 1, 2, 3 (minutes): by hand, slope 0.8 per
        // minute, intercept 1.3, residuals -0.3, 0.9, -0.9, 0.3 (SS 1.8),
        // total SS 5: r² = 1 - 1.8 / 5 = 0.64.
        let f = fit(&series(&[1.0, 3.0, 2.0, 4.0])).unwrap();
        assert!((f.slope * 60.0 - 0.8).abs() < 1e-12, "{f:?}");
        assert!((f.intercept - 1.3).abs() < 1e-12, "{f:?}");
        assert!((f.r2 - 0.64).abs() < 1e-12, "{f:?}");
    }

    #[test]
    fn a_flat_series_explains_nothing_and_one_sample_is_no_line() {
        let f = fit(&series(&[5.0, 5.0, 5.0, 5.0])).unwrap();
        assert_eq!((f.slope, f.r2), (0.0, 0.0));
        assert!(fit(&series(&[5.0])).is_none());
        assert!(fit(&[]).is_none());
    }
}
