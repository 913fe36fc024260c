//! Where the posterior's mass is: the coarse pass's local maxima, each climbed to its peak by
//! quadratic fits on a 5×5 stencil framed by the fit itself, and each peak's Gaussian fit (its Laplace
//! approximation), which frames the quadrature.

use super::{COARSE_RANGE, Gaussian2, Halt, Joint, det, eigen, framed, solve};
use crate::numeric::LOG_2PI;

/// Coarse maxima this many nats below the best are not climbed. A peak between the coarse points
/// looks lower than it is (0.02 wide and half a diagonal step of 0.125 away: 39 nats lower), so
/// this is wide.
pub(super) const START_NATS: f64 = 40.0;
/// Steps of one climb at most.
const MAX_CLIMB_STEPS: usize = 40;
/// A mode whose mass is this many nats below the largest is left out (e^−30 of it).
const NEGLIGIBLE_NATS: f64 = 30.0;

/// The local maxima of the coarse pass (3×3 neighbourhoods) within [`START_NATS`] of its best
/// value, best first: where the search looks for modes.
pub(super) fn coarse_maxima(values: &[f64], n: usize) -> Vec<(f64, [f64; 2])> {
    let step = 2.0 * COARSE_RANGE / (n - 1) as f64;
    if values.len() != n * n {
        return Vec::new();
    }
    let at = |i: usize, j: usize| values[j * n + i];
    let mut maxima: Vec<(f64, [f64; 2])> = Vec::new();
    for j in 0..n {
        for i in 0..n {
            let v = at(i, j);
            let neighbours = (j.saturating_sub(1)..(j + 2).min(n)).flat_map(|b| (i.saturating_sub(1)..(i + 2).min(n)).map(move |a| (a, b)));
            if v.is_finite() && neighbours.filter(|&(a, b)| (a, b) != (i, j)).all(|(a, b)| at(a, b) < v) {
                maxima.push((v, [-COARSE_RANGE + i as f64 * step, -COARSE_RANGE + j as f64 * step]));
            }
        }
    }
    maxima.sort_by(|a, b| b.0.total_cmp(&a.0));
    let best = maxima.first().map_or(f64::NEG_INFINITY, |m| m.0);
    maxima.into_iter().take_while(|m| m.0 >= best - START_NATS).collect()
}

/// A mode of log p(x, z): where it is, its value, and a Gaussian fit of the peak (cov = −H⁻¹).
#[derive(Debug, Clone, Copy)]
pub(super) struct Mode {
    pub(super) at: [f64; 2],
    pub(super) value: f64,
    pub(super) cov: [[f64; 2]; 2],
}

impl Mode {
    /// log of the mass under the peak's Gaussian fit: value + ln 2π + ½ ln det cov.
    pub(super) fn log_mass(&self) -> f64 {
        self.value + LOG_2PI + 0.5 * det(self.cov).ln()
    }
}

