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
//! How the mass is found ([`search`]): a trained VAE's posteriors are a few hundredths wide, so no
//! grid fixed to the plane resolves them. The search climbs from the encoder's μ and from every
//! local maximum of a coarse pass over the prior within 40 nats of its best (a quadratic fitted to
//! log p(x, z) on a shrinking 5×5 stencil), and says it could not be sure it found every mode when
//! there were more maxima than it climbs. How it is integrated ([`quadrature`]): each mode's share
//! of p(x) by adaptive Gauss–Hermite quadrature in the mode's own whitened coordinates at two
//! orders (so a tilted or narrow posterior costs no more than a round one); where the two disagree,
//! by a grid grown until its edges carry no mass. The best Gaussians ([`best`]) are Newton searches
//! on the quadrature's nodes. The error estimate is the change of log p(x) between the two orders
//! (or the grid at twice its step); [`reference`] is an independent dense check.
//!
//! The module takes log p(x|z) as a function, so it is tested on a linear-Gaussian decoder whose
//! posterior and log p(x) are known in closed form; [`log_likelihood_of`] is the one for the
//! models' decoder (Bernoulli or Gaussian pixels).

pub mod ascent;
mod best;
pub mod quadrature;
pub mod reference;
mod search;

use crate::fast::FastDecoder;
use crate::latent::log_prior_f64;
use crate::loss::Likelihood;
use crate::numeric::LOG_2PI;
pub use crate::numeric::log_sum_exp;
use best::Integrated;
use quadrature::Method;

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
    /// How far log p(x) is from the coarser rule that checked it (the grid at twice the step
    /// beside the Gauss–Hermite rule, or a grid's own at twice its step; the rule's lower order
    /// in a draft): its error is usually well below this.
    pub log_px_error: f64,
    /// The encoder's ELBO, ELBO(q_encoder), by quadrature.
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
    /// Separate modes of the posterior found (shares integrated).
    pub modes: usize,
    /// How each mode's share of p(x) was settled, heaviest mode first.
    pub methods: Vec<Method>,
    /// Decoder evaluations spent.
    pub evaluations: usize,
    /// Whether the search is sure it found every mode holding mass (see [`exact_bound`]).
    pub sure: bool,
    /// Whether these are a draft: each share taken from the Gauss–Hermite rule unchecked (a
    /// job's first answer, see [`ExactJob::with_draft`]; within a few hundredths of a nat).
    pub draft: bool,
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
/// Coarse maxima climbed at most, besides the encoder's μ: where more are left, the bound says it
/// could not be sure it found every mode.
const MAX_CLIMBS: usize = 8;

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
    range: f64,
}

impl CoarseLogits {
    /// Decodes a coarse grid of `side` points a side over ±COARSE_RANGE ([`COARSE_SIDE`] for
    /// the trainer; the page uses fewer, to keep memory small).
    pub fn new(decoder: &FastDecoder, likelihood: Likelihood, side: usize) -> Self {
        Self::over(decoder, likelihood, side, COARSE_RANGE)
    }

    /// The same over ±`range` (the dense reference's wider grid; the bound's is ±COARSE_RANGE).
    pub fn over(decoder: &FastDecoder, likelihood: Likelihood, side: usize, range: f64) -> Self {
        let points = grid_points(side.max(3), range);
        let z32: Vec<f32> = points.iter().map(|&v| v as f32).collect();
        let logits = decoder.decode_logits(&z32);
        let pixels = decoder.output_dim();
        let (slopes, offsets): (Vec<f32>, Vec<f64>) = match likelihood {
            Likelihood::Bernoulli => {
                let softplus =
                    logits.chunks_exact(pixels).map(|l| l.iter().map(|&v| (v as f64).max(0.0) + (-(v as f64).abs()).exp().ln_1p()).sum());
                (logits.clone(), softplus.collect())
            }
            Likelihood::Gaussian { sigma_x, .. } => {
                let variance = sigma_x * sigma_x;
                let means: Vec<f64> = logits.iter().map(|&l| 1.0 / (1.0 + (-(l as f64)).exp())).collect();
                let normaliser = pixels as f64 * crate::loss::gaussian_log_normaliser(sigma_x);
                let offsets = means.chunks_exact(pixels).map(|s| s.iter().map(|v| v * v).sum::<f64>() / (2.0 * variance) + normaliser);
                (means.iter().map(|&s| (s / variance) as f32).collect(), offsets.collect())
            }
        };
        Self { points, slopes, offsets, likelihood, pixels, side: side.max(3), range }
    }

