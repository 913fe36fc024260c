//! The bound the ELBO leaves, computed exactly: in two latent dimensions p(x, z) = p(x|z) p(z) can
//! be evaluated on grids over the plane, so log p(x) is a sum (quadrature), the true posterior
//! p(z|x) a picture, and the gap log p(x) − ELBO splits (Cremer, Li & Duvenaud 2018, "Inference
//! Suboptimality in Variational Autoencoders") into
//!
//! - the **approximation gap** log p(x) − ELBO(q\*), where q\* is the best diagonal Gaussian for
//!   this image: what the family of q costs, and
//! - the **amortization gap** ELBO(q\*) − ELBO(q_encoder): what one shared encoder costs,
//!
//! with ELBO(q\*\*) − ELBO(q\*), q\*\* the best full-covariance Gaussian, what a tilted ellipse
//! would buy. Every ELBO here is an integral on a grid, not a Monte-Carlo estimate.
//!
//! How the mass is found: a trained VAE's posteriors are a few hundredths wide, so no grid fixed to
//! the plane resolves them. A coarse pass over the prior (and the encoder's μ) gives starting
//! points; from each, a search fits a quadratic to log p(x, z) on a shrinking 5×5 stencil until it
//! resolves the peak; each mode's integral is then a grid in the mode's own whitened coordinates
//! (so a tilted or narrow posterior costs no more than a round one), grown until its edges carry no
//! mass. The error estimate is the change of log p(x) when the grid step doubles.
//!
//! The module takes log p(x|z) as a function, so it is tested on a linear-Gaussian decoder whose
//! posterior and log p(x) are known in closed form; [`log_likelihood_of`] is the one for the
//! models' decoder (Bernoulli or Gaussian pixels).

use crate::fast::FastDecoder;
use crate::latent::log_prior_f64;
use crate::loss::Likelihood;
use crate::numeric::LOG_2PI;

/// A 2-D Gaussian N(mean, cov).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Gaussian2 {
    /// Mean, latent units.
    pub mean: [f64; 2],
    /// Covariance `[[a, b], [b, c]]`, latent units squared.
    pub cov: [[f64; 2]; 2],
}

impl Gaussian2 {
    /// N(μ, diag σ²).
    pub fn diagonal(mean: [f64; 2], sigma: [f64; 2]) -> Self {
        Self { mean, cov: [[sigma[0] * sigma[0], 0.0], [0.0, sigma[1] * sigma[1]]] }
    }

    /// The lower Cholesky factor L of the covariance (L Lᵀ = cov); `None` unless positive definite.
    pub fn cholesky(&self) -> Option<[[f64; 2]; 2]> {
        let [[a, b], [_, c]] = self.cov;
        if a.is_nan() || a <= 0.0 {
            return None;
        }
        let l00 = a.sqrt();
        let l10 = b / l00;
        let rest = c - l10 * l10;
        (rest > 0.0 && rest.is_finite()).then(|| [[l00, 0.0], [l10, rest.sqrt()]])
    }

    /// Differential entropy, nats: 1 + ln 2π + ½ ln det cov.
    pub fn entropy(&self) -> f64 {
        1.0 + LOG_2PI + 0.5 * det(self.cov).ln()
    }

    /// Correlation of the two coordinates.
    pub fn correlation(&self) -> f64 {
        self.cov[0][1] / (self.cov[0][0] * self.cov[1][1]).sqrt()
    }
}

/// Everything about the bound for one image, nats.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExactBound {
    /// log p(x) by quadrature.
    pub log_px: f64,
    /// How much log p(x) moved when the grid step doubled: its error is well below this.
    pub log_px_error: f64,
    /// The encoder's ELBO, ELBO(q_encoder), integrated on a grid.
    pub elbo: f64,
    /// ELBO of the best diagonal Gaussian for this image, q\*.
    pub elbo_best_diagonal: f64,
    /// ELBO of the best full-covariance Gaussian for this image, q\*\*.
    pub elbo_best_full: f64,
    /// The encoder's q(z|x).
    pub encoder: Gaussian2,
    /// q\*.
    pub best_diagonal: Gaussian2,
    /// q\*\*.
    pub best_full: Gaussian2,
    /// The true posterior's mean and covariance (from the grid).
    pub posterior_moments: Gaussian2,
    /// Separate modes of the posterior found (regions integrated).
    pub modes: usize,
    /// Decoder evaluations spent.
    pub evaluations: usize,
}

impl ExactBound {
    /// log p(x) − ELBO(q_encoder) ≥ 0.
    pub fn gap(&self) -> f64 {
        self.log_px - self.elbo
    }
    /// log p(x) − ELBO(q\*): the price of a diagonal Gaussian.
    pub fn approximation_gap(&self) -> f64 {
        self.log_px - self.elbo_best_diagonal
    }
    /// ELBO(q\*) − ELBO(q_encoder): the price of one encoder for every image.
    pub fn amortization_gap(&self) -> f64 {
        self.elbo_best_diagonal - self.elbo
    }
    /// ELBO(q\*\*) − ELBO(q\*): what a full covariance would buy.
    pub fn full_covariance_gain(&self) -> f64 {
        self.elbo_best_full - self.elbo_best_diagonal
    }
}