/// Climbs log p(x, z) from `start`: a quadratic fitted on a 5×5 stencil gives a Newton step
/// (kept within the stencil) or the stencil's best point. The stencil's frame follows the fit —
/// half the fitted peak's σ along each of its axes — so a narrow, tilted peak is climbed along
/// its ridge in a few steps, and a pointed one (a ReLU decoder's posterior can have a kink at its
/// top, whose fit narrows with the stencil) settles where the stencil is as wide as its mass.
/// Ends with the peak's Gaussian fit. `None` when the climb reaches one of the `known` modes
/// (within 3 of its fit's σ).
pub(super) fn find_mode(joint: &mut Joint, start: [f64; 2], scale: f64, known: &[Mode]) -> Result<Option<Mode>, Halt> {
    let mut c = start;
    let scale = scale.max(1e-4);
    // The stencil's points are c + F (u, v), u, v ∈ {−2, …, 2}.
    let mut frame = [[scale, 0.0], [0.0, scale]];
    let mut fit = None;
    for _ in 0..MAX_CLIMB_STEPS {
        let at = |u: f64, v: f64| framed(c, frame, u, v);
        let stencil: Vec<[f64; 2]> = (0..25).map(|k| at((k % 5) as f64 - 2.0, (k / 5) as f64 - 2.0)).collect();
        let values = joint.at(&stencil.iter().flatten().copied().collect::<Vec<_>>())?;
        let best = (0..25).max_by(|&a, &b| values[a].total_cmp(&values[b])).unwrap_or(12);
        // The fit in the frame's units: its covariance there, and the Newton step.
        let quad = fit_quadratic(&values, 1.0);
        let in_frame = quad.and_then(|q| q.covariance());
        let (mut next, mut moved) = (stencil[best], (((best % 5) as f64 - 2.0).hypot((best / 5) as f64 - 2.0)));
        if let Some(step) = quad.and_then(|q| q.newton_step()) {
            let shrink = (2.5 / step[0].hypot(step[1])).min(1.0);
            let target = at(step[0] * shrink, step[1] * shrink);
            if joint.at(&target)?[0] >= values[best] {
                (next, moved) = (target, step[0].hypot(step[1]) * shrink);
            }
        }
        c = next;
        if known.iter().any(|m| mahalanobis(m, c) < 3.0) {
            return Ok(None);
        }
        let Some(cov_u) = in_frame else {
            // Not a peak yet: on a slope the frame stays, at a top that is no peak it shrinks.
            if moved < 0.5 {
                frame = frame.map(|row| row.map(|v| v / 2.0));
            }
            if frame[0][0].abs().max(frame[1][1].abs()) < 1e-7 {
                break;
            }
            continue;
        };
        let cov = transform(frame, cov_u);
        fit = Some(cov);
        // Resolved: the stencil spans 1.3–5 of the fit's σ along each axis.
        let (small, large) = eigen(cov_u);
        let resolved = small >= 1.0 / 0.75f64.powi(2) && large <= 1.0 / 0.2f64.powi(2);
        if moved < 0.25 && resolved {
            break;
        }
        // The next frame: half the fit's σ along its axes, shrinking at most 8× and growing at
        // most 2× in a step.
        if let Some(l) = (Gaussian2 { mean: c, cov }).cholesky() {
            let target = l.map(|row| row.map(|v| 0.5 * v));
            let ratio = (det(target).abs() / det(frame).abs()).sqrt();
            let limit = ratio.clamp(1.0 / 8.0, 2.0) / ratio;
            frame = target.map(|row| row.map(|v| v * limit));
        }
    }
    let value = joint.at(&c)?[0];
    let s = (det(frame).abs()).sqrt().max(1e-7);
    let cov = fit.unwrap_or([[s * s, 0.0], [0.0, s * s]]);
    Ok(Some(Mode { at: c, value, cov }))
}

/// F C Fᵀ: a covariance in a frame's units, in latent units.
fn transform(f: [[f64; 2]; 2], c: [[f64; 2]; 2]) -> [[f64; 2]; 2] {
    let fc = [
        [f[0][0] * c[0][0] + f[0][1] * c[1][0], f[0][0] * c[0][1] + f[0][1] * c[1][1]],
        [f[1][0] * c[0][0] + f[1][1] * c[1][0], f[1][0] * c[0][1] + f[1][1] * c[1][1]],
    ];
    let a = fc[0][0] * f[0][0] + fc[0][1] * f[0][1];
    let b = fc[0][0] * f[1][0] + fc[0][1] * f[1][1];
    let d = fc[1][0] * f[1][0] + fc[1][1] * f[1][1];
    [[a, b], [b, d]]
}

/// A quadratic a + g·u + ½ uᵀ H u fitted (least squares) to a 5×5 stencil of spacing `s`, in
/// latent units.
#[derive(Debug, Clone, Copy)]
struct Quadratic {
    g: [f64; 2],
    h: [[f64; 2]; 2],
}

