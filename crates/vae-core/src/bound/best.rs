//! The best Gaussians for one image: q\* (diagonal) and q\*\* (full covariance), each the one
//! maximising the ELBO, i.e. minimising KL(q ‖ p(z|x)), found by Newton's method on the
//! quadrature's nodes; and the ELBO of a given q, E_q[log p(x, z)] + H(q), by quadrature.

use super::quadrature::Nodes;
use super::{BoundError, Gaussian2, Halt, Joint, inverse, solve};

/// The order of the Gauss–Hermite rule in q's own coordinates (n² decodes) for E_q[log p(x, z)]
/// where the posterior's nodes do not hold q's mass.
const OWN_ORDER: usize = 12;
/// Points of the nodes a rough search for a best Gaussian sums over at most.
const ROUGH_POINTS: usize = 2048;
/// ELBO(q) on the posterior's nodes is taken when both rules hold q's mass to this share and
/// agree on the ELBO to this many nats.
const MASS_TOLERANCE: f64 = 0.005;
const ELBO_AGREEMENT: f64 = 0.002;

/// The posterior's nodes: those of the higher rule (or grids) and, where every mode was settled by
/// quadrature, those of the lower rule too, to check a sum under a Gaussian against.
pub(super) struct Integrated {
    pub(super) high: Nodes,
    pub(super) low: Option<Nodes>,
}

impl Integrated {
    /// ELBO(q) on the posterior's nodes, where both rules agree on it.
    fn settled_elbo(&self, q: &Gaussian2) -> Option<f64> {
        let low = self.low.as_ref()?;
        let ((high_elbo, high_mass), (low_elbo, low_mass)) = (self.high.elbo(q), low.elbo(q));
        let held = (high_mass - 1.0).abs() <= MASS_TOLERANCE && (low_mass - 1.0).abs() <= MASS_TOLERANCE;
        (held && (high_elbo - low_elbo).abs() <= ELBO_AGREEMENT && high_elbo.is_finite()).then_some(high_elbo)
    }
}

/// ELBO(q): on the posterior's nodes where they hold q, else by Gauss–Hermite quadrature in q's
/// own coordinates.
pub(super) fn elbo_of(joint: &mut Joint, integrated: &Integrated, q: &Gaussian2) -> Result<f64, Halt> {
    match integrated.settled_elbo(q) {
        Some(elbo) => Ok(elbo),
        None => Ok(own_nodes(joint, q)?.elbo(q).0),
    }
}

/// Gauss–Hermite nodes in q's own coordinates, weighted for ∫ f(z) dz (so `elbo(q)` on them is
/// E_q[log p(x, z)] + H(q) by the rule, and nearly so for Gaussians near q).
fn own_nodes(joint: &mut Joint, q: &Gaussian2) -> Result<Nodes, Halt> {
    let l = q.cholesky().ok_or(BoundError::NoPosterior(q.cov[0][0].sqrt(), q.cov[1][1].sqrt()))?;
    let (points, log_weights) = super::quadrature::adaptive_nodes(q.mean, l, OWN_ORDER);
    let values = joint.at(&points.iter().flatten().copied().collect::<Vec<_>>())?;
    Ok(Nodes { z: points, log_weight: log_weights, log_joint: values })
}

/// The best Gaussian for this image (diagonal, or full with `full`), by Newton's method on the
/// posterior's nodes from several starts (the posterior's moments and each mode's peak,
/// precision-matched, and `fallback`); where the posterior's nodes do not settle its ELBO, searched
/// again on nodes of its own. `fallback` (the encoder's q, or q\* for q\*\*) is in the family, so
/// the result is never worse than it.
pub(super) fn best_gaussian(
    joint: &mut Joint,
    integrated: &Integrated,
    fits: &[Gaussian2],
    fallback: &Gaussian2,
    fallback_elbo: f64,
    full: bool,
) -> Result<(Gaussian2, f64), Halt> {
    // A Gaussian fit as a start: itself (full), or the diagonal Gaussian matching its precision's
    // diagonal (the best diagonal one, were the posterior that Gaussian).
    let starts: Vec<Gaussian2> = fits
        .iter()
        .filter_map(|fit| match (full, inverse(fit.cov)) {
            (true, _) => Some(*fit),
            (false, Some(inv)) => Some(Gaussian2::diagonal(fit.mean, [1.0 / inv[0][0].sqrt(), 1.0 / inv[1][1].sqrt()])),
            (false, None) => None,
        })
        .collect();
    let thin = integrated.high.thinned(ROUGH_POINTS);
    let mut rough: Option<(f64, Gaussian2)> = None;
    for start in starts.iter().chain([fallback]) {
        let Some(q) = joint.optimum(search_key(0, start, full), || maximise(&thin, start, full))? else { continue };
        let value = thin.elbo(&q).0;
        if rough.is_none_or(|(best, _)| value > best) {
            rough = Some((value, q));
        }
    }
    // None held by the posterior's nodes (a diagonal Gaussian across a strongly tilted posterior
    // falls between them): the first start, polished on nodes of its own below.
    let Some(rough) = rough.map(|(_, q)| q).or(starts.first().copied()) else { return Ok((*fallback, fallback_elbo)) };
    let (found, elbo) = match integrated.settled_elbo(&rough) {
        Some(elbo) => (rough, elbo),
        None => {
            // The posterior's nodes follow its shape, and the best diagonal Gaussian for a tilted
            // posterior is narrower than it across, so its mass falls between them: nodes of its own.
            let own = own_nodes(joint, &rough)?;
            let found = joint.optimum(search_key(1, &rough, full), || maximise(&own, &rough, full))?.unwrap_or(rough);
            (found, own.elbo(&found).0)
        }
    };
    Ok(if elbo > fallback_elbo { (found, elbo) } else { (*fallback, fallback_elbo) })
}