/// Why no bound could be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BoundError {
    /// log p(x|z) was NaN or +∞ somewhere (the model or the image is broken).
    #[error("the decoder's likelihood is not finite at z = ({0}, {1})")]
    NotFinite(f64, f64),
    /// The encoder's q has a σ that is not positive and finite.
    #[error("the encoder's posterior has σ = ({0}, {1}); a bound needs a VAE")]
    NoPosterior(f64, f64),
}

/// Half-width of the coarse pass, latent units: the prior has e^−12.5 of its peak density there.
const COARSE_RANGE: f64 = 5.0;
/// Points per side of the coarse pass (step 0.125).
pub const COARSE_SIDE: usize = 81;
/// Starting points kept from the coarse pass (its best local maxima).
const COARSE_STARTS: usize = 3;
/// A mode whose mass is this many nats below the largest is left out (e^−30 of it).
const NEGLIGIBLE_NATS: f64 = 30.0;
/// Half-width of a mode's grid in its whitened coordinates at first, and points per side (a step
/// of 0.3 of the peak's σ: the trapezoid rule on a smooth peak is then exact to far below 0.01 nats).
const REGION_HALF: f64 = 6.0;
const REGION_SIDE: usize = 41;
/// A region grows by REGION_GROWTH points a side (same step) while a point on its edge weighs more
/// than e^−EDGE_NATS of its total: what lies beyond is then below ≈ 1e-4 nats.
const EDGE_NATS: f64 = 16.0;
const REGION_GROWTH: usize = 20;
const MAX_REGION_SIDE: usize = 161;
/// Points of the regions a rough search for a best Gaussian sums over at most.
const ROUGH_POINTS: usize = 2048;
/// The grid a best Gaussian is polished on: ±FRAME_HALF of its σ, FRAME_SIDE points a side.
const FRAME_HALF: f64 = 6.0;
const FRAME_SIDE: usize = 25;
/// Expectations under a Gaussian: a grid of this many points per side over ±6 of its σ.
const EXPECTATION_SIDE: usize = 21;
const EXPECTATION_HALF: f64 = 6.0;

/// log p(x|z) of one 28×28 image `x` under a decoder whose pixels follow `likelihood`, at latent
/// points `zs = [x0, y0, …]`, in batches: −[`Likelihood::nats`] of the decoder's logits.
pub fn log_likelihood_of<'a>(decoder: &'a FastDecoder, likelihood: Likelihood, x: &'a [f32]) -> impl Fn(&[f64]) -> Vec<f64> + 'a {
    move |zs: &[f64]| {
        let mut out = Vec::with_capacity(zs.len() / 2);
        for chunk in zs.chunks(2 * 512) {
            let z32: Vec<f32> = chunk.iter().map(|&v| v as f32).collect();
            let logits = decoder.decode_logits(&z32);
            out.extend(logits.chunks_exact(x.len()).map(|l| -(likelihood.nats(l, x) as f64)));
        }
        out
    }
}

/// The decoder's outputs on the coarse grid, independent of the image, so made once per model:
/// each image's coarse log p(x|z) is then one matrix–vector product, since both likelihoods are
/// linear in x up to a term of x alone:
///
/// ```text
/// Bernoulli: log p(x|z) = Σ xᵢ ℓᵢ − Σ softplus(ℓᵢ)
/// Gaussian:  log p(x|z) = Σ xᵢ sᵢ/σₓ² − Σ sᵢ²/(2σₓ²) − 784·ln(σₓ√(2π)) − Σ xᵢ²/(2σₓ²),  s = sigmoid(ℓ)
/// ```
#[derive(Debug, Clone)]
pub struct CoarseLogits {
    points: Vec<f64>,
    /// Per point, the coefficients of x (ℓ, or s/σₓ²).
    slopes: Vec<f32>,
    /// Per point, the term of z alone (Σ softplus(ℓ), or Σ s²/(2σₓ²) + 784·ln(σₓ√(2π))).
    offsets: Vec<f64>,
    likelihood: Likelihood,
    pixels: usize,
    side: usize,
}

impl CoarseLogits {
    /// Decodes a coarse grid of `side` points a side over ±COARSE_RANGE ([`COARSE_SIDE`] for
    /// the trainer; the page uses fewer, to keep memory small).
    pub fn new(decoder: &FastDecoder, likelihood: Likelihood, side: usize) -> Self {
        let points = coarse_points(side.max(3));
        let z32: Vec<f32> = points.iter().map(|&v| v as f32).collect();
        let logits = decoder.decode_logits(&z32);
        let pixels = decoder.output_dim();
        let (slopes, offsets): (Vec<f32>, Vec<f64>) = match likelihood {
            Likelihood::Bernoulli => {
                let softplus =
                    logits.chunks_exact(pixels).map(|l| l.iter().map(|&v| (v as f64).max(0.0) + (-(v as f64).abs()).exp().ln_1p()).sum());
                (logits.clone(), softplus.collect())
            }
            Likelihood::Gaussian { sigma_x } => {
                let variance = sigma_x * sigma_x;
                let means: Vec<f64> = logits.iter().map(|&l| 1.0 / (1.0 + (-(l as f64)).exp())).collect();
                let normaliser = pixels as f64 * crate::loss::gaussian_log_normaliser(sigma_x);
                let offsets = means.chunks_exact(pixels).map(|s| s.iter().map(|v| v * v).sum::<f64>() / (2.0 * variance) + normaliser);
                (means.iter().map(|&s| (s / variance) as f32).collect(), offsets.collect())
            }
        };
        Self { points, slopes, offsets, likelihood, pixels, side: side.max(3) }
    }

