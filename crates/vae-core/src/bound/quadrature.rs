//! Adaptive Gauss–Hermite quadrature in two dimensions (Liu & Pierce 1994, "A Note on
//! Gauss–Hermite Quadrature", Biometrika; lme4's `nAGQ`): the nodes of the rule for e^−x² are
//! centred on a mode and scaled by its Laplace approximation N(m, L Lᵀ), so a smooth, near-Gaussian
//! posterior is integrated with n² evaluations whatever its width or tilt:
//!
//! ```text
//! ∫ g(z) dz = 2|det L| ∫ e^−(u²+v²) · e^(u²+v²) g(m + √2 L (u, v)) du dv ≈ 2|det L| Σᵢⱼ wᵢ wⱼ e^(xᵢ²+xⱼ²) g(zᵢⱼ)
//! ```
//!
//! Several modes share p(x) out by a partition of unity, πₘ(z) = aₘ Nₘ(z) / Σₖ aₖ Nₖ(z) with
//! Nₖ the modes' Laplace approximations and aₖ their masses: p(x) = Σₘ ∫ πₘ(z) p(x, z) dz exactly,
//! and each share is a single peak.
//!
//! A ReLU decoder's log p(x|z) is only piecewise smooth: it has kinks where a unit switches, and
//! there Gauss–Hermite rules converge slowly and erratically — two orders of one rule can agree to
//! a few thousandths and both be 0.01–0.03 nats off (test image 281), and 64² nodes can still be
//! 0.006 off (test image 685), while the trapezoid rule on a
//! grid in the same whitened frame is within 0.005 nats at a step of 0.3 σ on every such image
//! measured (docs/model-quality.md). So a share is taken from the rule only where it agrees with
//! a rule of another family, the trapezoid rule at a step of 0.6 σ over the same frame (whose
//! edge also shows mass beyond the rule's nodes); where the two disagree, the grid at 0.3 σ,
//! grown until its edges carry no mass, settles it. A light mode's share, which moves p(x) by
//! little, is the coarse grid's.

use super::search::Mode;
use super::{Gaussian2, Halt, Joint, det, eigen, framed, inverse, log_sum_exp, weighted_moments};
use crate::numeric::LOG_2PI;

/// The lower of the two orders (n² nodes each) of the rule: its nodes check the ELBO's.
pub const LOW_ORDER: usize = 10;
/// The higher order, whose answer is taken where the coarse grid agrees with it.
pub const HIGH_ORDER: usize = 16;
/// A mode LIGHT_NATS below the total (less than 3e-4 of p(x)) is integrated on the coarse grid only.
const LIGHT_NATS: f64 = 8.0;
/// The rule and the coarse grid agree when their answers differ by at most this share of p(x) (nats).
const AGREEMENT_NATS: f64 = 0.002;
/// The rule's two orders agree this closely (share of p(x)) only on an integrand smooth at their
/// scale (a kinked one's differ by 1e-3 or more): its share is then the rule's, without a grid,
/// where the probe finds no mass beyond its nodes.
const SMOOTH_NATS: f64 = 1e-5;
/// The probe for mass beyond the nodes: PROBE_SIDE² points over ±PROBE_HALF σ, those outside
/// ±PROBE_CORE σ (where the nodes are) looked at.
const PROBE_SIDE: usize = 9;
const PROBE_HALF: f64 = 12.0;
const PROBE_CORE: f64 = 4.5;
const PROBE_NATS: f64 = 6.0;
/// The grids' half-width at first, in the mode's whitened coordinates, and their points a side:
/// the coarse grid that checks the rule (a step of 0.6 σ) and the fine one that settles a share
/// the two disagree on (0.3 σ).
const GRID_HALF: f64 = 5.4;
const COARSE_GRID_SIDE: usize = 19;
const FINE_GRID_SIDE: usize = 37;
/// A grid grows by about a quarter a side (same step) while a point on its edge weighs more than
/// e^−EDGE_NATS of its total: what lies beyond is then below ≈ 1e-4 nats.
const EDGE_NATS: f64 = 14.0;
const MAX_REGION_SIDE: usize = 161;

/// How a mode's share of p(x) was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Adaptive Gauss–Hermite quadrature: the rule agreed with the coarse grid.
    Quadrature,
    /// A grid in the mode's whitened coordinates: they disagreed, or the mode is light.
    Grid,
}