/// Names a Newton search: which points (`stage`), its start, and the family.
fn search_key(stage: u64, start: &Gaussian2, full: bool) -> Vec<u64> {
    let [[a, b], [_, c]] = start.cov;
    [stage, u64::from(full)].into_iter().chain([start.mean[0], start.mean[1], a, b, c].map(f64::to_bits)).collect()
}

/// Newton's method on the Gaussian's parameters, relative to `start` (mean = m₀ + L₀ a; factor
/// L₀·T, T lower triangular with diagonal e^b; a diagonal Gaussian keeps T diagonal).
fn maximise(points: &Nodes, start: &Gaussian2, full: bool) -> Option<Gaussian2> {
    let l0 = start.cholesky()?;
    let l0 = if full { l0 } else { [[start.cov[0][0].sqrt(), 0.0], [0.0, start.cov[1][1].sqrt()]] };
    let dims = if full { 5 } else { 4 };
    let gaussian = |p: &[f64; 5]| {
        let t = [[p[2].exp(), 0.0], [if full { p[4] } else { 0.0 }, p[3].exp()]];
        let l = [[l0[0][0] * t[0][0], 0.0], [l0[1][0] * t[0][0] + l0[1][1] * t[1][0], l0[1][1] * t[1][1]]];
        let mean = [start.mean[0] + l0[0][0] * p[0], start.mean[1] + l0[1][0] * p[0] + l0[1][1] * p[1]];
        let cov = [[l[0][0] * l[0][0], l[0][0] * l[1][0]], [l[0][0] * l[1][0], l[1][0] * l[1][0] + l[1][1] * l[1][1]]];
        Gaussian2 { mean, cov }
    };
    // The self-normalised sum is only an ELBO where the nodes hold most of q's mass.
    let objective = |p: &[f64; 5]| match points.elbo(&gaussian(p)) {
        (elbo, mass) if mass >= 0.9 => elbo,
        _ => f64::NEG_INFINITY,
    };
    let mut p = [0.0f64; 5];
    let mut value = objective(&p);
    if !value.is_finite() {
        return None;
    }
    for _ in 0..30 {
        let (g, h) = derivatives(&objective, &p, dims);
        let direction = newton_direction(&g, &h, dims);
        let mut t = 1.0;
        let mut improved = false;
        for _ in 0..30 {
            let mut trial = p;
            for i in 0..dims {
                trial[i] += t * direction[i];
            }
            let v = objective(&trial);
            if v > value {
                let gain = v - value;
                p = trial;
                value = v;
                improved = gain > 1e-10;
                break;
            }
            t /= 2.0;
        }
        if !improved {
            break;
        }
    }
    Some(gaussian(&p))
}

/// Central finite-difference gradient and Hessian of `f` in the first `dims` parameters.
fn derivatives(f: &dyn Fn(&[f64; 5]) -> f64, p: &[f64; 5], dims: usize) -> ([f64; 5], [[f64; 5]; 5]) {
    const H: f64 = 1e-3;
    let shifted = |moves: &[(usize, f64)]| {
        let mut q = *p;
        for &(i, d) in moves {
            q[i] += d;
        }
        f(&q)
    };
    let centre = f(p);
    let (mut g, mut h) = ([0.0; 5], [[0.0; 5]; 5]);
    #[allow(clippy::needless_range_loop)] // h[i][j] and h[j][i]: indices are clearer than iterators
    for i in 0..dims {
        let (plus, minus) = (shifted(&[(i, H)]), shifted(&[(i, -H)]));
        g[i] = (plus - minus) / (2.0 * H);
        h[i][i] = (plus - 2.0 * centre + minus) / (H * H);
        for j in 0..i {
            let v = (shifted(&[(i, H), (j, H)]) - shifted(&[(i, H), (j, -H)]) - shifted(&[(i, -H), (j, H)]) + shifted(&[(i, -H), (j, -H)]))
                / (4.0 * H * H);
            h[i][j] = v;
            h[j][i] = v;
        }
    }
    (g, h)
}

/// −H⁻¹g where that is an ascent direction, else the gradient itself.
fn newton_direction(g: &[f64; 5], h: &[[f64; 5]; 5], dims: usize) -> [f64; 5] {
    let mut neg_h = [[0.0; 5]; 5];
    let mut rhs = [0.0; 5];
    for i in 0..5 {
        for j in 0..5 {
            neg_h[i][j] = if i < dims && j < dims {
                -h[i][j]
            } else if i == j {
                1.0
            } else {
                0.0
            };
        }
        rhs[i] = if i < dims { g[i] } else { 0.0 };
    }
    match solve(neg_h, rhs) {
        Some(d) if (0..dims).map(|i| d[i] * g[i]).sum::<f64>() > 0.0 => d,
        _ => rhs,
    }
}