    /// The likelihood it scores images with.
    pub fn likelihood(&self) -> Likelihood {
        self.likelihood
    }

    /// Its side, and log p(x|z) + log p(z) at every coarse point for image `x`: the `coarse`
    /// argument of [`exact_bound`].
    pub fn log_joint(&self, x: &[f32]) -> (usize, Vec<f64>) {
        (self.side, self.log_joint_values(x))
    }

    fn log_joint_values(&self, x: &[f32]) -> Vec<f64> {
        let of_x_alone = match self.likelihood {
            Likelihood::Bernoulli => 0.0,
            Likelihood::Gaussian { sigma_x } => x.iter().map(|&v| v as f64 * v as f64).sum::<f64>() / (2.0 * sigma_x * sigma_x),
        };
        self.slopes
            .chunks_exact(self.pixels)
            .zip(&self.offsets)
            .zip(self.points.chunks_exact(2))
            .map(|((w, c), z)| {
                w.iter().zip(x).map(|(&w, &xi)| w as f64 * xi as f64).sum::<f64>() - c - of_x_alone + log_prior_f64([z[0], z[1]])
            })
            .collect()
    }
}

/// Why a computation stopped before its end.
#[derive(Debug)]
enum Halt {
    Failed(BoundError),
    /// The step's budget of decoder evaluations is spent (see [`ExactJob`]).
    Budget,
}

impl From<BoundError> for Halt {
    fn from(e: BoundError) -> Self {
        Halt::Failed(e)
    }
}

/// What a job has computed already: a job that stops when its budget is spent runs again from
/// the start next step, and finds here the values of log p(x, z) (by the bits of z) and the best
/// Gaussians (by the bits of their starts) it made before.
#[derive(Debug, Default)]
pub struct Memo {
    values: std::collections::BTreeMap<(u64, u64), f64>,
    optima: std::collections::BTreeMap<Vec<u64>, Option<Gaussian2>>,
}

/// What one Newton search for a best Gaussian counts against a step's budget, in decoder
/// evaluations (it costs about as much time as this many decodes).
const SEARCH_COST: usize = 128;

/// log p(x, z) at many points, counting evaluations, remembering them, and stopping once `budget`
/// new ones have been made.
struct Joint<'a> {
    likelihood: &'a dyn Fn(&[f64]) -> Vec<f64>,
    evaluations: usize,
    memo: Memo,
    budget: usize,
}

impl Joint<'_> {
    fn at(&mut self, zs: &[f64]) -> Result<Vec<f64>, Halt> {
        let key = |z: &[f64]| (z[0].to_bits(), z[1].to_bits());
        let missing: Vec<f64> = zs.chunks_exact(2).filter(|z| !self.memo.values.contains_key(&key(z))).flatten().copied().collect();
        for batch in missing.chunks(2 * 256) {
            if self.budget == 0 {
                return Err(Halt::Budget);
            }
            let values = (self.likelihood)(batch);
            self.evaluations += batch.len() / 2;
            self.budget = self.budget.saturating_sub(batch.len() / 2);
            for (z, l) in batch.chunks_exact(2).zip(values) {
                let v = l + log_prior_f64([z[0], z[1]]);
                // −∞ is a point with no mass (a pixel the decoder rules out): allowed, and skipped.
                if v.is_nan() || v == f64::INFINITY {
                    return Err(BoundError::NotFinite(z[0], z[1]).into());
                }
                self.memo.values.insert(key(z), v);
            }
        }
        Ok(zs.chunks_exact(2).map(|z| self.memo.values[&key(z)]).collect())
    }

    /// `search()` (a best Gaussian's Newton search, named by `key`), made once per job; a step
    /// whose budget is spent stops before starting a new one.
    fn optimum(&mut self, key: Vec<u64>, search: impl FnOnce() -> Option<Gaussian2>) -> Result<Option<Gaussian2>, Halt> {
        if let Some(found) = self.memo.optima.get(&key) {
            return Ok(*found);
        }
        if self.budget == 0 {
            return Err(Halt::Budget);
        }
        self.budget = self.budget.saturating_sub(SEARCH_COST);
        let found = search();
        self.memo.optima.insert(key, found);
        Ok(found)
    }
}