/// The n-point Gauss–Hermite rule for ∫ e^−x² f(x) dx (Σ w = √π), nodes ascending, as
/// (node, weight) pairs: by Newton's method on the orthonormal Hermite recurrence from the usual
/// asymptotic guesses (Numerical Recipes' `gauher`), to machine precision for n ≤ 100.
pub fn gauss_hermite(n: usize) -> Vec<(f64, f64)> {
    let pi_quarter = std::f64::consts::PI.powf(-0.25);
    let mut half = vec![(0.0, 0.0); n.div_ceil(2)];
    let mut z = 0.0f64;
    for i in 0..half.len() {
        z = match i {
            0 => (2.0 * n as f64 + 1.0).sqrt() - 1.85575 * (2.0 * n as f64 + 1.0).powf(-1.0 / 6.0),
            1 => z - 1.14 * (n as f64).powf(0.426) / z,
            2 => 1.86 * z - 0.86 * half[0].0,
            3 => 1.91 * z - 0.91 * half[1].0,
            _ => 2.0 * z - half[i - 2].0,
        };
        let mut derivative = 0.0;
        for _ in 0..100 {
            let (mut p1, mut p2) = (pi_quarter, 0.0);
            for j in 1..=n {
                let p3 = p2;
                p2 = p1;
                p1 = z * (2.0 / j as f64).sqrt() * p2 - ((j - 1) as f64 / j as f64).sqrt() * p3;
            }
            derivative = (2.0 * n as f64).sqrt() * p2;
            let step = p1 / derivative;
            z -= step;
            if step.abs() <= 1e-15 * z.abs().max(1.0) {
                break;
            }
        }
        half[i] = (z, 2.0 / (derivative * derivative));
    }
    let mut nodes: Vec<(f64, f64)> = half.iter().map(|&(x, w)| (-x, w)).collect();
    nodes.extend(half.iter().rev().skip(n % 2).copied());
    nodes
}

/// The points of an n × n adaptive rule framed by N(mean, L Lᵀ) and the log of each point's
/// weight: ∫ g(z) dz ≈ Σₖ e^(log_weight[k]) g(points[k]).
pub fn adaptive_nodes(mean: [f64; 2], l: [[f64; 2]; 2], n: usize) -> (Vec<[f64; 2]>, Vec<f64>) {
    let rule = gauss_hermite(n);
    let scale = (2.0 * det(l).abs()).ln();
    let root2 = std::f64::consts::SQRT_2;
    let mut points = Vec::with_capacity(n * n);
    let mut log_weights = Vec::with_capacity(n * n);
    for &(y, wy) in &rule {
        for &(x, wx) in &rule {
            let (u, v) = (root2 * x, root2 * y);
            points.push(framed(mean, l, u, v));
            log_weights.push(scale + wx.ln() + wy.ln() + x * x + y * y);
        }
    }
    (points, log_weights)
}

/// Points with quadrature weights and the values of log p(x, z) there: ∫ f(z) p(x, z) dz ≈
/// Σ e^(log_weight) f(z) e^(log_joint). Sums under the posterior and under Gaussians are made on them.
#[derive(Debug, Clone, Default)]
pub(super) struct Nodes {
    pub(super) z: Vec<[f64; 2]>,
    /// log of the point's quadrature weight (with its mode's share of the partition).
    pub(super) log_weight: Vec<f64>,
    /// log p(x, z).
    pub(super) log_joint: Vec<f64>,
}

impl Nodes {
    /// Points with no mass (a weight or joint of −∞) are left out.
    fn push(&mut self, z: [f64; 2], log_weight: f64, log_joint: f64) {
        if log_weight + log_joint > f64::NEG_INFINITY {
            self.z.push(z);
            self.log_weight.push(log_weight);
            self.log_joint.push(log_joint);
        }
    }

    pub(super) fn extend(&mut self, other: &Nodes) {
        self.z.extend(&other.z);
        self.log_weight.extend(&other.log_weight);
        self.log_joint.extend(&other.log_joint);
    }

    /// log ∫ p(x, z) dz over these nodes.
    pub(super) fn log_mass(&self) -> f64 {
        log_sum_exp(&self.log_weight.iter().zip(&self.log_joint).map(|(w, j)| w + j).collect::<Vec<_>>())
    }