    /// The half-width of the grid, latent units.
    pub fn range(&self) -> f64 {
        self.range
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
            Likelihood::Gaussian { sigma_x, .. } => x.iter().map(|&v| v as f64 * v as f64).sum::<f64>() / (2.0 * sigma_x * sigma_x),
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
    bound_with(&mut joint, encoder, coarse, false).map_err(|halt| match halt {
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
    /// A draft is still to be answered first.
    draft: bool,
}

impl ExactJob {
    /// A job for an image whose encoder gives `encoder`; `coarse` as for [`exact_bound`].
    pub fn new(encoder: Gaussian2, coarse: Option<(usize, Vec<f64>)>) -> Self {
        Self { encoder, coarse, memo: Memo::default(), evaluations: 0, draft: false }
    }

    /// The same job answering twice: first a draft (`draft: true`: every share the rule's,
    /// unchecked, at about half the evaluations), then the bound (the draft's evaluations reused).
    /// The page shows the draft at once and the checked figures when they come.
    pub fn with_draft(mut self) -> Self {
        self.draft = true;
        self
    }

    /// Goes on with at most `budget` new evaluations of `likelihood`: the bound once done,
    /// `Ok(None)` while there is more to do.
    pub fn step(&mut self, likelihood: &dyn Fn(&[f64]) -> Vec<f64>, budget: usize) -> Result<Option<ExactBound>, BoundError> {
        let mut joint = Joint { likelihood, evaluations: self.evaluations, memo: std::mem::take(&mut self.memo), budget: budget.max(1) };
        let result = bound_with(&mut joint, self.encoder, self.coarse.clone(), self.draft);
        self.memo = joint.memo;
        self.evaluations = joint.evaluations;
        match result {
            Ok(bound) => {
                if self.draft {
                    // The best Gaussians were searched on the draft's nodes: search again on the
                    // checked ones (the decoder's values stay).
                    self.memo.optima.clear();
                    self.draft = false;
                }
                Ok(Some(bound))
            }
            Err(Halt::Budget) => Ok(None),
            Err(Halt::Failed(e)) => Err(e),
        }
    }

    /// Decoder evaluations made so far.
    pub fn evaluations(&self) -> usize {
        self.evaluations
    }
}

fn bound_with(joint: &mut Joint, encoder: Gaussian2, coarse: Option<(usize, Vec<f64>)>, draft: bool) -> Result<ExactBound, Halt> {
    let sd = [encoder.cov[0][0].sqrt(), encoder.cov[1][1].sqrt()];
    if !sd.iter().all(|s| *s > 0.0 && s.is_finite()) {
        return Err(BoundError::NoPosterior(sd[0], sd[1]).into());
    }
    let (side, coarse) = match coarse {
        Some(grid) => grid,
        None => (COARSE_SIDE, joint.at(&coarse_points(COARSE_SIDE))?),
    };
    let (modes, sure) = find_modes(joint, &encoder, side, &coarse)?;
    let shares = quadrature::integrate(joint, &modes, draft)?;
    let log_px = log_sum_exp(&shares.iter().map(|s| s.nodes.log_mass()).collect::<Vec<_>>());
    let log_px_coarser = log_sum_exp(&shares.iter().map(|s| s.coarser).collect::<Vec<_>>());
    let mut integrated = Integrated { high: quadrature::Nodes::default(), low: Some(quadrature::Nodes::default()) };
    for share in &shares {
        integrated.high.extend(&share.nodes);
        integrated.low = match (integrated.low, &share.low) {
            (Some(mut all), Some(low)) => {
                all.extend(low);
                Some(all)
            }
            _ => None,
        };
    }
    let moments = integrated.high.moments(log_px);
    let elbo = best::elbo_of(joint, &integrated, &encoder)?;
    // Starts for the best Gaussians: the whole posterior's moments and each mode's peak.
    let fits: Vec<Gaussian2> = std::iter::once(moments).chain(modes.iter().map(|m| Gaussian2 { mean: m.at, cov: m.cov })).collect();
    let (best_diagonal, elbo_best_diagonal) = best::best_gaussian(joint, &integrated, &fits, &encoder, elbo, false)?;
    let (best_full, elbo_best_full) = best::best_gaussian(joint, &integrated, &fits, &best_diagonal, elbo_best_diagonal, true)?;
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
        methods: shares.iter().map(|s| s.method).collect(),
        evaluations: joint.evaluations,
        sure,
        draft,
    })
}

/// The posterior's modes, heaviest first: climbed from the encoder's μ (at its own scale: it is
/// near a mode on most images) and from each coarse maximum within reach (a climb that reaches a known mode stops there); and whether every such maximum was
/// climbed.
fn find_modes(joint: &mut Joint, encoder: &Gaussian2, side: usize, coarse: &[f64]) -> Result<(Vec<search::Mode>, bool), Halt> {
    let step = 2.0 * COARSE_RANGE / (side - 1) as f64;
    let scale = encoder.cov[0][0].min(encoder.cov[1][1]).sqrt();
    let mut modes: Vec<search::Mode> = search::find_mode(joint, encoder.mean, scale, &[])?.into_iter().collect();
    for (climbs, (_, start)) in search::coarse_maxima(coarse, side).into_iter().enumerate() {
        if climbs == MAX_CLIMBS {
            return Ok((search::distinct_modes(modes), false));
        }
        // At a quarter of the coarse step: the peak is within a step of its coarse maximum, and a
        // wider stencil would reach over to a higher peak beside it.
        let found = search::find_mode(joint, start, step / 4.0, &modes)?;
        modes.extend(found);
    }
    Ok((search::distinct_modes(modes), true))
}

/// The points of a coarse grid of `side` points a side over ±COARSE_RANGE, `[x0, y0, …]`, row by
/// row from z₂ = −COARSE_RANGE.
pub fn coarse_points(side: usize) -> Vec<f64> {
    grid_points(side, COARSE_RANGE)
}

/// The points of a grid of `side` points a side over ±`range`, `[x0, y0, …]`, row by row.
pub fn grid_points(side: usize, range: f64) -> Vec<f64> {
    let step = 2.0 * range / (side - 1) as f64;
    (0..side * side).flat_map(|k| [-range + (k % side) as f64 * step, -range + (k / side) as f64 * step]).collect()
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

/// Solves A x = b by Gaussian elimination with partial pivoting; `None` if A is singular.
pub(super) fn solve<const N: usize>(mut a: [[f64; N]; N], mut b: [f64; N]) -> Option<[f64; N]> {
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

/// The point `centre` + L (u, v): a frame's coordinates in latent units.
fn framed(centre: [f64; 2], l: [[f64; 2]; 2], u: f64, v: f64) -> [f64; 2] {
    [centre[0] + l[0][0] * u + l[0][1] * v, centre[1] + l[1][0] * u + l[1][1] * v]
}

/// The smaller and larger eigenvalue of a symmetric 2 × 2 matrix.
fn eigen(m: [[f64; 2]; 2]) -> (f64, f64) {
    let (t, d) = (m[0][0] + m[1][1], det(m));
    let root = (0.25 * t * t - d).max(0.0).sqrt();
    (0.5 * t - root, 0.5 * t + root)
}

fn det(m: [[f64; 2]; 2]) -> f64 {
    m[0][0] * m[1][1] - m[0][1] * m[1][0]
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

fn inverse(m: [[f64; 2]; 2]) -> Option<[[f64; 2]; 2]> {
    let d = det(m);
    (d > 0.0 && d.is_finite()).then(|| [[m[1][1] / d, -m[0][1] / d], [-m[1][0] / d, m[0][0] / d]])
}