/// The bound for one image: `likelihood` gives log p(x|z) at points `[x0, y0, …]`; `encoder` is
/// the encoder's q(z|x); `coarse`, if given, log p(x, z) on the coarse grid of that side (else
/// decoded here, [`COARSE_SIDE`] points a side).
pub fn exact_bound(
    likelihood: &dyn Fn(&[f64]) -> Vec<f64>,
    encoder: Gaussian2,
    coarse: Option<(usize, Vec<f64>)>,
) -> Result<ExactBound, BoundError> {
    let mut joint = Joint { likelihood, evaluations: 0, memo: Memo::default(), budget: usize::MAX };
    bound_with(&mut joint, encoder, coarse).map_err(|halt| match halt {
        Halt::Failed(e) => e,
        Halt::Budget => unreachable!("an unlimited budget is never spent"),
    })
}

/// One image's bound made a step at a time, each step at most a budget of decoder evaluations
/// (the page's refinement between frames): a step that runs out stops, and the next one runs
/// the computation again from the start, finding every value already made in its memo.
#[derive(Debug)]
pub struct ExactJob {
    encoder: Gaussian2,
    coarse: Option<(usize, Vec<f64>)>,
    memo: Memo,
    evaluations: usize,
}

impl ExactJob {
    /// A job for an image whose encoder gives `encoder`; `coarse` as for [`exact_bound`].
    pub fn new(encoder: Gaussian2, coarse: Option<(usize, Vec<f64>)>) -> Self {
        Self { encoder, coarse, memo: Memo::default(), evaluations: 0 }
    }

    /// Goes on with at most `budget` new evaluations of `likelihood`: the bound once done,
    /// `Ok(None)` while there is more to do.
    pub fn step(&mut self, likelihood: &dyn Fn(&[f64]) -> Vec<f64>, budget: usize) -> Result<Option<ExactBound>, BoundError> {
        let mut joint = Joint { likelihood, evaluations: self.evaluations, memo: std::mem::take(&mut self.memo), budget: budget.max(1) };
        let result = bound_with(&mut joint, self.encoder, self.coarse.clone());
        self.memo = joint.memo;
        self.evaluations = joint.evaluations;
        match result {
            Ok(bound) => Ok(Some(bound)),
            Err(Halt::Budget) => Ok(None),
            Err(Halt::Failed(e)) => Err(e),
        }
    }

    /// Decoder evaluations made so far.
    pub fn evaluations(&self) -> usize {
        self.evaluations
    }
}

fn bound_with(joint: &mut Joint, encoder: Gaussian2, coarse: Option<(usize, Vec<f64>)>) -> Result<ExactBound, Halt> {
    let sd = [encoder.cov[0][0].sqrt(), encoder.cov[1][1].sqrt()];
    if !sd.iter().all(|s| *s > 0.0 && s.is_finite()) {
        return Err(BoundError::NoPosterior(sd[0], sd[1]).into());
    }
    let (side, coarse) = match coarse {
        Some(grid) => grid,
        None => (COARSE_SIDE, joint.at(&coarse_points(COARSE_SIDE))?),
    };
    let mut modes = Vec::new();
    for start in coarse_starts(&coarse, side).into_iter().chain([(encoder.mean, sd[0].min(sd[1]))]) {
        modes.push(find_mode(joint, start.0, start.1)?);
    }
    let modes = distinct_modes(modes);
    // The encoder's q gets a region too (after the modes', so only the points they leave are
    // new): mass where q looks is mass its IWAE estimate counts, found by the climb or not.
    let encoder_region = Mode { at: encoder.mean, value: f64::NAN, cov: encoder.cov };
    let regions = integrate_modes(joint, &modes.iter().copied().chain([encoder_region]).collect::<Vec<_>>())?;
    let log_px = log_sum_exp(&regions.iter().flat_map(|r| r.log_weights()).collect::<Vec<_>>());
    let log_px_coarser = log_sum_exp(&regions.iter().flat_map(|r| r.log_weights_doubled_step()).collect::<Vec<_>>());
    let points = RegionPoints::new(&regions);
    let moments = points.moments(log_px);
    let elbo = expected_elbo(joint, &encoder)?;
    // Starts for the best Gaussians: the whole posterior's moments and each mode's peak.
    let fits: Vec<Gaussian2> = std::iter::once(moments).chain(modes.iter().map(|m| Gaussian2 { mean: m.at, cov: m.cov })).collect();
    let (best_diagonal, elbo_best_diagonal) = best_gaussian(joint, &points, &fits, &encoder, elbo, false)?;
    let (best_full, elbo_best_full) = best_gaussian(joint, &points, &fits, &best_diagonal, elbo_best_diagonal, true)?;
    Ok(ExactBound {
        log_px,
        log_px_error: (log_px - log_px_coarser).abs(),
        elbo,
        elbo_best_diagonal,
        elbo_best_full,
        encoder,
        best_diagonal,
        best_full,
        posterior_moments: moments,
        modes: modes.len(),
        evaluations: joint.evaluations,
    })
}

/// The points of a coarse grid of `side` points a side over ±COARSE_RANGE, `[x0, y0, …]`, row by
/// row from z₂ = −COARSE_RANGE.
pub fn coarse_points(side: usize) -> Vec<f64> {
    let step = 2.0 * COARSE_RANGE / (side - 1) as f64;
    (0..side * side).flat_map(|k| [-COARSE_RANGE + (k % side) as f64 * step, -COARSE_RANGE + (k / side) as f64 * step]).collect()
}