    /// Every k-th point (k chosen so that at most `most` remain), each standing for the k it
    /// replaces: the sums of a rough search, at a fraction of the cost.
    pub(super) fn thinned(&self, most: usize) -> Nodes {
        let k = self.z.len().div_ceil(most.max(1)).max(1);
        let more = (k as f64).ln();
        Nodes {
            z: self.z.iter().step_by(k).copied().collect(),
            log_weight: self.log_weight.iter().step_by(k).map(|w| w + more).collect(),
            log_joint: self.log_joint.iter().step_by(k).copied().collect(),
        }
    }

    /// Mean and covariance of the mass the nodes hold (`None` where it is not a Gaussian's).
    fn moments_held(&self) -> Option<Gaussian2> {
        let moments = self.moments(self.log_mass());
        moments.cholesky().map(|_| moments)
    }

    /// Mean and covariance of the posterior p(z|x) = p(x, z)/p(x).
    pub(super) fn moments(&self, log_px: f64) -> Gaussian2 {
        let weights = self.log_weight.iter().zip(&self.log_joint).map(|(w, j)| (w + j - log_px).exp());
        weighted_moments(weights.zip(self.z.iter().copied()))
    }

    /// ELBO(q) = E_q[log p(x, z)] + H(q) on these nodes, and the mass of q they hold: Σ w q(z)
    /// log p(x, z) / Σ w q(z) + H(q). Valid where that mass is one (q lies under the nodes).
    pub(super) fn elbo(&self, q: &Gaussian2) -> (f64, f64) {
        let Some(inv) = inverse(q.cov) else { return (f64::NEG_INFINITY, 0.0) };
        let log_norm = -LOG_2PI - 0.5 * det(q.cov).ln();
        let (mut mass, mut sum) = (0.0, 0.0);
        for ((z, w), lj) in self.z.iter().zip(&self.log_weight).zip(&self.log_joint) {
            let (dx, dy) = (z[0] - q.mean[0], z[1] - q.mean[1]);
            let quad = inv[0][0] * dx * dx + 2.0 * inv[0][1] * dx * dy + inv[1][1] * dy * dy;
            let weight = (log_norm - 0.5 * quad + w).exp();
            if weight > 0.0 {
                mass += weight;
                sum += weight * lj;
            }
        }
        if mass <= 0.0 { (f64::NEG_INFINITY, 0.0) } else { (sum / mass + q.entropy(), mass) }
    }
}

/// One mode's share of p(x), integrated: its nodes, log of the share by the coarser rule (the lower
/// order, or the grid at twice its step), and the method that settled it.
#[derive(Debug, Clone)]
pub(super) struct Share {
    pub(super) nodes: Nodes,
    /// The lower rule's nodes, where the rules settled it.
    pub(super) low: Option<Nodes>,
    pub(super) coarser: f64,
    pub(super) method: Method,
}

/// The partition of unity over the modes: log πₘ(z).
struct Partition {
    /// Per mode: its fit's mean, inverse covariance and log (aₘ · normaliser).
    fits: Vec<([f64; 2], [[f64; 2]; 2], f64)>,
}

impl Partition {
    fn new(modes: &[Mode]) -> Self {
        let fits = modes
            .iter()
            .filter_map(|m| inverse(m.cov).map(|inv| (m.at, inv, m.log_mass() - LOG_2PI - 0.5 * det(m.cov).ln())))
            .collect::<Vec<_>>();
        Self { fits: if fits.len() == modes.len() { fits } else { Vec::new() } }
    }

    fn log_share(&self, m: usize, z: [f64; 2]) -> f64 {
        if self.fits.len() < 2 {
            return 0.0;
        }
        let terms: Vec<f64> = self
            .fits
            .iter()
            .map(|(at, inv, log_a)| {
                let (dx, dy) = (z[0] - at[0], z[1] - at[1]);
                log_a - 0.5 * (inv[0][0] * dx * dx + 2.0 * inv[0][1] * dx * dy + inv[1][1] * dy * dy)
            })
            .collect();
        terms[m] - log_sum_exp(&terms)
    }
}