impl Quadratic {
    /// The step to the stationary point, −H⁻¹g, where H is negative definite.
    fn newton_step(&self) -> Option<[f64; 2]> {
        let cov = self.covariance()?;
        Some([cov[0][0] * self.g[0] + cov[0][1] * self.g[1], cov[1][0] * self.g[0] + cov[1][1] * self.g[1]])
    }
    /// −H⁻¹ where H is negative definite: the peak's Gaussian covariance.
    fn covariance(&self) -> Option<[[f64; 2]; 2]> {
        let [[a, b], [_, c]] = self.h;
        let d = a * c - b * b;
        (a < 0.0 && d > 0.0 && d.is_finite()).then(|| [[-c / d, b / d], [b / d, -a / d]])
    }
}

/// Least-squares quadratic through the stencil's values (−∞ values make it fail).
fn fit_quadratic(values: &[f64], s: f64) -> Option<Quadratic> {
    if values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    // Columns: 1, u, v, u², uv, v² with u, v ∈ {−2, …, 2} (stencil units).
    let mut ata = [[0.0f64; 6]; 6];
    let mut atb = [0.0f64; 6];
    for (k, &y) in values.iter().enumerate() {
        let (u, v) = ((k % 5) as f64 - 2.0, (k / 5) as f64 - 2.0);
        let row = [1.0, u, v, u * u, u * v, v * v];
        for i in 0..6 {
            atb[i] += row[i] * y;
            for j in 0..6 {
                ata[i][j] += row[i] * row[j];
            }
        }
    }
    let c = solve(ata, atb)?;
    Some(Quadratic { g: [c[1] / s, c[2] / s], h: [[2.0 * c[3] / (s * s), c[4] / (s * s)], [c[4] / (s * s), 2.0 * c[5] / (s * s)]] })
}

/// Modes with non-negligible mass, the same peak found twice kept once, heaviest first.
pub(super) fn distinct_modes(mut modes: Vec<Mode>) -> Vec<Mode> {
    modes.sort_by(|a, b| b.log_mass().total_cmp(&a.log_mass()));
    let heaviest = modes.first().map_or(0.0, Mode::log_mass);
    let mut kept: Vec<Mode> = Vec::new();
    for m in modes {
        if m.log_mass() < heaviest - NEGLIGIBLE_NATS {
            continue;
        }
        let same = kept.iter().any(|k| mahalanobis(k, m.at) < 6.0 || mahalanobis(&m, k.at) < 6.0);
        if !same {
            kept.push(m);
        }
    }
    kept
}

pub(super) fn mahalanobis(m: &Mode, z: [f64; 2]) -> f64 {
    let [[a, b], [_, c]] = m.cov;
    let d = det(m.cov);
    let (dx, dy) = (z[0] - m.at[0], z[1] - m.at[1]);
    ((c * dx * dx - 2.0 * b * dx * dy + a * dy * dy) / d).max(0.0).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bound::inverse;

    #[test]
    fn the_quadratic_fit_finds_a_gaussian_peak() {
        // log density of N((0.3, −0.2), [[0.04, 0.01], [0.01, 0.02]]) up to a constant.
        let cov = [[0.04, 0.01], [0.01, 0.02]];
        let inv = inverse(cov).expect("invertible");
        let f = |z: [f64; 2]| {
            let (dx, dy) = (z[0] - 0.3, z[1] + 0.2);
            -0.5 * (inv[0][0] * dx * dx + 2.0 * inv[0][1] * dx * dy + inv[1][1] * dy * dy)
        };
        let s = 0.05;
        let values: Vec<f64> = (0..25).map(|k| f([0.2 + s * ((k % 5) as f64 - 2.0), s * ((k / 5) as f64 - 2.0)])).collect();
        let q = fit_quadratic(&values, s).expect("a fit");
        let found = q.covariance().expect("a peak");
        for i in 0..2 {
            for j in 0..2 {
                assert!((found[i][j] - cov[i][j]).abs() < 1e-9, "{found:?}");
            }
        }
        let step = q.newton_step().expect("a step");
        assert!((0.2 + step[0] - 0.3).abs() < 1e-9 && (step[1] + 0.2).abs() < 1e-9, "{step:?}");
    }
}