/// log p(z|x) = log p(x|z) + log p(z) − log p(x) at points `zs = [x0, y0, …]`, given log p(x):
/// the true posterior's picture.
pub fn log_posterior(likelihood: &dyn Fn(&[f64]) -> Vec<f64>, log_px: f64, zs: &[f64]) -> Vec<f64> {
    likelihood(zs).iter().zip(zs.chunks_exact(2)).map(|(l, z)| l + log_prior_f64([z[0], z[1]]) - log_px).collect()
}

/// The bound for image `x` under `decoder` (pixels as `coarse`'s likelihood says), with the coarse
/// logits made once per model.
pub fn exact_bound_of_image(decoder: &FastDecoder, coarse: &CoarseLogits, x: &[f32], encoder: Gaussian2) -> Result<ExactBound, BoundError> {
    let likelihood = log_likelihood_of(decoder, coarse.likelihood, x);
    exact_bound(&likelihood, encoder, Some(coarse.log_joint(x)))
}

/// The best local maxima of the coarse pass (3×3 neighbourhoods), with the coarse step as their scale.
fn coarse_starts(values: &[f64], n: usize) -> Vec<([f64; 2], f64)> {
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
    maxima.into_iter().take_while(|m| m.0 > best - 2.0 * NEGLIGIBLE_NATS).take(COARSE_STARTS).map(|(_, z)| (z, step)).collect()
}

/// A mode of log p(x, z): where it is, its value, and a Gaussian fit of the peak (cov = −H⁻¹).
#[derive(Debug, Clone, Copy)]
struct Mode {
    at: [f64; 2],
    value: f64,
    cov: [[f64; 2]; 2],
}

impl Mode {
    /// log of the mass under the peak's Gaussian fit: value + ln 2π + ½ ln det cov.
    fn log_mass(&self) -> f64 {
        self.value + LOG_2PI + 0.5 * det(self.cov).ln()
    }
}