/// Each mode's share of p(x), by adaptive Gauss–Hermite quadrature where it agrees with the
/// trapezoid rule on a coarse grid, and on a fine grid where it does not; for a `draft`, the
/// rule's unchecked.
pub(super) fn integrate(joint: &mut Joint, modes: &[Mode], draft: bool) -> Result<Vec<Share>, Halt> {
    let partition = Partition::new(modes);
    let laplace = log_sum_exp(&modes.iter().map(Mode::log_mass).collect::<Vec<_>>());
    let mut rules = Vec::with_capacity(modes.len());
    for (m, mode) in modes.iter().enumerate() {
        let mut frame = Gaussian2 { mean: mode.at, cov: mode.cov };
        if mode.log_mass() < laplace - LIGHT_NATS {
            rules.push((frame, None));
            continue;
        }
        let mut low = rule_nodes(joint, &partition, m, &frame, LOW_ORDER)?;
        // The fit is the peak's curvature; where the mass the rule sees is shaped otherwise (a flat
        // or pointed top), the rules are framed by that mass instead.
        if let Some(held) = low.moments_held().filter(|held| !similar(held, &frame)) {
            frame = held;
            low = rule_nodes(joint, &partition, m, &frame, LOW_ORDER)?;
        }
        let high = rule_nodes(joint, &partition, m, &frame, HIGH_ORDER)?;
        rules.push((frame, Some((low, high))));
    }
    // The agreement asked of a share is relative to p(x), estimated by the higher rules (a light
    // mode's by its fit).
    let total = log_sum_exp(
        &rules
            .iter()
            .zip(modes)
            .map(|((_, rule), mode)| rule.as_ref().map_or(mode.log_mass(), |(_, high)| high.log_mass()))
            .collect::<Vec<_>>(),
    );
    let mut shares = Vec::with_capacity(modes.len());
    for (m, (frame, rule)) in rules.into_iter().enumerate() {
        let Some((low, high)) = rule else {
            shares.push(grid_share(joint, &partition, m, &frame, GRID_HALF, COARSE_GRID_SIDE)?);
            continue;
        };
        let share = |log_mass: f64| (log_mass - total).exp();
        let by_rule = high.log_mass();
        // A draft takes the rule's answer unchecked; so does an integrand smooth at its scale.
        let smooth = by_rule.is_finite() && (share(by_rule) - share(low.log_mass())).abs() <= SMOOTH_NATS;
        if draft || (smooth && !mass_beyond(joint, &partition, m, &frame, by_rule)?) {
            shares.push(Share { nodes: high, coarser: low.log_mass(), low: Some(low), method: Method::Quadrature });
            continue;
        }
        let grid = grid_share(joint, &partition, m, &frame, GRID_HALF, COARSE_GRID_SIDE)?;
        let by_grid = grid.nodes.log_mass();
        let agree = by_rule.is_finite() && (share(by_rule) - share(by_grid)).abs() <= AGREEMENT_NATS;
        shares.push(if agree || !by_grid.is_finite() {
            Share { nodes: high, low: Some(low), coarser: by_grid, method: Method::Quadrature }
        } else {
            grid_share(joint, &partition, m, &frame, GRID_HALF, FINE_GRID_SIDE)?
        });
    }
    Ok(shares)
}

/// The Cholesky factor of a frame (a tiny round one where it has none).
fn factor(frame: &Gaussian2) -> [[f64; 2]; 2] {
    frame.cholesky().unwrap_or([[1e-3, 0.0], [0.0, 1e-3]])
}

/// Whether two Gaussians have about the same shape: every axis of `b` within a factor of 1.5 of
/// `a`'s width along it (the eigenvalues of A⁻¹B between 1/2.25 and 2.25).
fn similar(a: &Gaussian2, b: &Gaussian2) -> bool {
    let Some(inv) = inverse(a.cov) else { return false };
    let m = [
        [inv[0][0] * b.cov[0][0] + inv[0][1] * b.cov[1][0], inv[0][0] * b.cov[0][1] + inv[0][1] * b.cov[1][1]],
        [inv[1][0] * b.cov[0][0] + inv[1][1] * b.cov[1][0], inv[1][0] * b.cov[0][1] + inv[1][1] * b.cov[1][1]],
    ];
    let (small, large) = eigen(m);
    small >= 1.0 / 2.25 && large <= 2.25
}