/// Climbs log p(x, z) from `start`: a quadratic fitted on a 5×5 stencil of spacing `s` gives a
/// Newton step (kept within the stencil) or the stencil's best point; the stencil shrinks towards
/// the peak's own width. Ends with the peak's Gaussian fit.
fn find_mode(joint: &mut Joint, start: [f64; 2], scale: f64) -> Result<Mode, Halt> {
    let mut c = start;
    let mut s = scale.max(1e-4);
    let mut fit = None;
    for _ in 0..40 {
        let stencil: Vec<f64> = (0..25).flat_map(|k| [c[0] + s * ((k % 5) as f64 - 2.0), c[1] + s * ((k / 5) as f64 - 2.0)]).collect();
        let values = joint.at(&stencil)?;
        let best = (0..25).max_by(|&a, &b| values[a].total_cmp(&values[b])).unwrap_or(12);
        let quad = fit_quadratic(&values, s);
        let mut next = [stencil[2 * best], stencil[2 * best + 1]];
        if let Some(q) = quad
            && let Some(step) = q.newton_step()
        {
            let length = step[0].hypot(step[1]);
            let shrink = (2.5 * s / length).min(1.0);
            let target = [c[0] + step[0] * shrink, c[1] + step[1] * shrink];
            if joint.at(&target)?[0] >= values[best] {
                next = target;
            }
        }
        let moved = (next[0] - c[0]).hypot(next[1] - c[1]);
        c = next;
        // The peak's width along its narrowest axis, from the fit (where it is a peak).
        let width = quad.and_then(|q| q.covariance()).map(|cov| min_eigen(cov).sqrt());
        fit = quad.filter(|q| q.covariance().is_some()).map(|q| (q, s));
        let resolved = width.is_some_and(|w| s <= 0.75 * w && s >= 0.2 * w);
        if moved < 0.25 * s && resolved {
            break;
        }
        if moved < 0.5 * s || width.is_some_and(|w| s > 0.75 * w) {
            s = match width {
                Some(w) if s > 0.75 * w => (0.5 * w).max(s / 8.0),
                _ => s / 2.0,
            };
        }
        if s < 1e-6 {
            break;
        }
    }
    let value = joint.at(&c)?[0];
    let cov = fit.and_then(|(q, _)| q.covariance()).unwrap_or([[s * s, 0.0], [0.0, s * s]]);
    Ok(Mode { at: c, value, cov })
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

/// Solves A x = b by Gaussian elimination with partial pivoting; `None` if A is singular.
fn solve<const N: usize>(mut a: [[f64; N]; N], mut b: [f64; N]) -> Option<[f64; N]> {
    for col in 0..N {
        let pivot = (col..N).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..N {
            let f = a[row][col] / a[col][col];
            let pivot_row = a[col];
            for (v, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *v -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; N];
    for row in (0..N).rev() {
        let rest: f64 = (row + 1..N).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - rest) / a[row][row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

fn det(m: [[f64; 2]; 2]) -> f64 {
    m[0][0] * m[1][1] - m[0][1] * m[1][0]
}

fn min_eigen(m: [[f64; 2]; 2]) -> f64 {
    let (t, d) = (m[0][0] + m[1][1], det(m));
    0.5 * t - (0.25 * t * t - d).max(0.0).sqrt()
}

/// Modes with non-negligible mass, the same peak found twice kept once, heaviest first.
fn distinct_modes(mut modes: Vec<Mode>) -> Vec<Mode> {
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

fn mahalanobis(m: &Mode, z: [f64; 2]) -> f64 {
    let [[a, b], [_, c]] = m.cov;
    let d = det(m.cov);
    let (dx, dy) = (z[0] - m.at[0], z[1] - m.at[1]);
    ((c * dx * dx - 2.0 * b * dx * dy + a * dy * dy) / d).max(0.0).sqrt()
}

/// One mode's grid: points z = centre + L u, u on an n × n grid over [−half, half]², each the
/// centre of a cell of area |det L|·step²; points inside an earlier region are left out.
#[derive(Debug, Clone)]
struct Region {
    centre: [f64; 2],
    l: [[f64; 2]; 2],
    half: f64,
    n: usize,
    /// log p(x, z) at the points (−∞ where left out), row by row.
    values: Vec<f64>,
}

impl Region {
    fn step(&self) -> f64 {
        2.0 * self.half / (self.n - 1) as f64
    }
    fn log_cell(&self) -> f64 {
        (det(self.l).abs() * self.step() * self.step()).ln()
    }
    fn point(&self, i: usize, j: usize) -> [f64; 2] {
        let (u, v) = (-self.half + i as f64 * self.step(), -self.half + j as f64 * self.step());
        [self.centre[0] + self.l[0][0] * u + self.l[0][1] * v, self.centre[1] + self.l[1][0] * u + self.l[1][1] * v]
    }
    /// Whether z lies in this region's cells.
    fn covers(&self, z: [f64; 2]) -> bool {
        let (dx, dy) = (z[0] - self.centre[0], z[1] - self.centre[1]);
        let d = det(self.l);
        let u = (self.l[1][1] * dx - self.l[0][1] * dy) / d;
        let v = (-self.l[1][0] * dx + self.l[0][0] * dy) / d;
        let edge = self.half + self.step() / 2.0;
        u.abs() <= edge && v.abs() <= edge
    }
    /// log (p(x, z) · cell area) of every point.
    fn log_weights(&self) -> impl Iterator<Item = f64> + '_ {
        let cell = self.log_cell();
        self.values.iter().map(move |v| v + cell)
    }
    /// The same with every other point and four times the cell: the grid at twice the step.
    fn log_weights_doubled_step(&self) -> impl Iterator<Item = f64> + '_ {
        let cell = self.log_cell() + 4f64.ln();
        let n = self.n;
        self.values
            .iter()
            .enumerate()
            .filter(move |(k, _)| (k % n).is_multiple_of(2) && (k / n).is_multiple_of(2))
            .map(move |(_, v)| v + cell)
    }
    /// Mean and covariance of the mass the region holds (`None` when it holds none).
    fn moments(&self) -> Option<Gaussian2> {
        let total = log_sum_exp(&self.values);
        if !total.is_finite() {
            return None;
        }
        let n = self.n;
        let moments = weighted_moments(self.values.iter().enumerate().map(|(k, v)| ((v - total).exp(), self.point(k % n, k / n))));
        moments.cholesky().map(|_| moments)
    }

    /// The largest log weight on the region's edge, relative to the region's total.
    fn edge_share(&self) -> f64 {
        let n = self.n;
        let total = log_sum_exp(&self.values);
        let edge = (0..n * n).filter(|k| k % n == 0 || k % n == n - 1 || k / n == 0 || k / n == n - 1).map(|k| self.values[k]);
        edge.fold(f64::NEG_INFINITY, f64::max) - total
    }
}

/// Integrates each mode on a grid in its whitened coordinates, widened until its edge holds no
/// mass; a later region leaves out the points an earlier one covers.
fn integrate_modes(joint: &mut Joint, modes: &[Mode]) -> Result<Vec<Region>, Halt> {
    let mut regions: Vec<Region> = Vec::new();
    for mode in modes {
        let mut frame = Gaussian2 { mean: mode.at, cov: mode.cov };
        let (mut half, mut n, mut reframes) = (REGION_HALF, REGION_SIDE, 0);
        loop {
            let l = frame.cholesky().unwrap_or([[1e-3, 0.0], [0.0, 1e-3]]);
            let region = fill_region(joint, &regions, Region { centre: frame.mean, l, half, n, values: Vec::new() })?;
            if region.edge_share() <= -EDGE_NATS || n >= MAX_REGION_SIDE {
                regions.push(region);
                break;
            }
            // Mass at the edge. The peak's quadratic fit may be far narrower than the mass around
            // it (a pointed peak on wide shoulders): frame the grid by the mass it holds so far
            // when that is clearly wider, else widen the grid at the same step.
            let held = region.moments().filter(|m| det(m.cov) > 4.0 * det(frame.cov));
            if let (Some(wider), true) = (held, reframes < 3) {
                frame = wider;
                (half, n) = (REGION_HALF, REGION_SIDE);
                reframes += 1;
                continue;
            }
            let step = 2.0 * half / (n - 1) as f64;
            n = (n + REGION_GROWTH).min(MAX_REGION_SIDE);
            half = step * (n - 1) as f64 / 2.0;
        }
    }
    Ok(regions)
}

/// Evaluates `region`'s points, leaving out those an earlier region covers.
fn fill_region(joint: &mut Joint, earlier: &[Region], mut region: Region) -> Result<Region, Halt> {
    let n = region.n;
    let mut points = Vec::with_capacity(2 * n * n);
    let mut inside = Vec::with_capacity(n * n);
    for k in 0..n * n {
        let z = region.point(k % n, k / n);
        let covered = earlier.iter().any(|r| r.covers(z));
        inside.push(!covered);
        if !covered {
            points.extend(z);
        }
    }
    let mut values = joint.at(&points)?.into_iter();
    region.values = inside.iter().map(|&kept| if kept { values.next().unwrap_or(f64::NEG_INFINITY) } else { f64::NEG_INFINITY }).collect();
    Ok(region)
}

/// Mean and covariance of points weighted by their probabilities (weights summing to one).
fn weighted_moments(points: impl Iterator<Item = (f64, [f64; 2])> + Clone) -> Gaussian2 {
    let mean = points.clone().fold([0.0, 0.0], |m, (p, z)| [m[0] + p * z[0], m[1] + p * z[1]]);
    let mut cov = [[0.0; 2]; 2];
    for (p, z) in points {
        let d = [z[0] - mean[0], z[1] - mean[1]];
        for (i, row) in cov.iter_mut().enumerate() {
            for (j, c) in row.iter_mut().enumerate() {
                *c += p * d[i] * d[j];
            }
        }
    }
    Gaussian2 { mean, cov }
}

/// ln Σ eˣ, −∞ for no terms.
pub fn log_sum_exp(values: &[f64]) -> f64 {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY || !max.is_finite() {
        return max;
    }
    max + values.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// The regions' points and log weights in one list, for sums under the posterior and under Gaussians.
struct RegionPoints {
    z: Vec<[f64; 2]>,
    /// log (p(x, z) · cell area).
    log_weight: Vec<f64>,
    /// ln cell area.
    log_cell: Vec<f64>,
    /// log p(x, z).
    log_joint: Vec<f64>,
}

impl RegionPoints {
    fn new(regions: &[Region]) -> Self {
        let mut out = Self { z: Vec::new(), log_weight: Vec::new(), log_cell: Vec::new(), log_joint: Vec::new() };
        for r in regions {
            let cell = r.log_cell();
            for (k, &v) in r.values.iter().enumerate() {
                if v == f64::NEG_INFINITY {
                    continue;
                }
                out.z.push(r.point(k % r.n, k / r.n));
                out.log_weight.push(v + cell);
                out.log_cell.push(cell);
                out.log_joint.push(v);
            }
        }
        out
    }

    /// Every k-th point (k chosen so that at most `most` remain), each standing for the k cells
    /// it replaces: the sums of a rough search, at a fraction of the cost.
    fn thinned(&self, most: usize) -> RegionPoints {
        let k = self.z.len().div_ceil(most.max(1)).max(1);
        let weight = (k as f64).ln();
        let pick = |v: &Vec<f64>, add: f64| v.iter().step_by(k).map(|x| x + add).collect::<Vec<_>>();
        RegionPoints {
            z: self.z.iter().step_by(k).copied().collect(),
            log_weight: pick(&self.log_weight, weight),
            log_cell: pick(&self.log_cell, weight),
            log_joint: pick(&self.log_joint, 0.0),
        }
    }

    /// Mean and covariance of the posterior p(z|x) = p(x, z)/p(x).
    fn moments(&self, log_px: f64) -> Gaussian2 {
        weighted_moments(self.z.iter().zip(&self.log_weight).map(|(z, w)| ((w - log_px).exp(), *z)))
    }

    /// ELBO(q) from the region points: Σ q(z)·area·log p(x, z) / Σ q(z)·area + H(q). Valid where
    /// q's mass lies inside the regions (the best Gaussians do: they sit under the posterior).
    fn elbo(&self, q: &Gaussian2) -> f64 {
        let Some(inv) = inverse(q.cov) else { return f64::NEG_INFINITY };
        let log_norm = -LOG_2PI - 0.5 * det(q.cov).ln();
        let (mut mass, mut sum) = (0.0, 0.0);
        for ((z, cell), lj) in self.z.iter().zip(&self.log_cell).zip(&self.log_joint) {
            let (dx, dy) = (z[0] - q.mean[0], z[1] - q.mean[1]);
            let quad = inv[0][0] * dx * dx + 2.0 * inv[0][1] * dx * dy + inv[1][1] * dy * dy;
            let w = (log_norm - 0.5 * quad + cell).exp();
            if w > 0.0 {
                mass += w;
                sum += w * lj;
            }
        }
        if mass < 0.9 { f64::NEG_INFINITY } else { sum / mass + q.entropy() }
    }
}

fn inverse(m: [[f64; 2]; 2]) -> Option<[[f64; 2]; 2]> {
    let d = det(m);
    (d > 0.0 && d.is_finite()).then(|| [[m[1][1] / d, -m[0][1] / d], [-m[1][0] / d, m[0][0] / d]])
}

/// A grid in q's own whitened coordinates (±FRAME_HALF of its σ, FRAME_SIDE points a side), for
/// sums under Gaussians near q.
fn frame(joint: &mut Joint, q: &Gaussian2) -> Result<Region, Halt> {
    let l = q.cholesky().ok_or(BoundError::NoPosterior(q.cov[0][0].sqrt(), q.cov[1][1].sqrt()))?;
    let mut region = Region { centre: q.mean, l, half: FRAME_HALF, n: FRAME_SIDE, values: Vec::new() };
    let points: Vec<f64> = (0..FRAME_SIDE * FRAME_SIDE).flat_map(|k| region.point(k % FRAME_SIDE, k / FRAME_SIDE)).collect();
    region.values = joint.at(&points)?;
    Ok(region)
}

/// ELBO(q) = E_q[log p(x, z)] + H(q), the expectation on a grid in q's own whitened coordinates
/// (EXPECTATION_SIDE² points over ±EXPECTATION_HALF σ, weighted by the standard normal density).
fn expected_elbo(joint: &mut Joint, q: &Gaussian2) -> Result<f64, Halt> {
    let l = q.cholesky().ok_or(BoundError::NoPosterior(q.cov[0][0].sqrt(), q.cov[1][1].sqrt()))?;
    let n = EXPECTATION_SIDE;
    let step = 2.0 * EXPECTATION_HALF / (n - 1) as f64;
    let mut points = Vec::with_capacity(2 * n * n);
    let mut weights = Vec::with_capacity(n * n);
    for k in 0..n * n {
        let (u, v) = (-EXPECTATION_HALF + (k % n) as f64 * step, -EXPECTATION_HALF + (k / n) as f64 * step);
        points.extend([q.mean[0] + l[0][0] * u, q.mean[1] + l[1][0] * u + l[1][1] * v]);
        weights.push((-0.5 * (u * u + v * v)).exp());
    }
    let total: f64 = weights.iter().sum();
    let values = joint.at(&points)?;
    let expectation: f64 = values.iter().zip(&weights).map(|(v, w)| if *w > 0.0 { v * w } else { 0.0 }).sum::<f64>() / total;
    Ok(expectation + q.entropy())
}

/// The best Gaussian for this image (diagonal, or full with `full`): the one maximising the ELBO,
/// i.e. minimising KL(q ‖ p(z|x)), found by Newton's method on the region points from several
/// starts (the posterior's moments and each mode's peak, precision-matched, and `fallback`); its ELBO is then
/// integrated on its own grid. `fallback` (the encoder's q, or q\* for q\*\*) is in the family,
/// so the result is never worse than it.
fn best_gaussian(
    joint: &mut Joint,
    points: &RegionPoints,
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
    // The best of the starts on the regions' points (thinned: a rough search) …
    let thin = points.thinned(ROUGH_POINTS);
    let mut rough: Option<(f64, Gaussian2)> = None;
    for start in starts.iter().chain([fallback]) {
        let Some(q) = joint.optimum(search_key(0, start, full), || maximise(&thin, start, full))? else { continue };
        let value = thin.elbo(&q);
        if rough.is_none_or(|(best, _)| value > best) {
            rough = Some((value, q));
        }
    }
    let Some((_, rough)) = rough else { return Ok((*fallback, fallback_elbo)) };
    // … polished on a grid of its own: the regions' grids follow the posterior's shape, and the
    // best diagonal Gaussian for a tilted posterior is narrower than it across, so it falls
    // between their points.
    let own = RegionPoints::new(&[frame(joint, &rough)?]);
    let found = joint.optimum(search_key(1, &rough, full), || maximise(&own, &rough, full))?.unwrap_or(rough);
    let elbo = expected_elbo(joint, &found)?;
    // The fallback is in the family: the best found is never worse than it.
    Ok(if elbo > fallback_elbo { (found, elbo) } else { (*fallback, fallback_elbo) })
}

/// Names a Newton search: which points (`stage`), its start, and the family.
fn search_key(stage: u64, start: &Gaussian2, full: bool) -> Vec<u64> {
    let [[a, b], [_, c]] = start.cov;
    [stage, u64::from(full)].into_iter().chain([start.mean[0], start.mean[1], a, b, c].map(f64::to_bits)).collect()
}

/// Newton's method on the Gaussian's parameters, relative to `start` (mean = m₀ + L₀ a; factor
/// L₀·T, T lower triangular with diagonal e^b; a diagonal Gaussian keeps T diagonal).
fn maximise(points: &RegionPoints, start: &Gaussian2, full: bool) -> Option<Gaussian2> {
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
    let objective = |p: &[f64; 5]| points.elbo(&gaussian(p));
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn log_sum_exp_is_stable() {
        assert!((log_sum_exp(&[1000.0, 1000.0]) - (1000.0 + 2f64.ln())).abs() < 1e-12);
        assert_eq!(log_sum_exp(&[f64::NEG_INFINITY]), f64::NEG_INFINITY);
    }
}