/// Whether log πₘ(z) p(x, z) has mass beyond the rule's nodes: a probe grid over ±PROBE_HALF of
/// the fit's σ (PROBE_SIDE² points) finds a point outside ±PROBE_CORE whose cell holds more than
/// e^−PROBE_NATS of the share — a lobe beside the peak that its fit does not see (two orders of a
/// rule on the same frame agree and both miss it).
fn mass_beyond(joint: &mut Joint, partition: &Partition, m: usize, frame: &Gaussian2, log_share: f64) -> Result<bool, Halt> {
    let (mean, l) = (frame.mean, factor(frame));
    let step = 2.0 * PROBE_HALF / (PROBE_SIDE - 1) as f64;
    let mut points = Vec::new();
    for k in 0..PROBE_SIDE * PROBE_SIDE {
        let (u, v) = (-PROBE_HALF + (k % PROBE_SIDE) as f64 * step, -PROBE_HALF + (k / PROBE_SIDE) as f64 * step);
        if u.abs().max(v.abs()) > PROBE_CORE {
            points.push(framed(mean, l, u, v));
        }
    }
    let values = joint.at(&points.iter().flatten().copied().collect::<Vec<_>>())?;
    let log_cell = (det(l).abs() * step * step).ln();
    Ok(points.iter().zip(values).any(|(z, v)| v + partition.log_share(m, *z) + log_cell > log_share - PROBE_NATS))
}

fn rule_nodes(joint: &mut Joint, partition: &Partition, m: usize, frame: &Gaussian2, n: usize) -> Result<Nodes, Halt> {
    let (points, log_weights) = adaptive_nodes(frame.mean, factor(frame), n);
    let values = joint.at(&points.iter().flatten().copied().collect::<Vec<_>>())?;
    let mut nodes = Nodes::default();
    for ((z, w), v) in points.iter().zip(log_weights).zip(values) {
        nodes.push(*z, w + partition.log_share(m, *z), v);
    }
    Ok(nodes)
}

/// A mode's share on a grid in its whitened coordinates, `n` points a side over ±`half` at first,
/// widened (same step) until its edge holds no mass.
fn grid_share(
    joint: &mut Joint,
    partition: &Partition,
    m: usize,
    frame: &Gaussian2,
    first_half: f64,
    first_n: usize,
) -> Result<Share, Halt> {
    let mut frame = *frame;
    let (mut half, mut n, mut reframes) = (first_half, first_n, 0);
    loop {
        let l = factor(&frame);
        let region = Region::fill(joint, partition, m, Region { centre: frame.mean, l, half, n, values: Vec::new() })?;
        if region.edge_share() <= -EDGE_NATS || n >= MAX_REGION_SIDE {
            return Ok(region.share());
        }
        // Mass at the edge. The peak's quadratic fit may be far narrower than the mass around
        // it (a pointed peak on wide shoulders): frame the grid by the mass it holds so far
        // when that is clearly wider, else widen the grid at the same step.
        let held = region.moments().filter(|m| det(m.cov) > 4.0 * det(frame.cov));
        if let (Some(wider), true) = (held, reframes < 3) {
            frame = wider;
            (half, n) = (first_half, first_n);
            reframes += 1;
            continue;
        }
        let step = 2.0 * half / (n - 1) as f64;
        // A quarter more a side, kept odd so the centre stays a point.
        n = (n + 2 * n.div_ceil(8)).min(MAX_REGION_SIDE);
        half = step * (n - 1) as f64 / 2.0;
    }
}

/// A grid in a mode's whitened coordinates: points z = centre + L u, u on an n × n grid over
/// [−half, half]², each the centre of a cell of area |det L|·step².
#[derive(Debug, Clone)]
struct Region {
    centre: [f64; 2],
    l: [[f64; 2]; 2],
    half: f64,
    n: usize,
    /// (log p(x, z), log πₘ(z)) at the points, row by row.
    values: Vec<(f64, f64)>,
}

impl Region {
    fn fill(joint: &mut Joint, partition: &Partition, m: usize, mut region: Region) -> Result<Region, Halt> {
        let n = region.n;
        let points: Vec<[f64; 2]> = (0..n * n).map(|k| region.point(k % n, k / n)).collect();
        let values = joint.at(&points.iter().flatten().copied().collect::<Vec<_>>())?;
        region.values = values.into_iter().zip(&points).map(|(v, z)| (v, partition.log_share(m, *z))).collect();
        Ok(region)
    }
    fn step(&self) -> f64 {
        2.0 * self.half / (self.n - 1) as f64
    }
    fn log_cell(&self) -> f64 {
        (det(self.l).abs() * self.step() * self.step()).ln()
    }
    fn point(&self, i: usize, j: usize) -> [f64; 2] {
        let (u, v) = (-self.half + i as f64 * self.step(), -self.half + j as f64 * self.step());
        framed(self.centre, self.l, u, v)
    }
    /// log (πₘ(z) p(x, z)) of every point.
    fn shared(&self) -> Vec<f64> {
        self.values.iter().map(|(v, s)| v + s).collect()
    }
    fn share(&self) -> Share {
        let (cell, n) = (self.log_cell(), self.n);
        let mut nodes = Nodes::default();
        for (k, &(v, s)) in self.values.iter().enumerate() {
            nodes.push(self.point(k % n, k / n), cell + s, v);
        }
        // The grid at twice its step: every other point, four times the cell.
        let doubled: Vec<f64> = (0..n * n)
            .filter(|k| (k % n).is_multiple_of(2) && (k / n).is_multiple_of(2))
            .map(|k| self.values[k].0 + self.values[k].1 + cell + 4f64.ln())
            .collect();
        Share { nodes, low: None, coarser: log_sum_exp(&doubled), method: Method::Grid }
    }
    /// Mean and covariance of the mass the region holds (`None` when it holds none).
    fn moments(&self) -> Option<Gaussian2> {
        let shared = self.shared();
        let total = log_sum_exp(&shared);
        if !total.is_finite() {
            return None;
        }
        let n = self.n;
        let moments = weighted_moments(shared.iter().enumerate().map(|(k, v)| ((v - total).exp(), self.point(k % n, k / n))));
        moments.cholesky().map(|_| moments)
    }
    /// The largest log weight on the region's edge, relative to the region's total.
    fn edge_share(&self) -> f64 {
        let (n, shared) = (self.n, self.shared());
        let total = log_sum_exp(&shared);
        let edge = (0..n * n).filter(|k| k % n == 0 || k % n == n - 1 || k / n == 0 || k / n == n - 1).map(|k| shared[k]);
        edge.fold(f64::NEG_INFINITY, f64::max) - total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_integrates_gaussian_moments_exactly() {
        for n in [1, 2, 5, 12, 20, 40] {
            let rule = gauss_hermite(n);
            assert_eq!(rule.len(), n);
            // ∫ e^−x² x^(2k) dx = Γ(k + ½) = √π (2k − 1)!! / 2^k, exact for 2k ≤ 2n − 1.
            let mut expected = std::f64::consts::PI.sqrt();
            for k in 0..n {
                let got: f64 = rule.iter().map(|(x, w)| w * x.powi(2 * k as i32)).sum();
                assert!((got - expected).abs() <= 1e-11 * expected, "n = {n}, x^{}: {got} vs {expected}", 2 * k);
                expected *= (2 * k + 1) as f64 / 2.0;
            }
            assert!(rule.windows(2).all(|p| p[0].0 < p[1].0), "ascending, distinct: {rule:?}");
        }
    }

    #[test]
    fn adaptive_nodes_integrate_a_tilted_gaussian_to_its_mass() {
        // g = 3.5 · N(m, Σ): its integral is 3.5 whatever the frame, and exactly so in its own frame.
        let (m, l) = ([0.4, -1.2], [[0.05, 0.0], [0.03, 0.01]]);
        let cov = [[l[0][0] * l[0][0], l[0][0] * l[1][0]], [l[0][0] * l[1][0], l[1][0] * l[1][0] + l[1][1] * l[1][1]]];
        let det = cov[0][0] * cov[1][1] - cov[0][1] * cov[1][0];
        let inv = [[cov[1][1] / det, -cov[0][1] / det], [-cov[1][0] / det, cov[0][0] / det]];
        let g = |z: [f64; 2]| {
            let (dx, dy) = (z[0] - m[0], z[1] - m[1]);
            3.5 * (-0.5 * (inv[0][0] * dx * dx + 2.0 * inv[0][1] * dx * dy + inv[1][1] * dy * dy)).exp()
                / (2.0 * std::f64::consts::PI * det.sqrt())
        };
        let (points, log_weights) = adaptive_nodes(m, l, 6);
        let total: f64 = points.iter().zip(&log_weights).map(|(z, w)| w.exp() * g(*z)).sum();
        assert!((total - 3.5).abs() < 1e-12, "{total}");
    }
}
