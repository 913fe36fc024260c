//! The quadrature of `vae_core::bound` against a model whose posterior is known in closed form:
//! a linear-Gaussian decoder p(x|z) = N(Wz + b, s²I) under the prior N(0, I). Its posterior is
//! N(m, Λ⁻¹) with Λ = I + WᵀW/s², m = Λ⁻¹Wᵀ(x − b)/s², and p(x) = N(b, s²I + WWᵀ).

use vae_core::bound::quadrature::Method;
use vae_core::bound::{BoundError, COARSE_SIDE, Gaussian2, coarse_points, exact_bound};
use vae_core::latent::log_prior_f64;

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// A linear-Gaussian model whose posterior is narrow (σ of a few hundredths, like a trained VAE's)
/// and tilted (correlation ≈ −0.5), and one observation of it.
struct LinearGaussian {
    w: Vec<[f64; 2]>,
    b: Vec<f64>,
    s: f64,
    x: Vec<f64>,
}

/// log p(x, z) on the bound's coarse grid, as a model's precomputed decoder outputs give it (the
/// trainer and the page make these once per model, so they are not an image's evaluations).
fn coarse_of(likelihood: &dyn Fn(&[f64]) -> Vec<f64>) -> Option<(usize, Vec<f64>)> {
    let points = coarse_points(COARSE_SIDE);
    let values = likelihood(&points).iter().zip(points.chunks_exact(2)).map(|(l, z)| l + log_prior_f64([z[0], z[1]])).collect();
    Some((COARSE_SIDE, values))
}

impl LinearGaussian {
    /// Tilted (correlation ≈ −0.5) and a few hundredths wide, like a trained VAE's posterior.
    fn new() -> Self {
        Self::with_weights(vec![[120.0, 96.0], [80.0, 72.0], [40.0, 24.0], [20.0, 32.0], [-32.0, -20.0], [56.0, 48.0]])
    }

    /// Round and far narrower: σ ≈ 0.004.
    fn narrow() -> Self {
        Self::with_weights(vec![[150.0, 0.0], [0.0, 150.0], [120.0, 10.0], [-10.0, 130.0], [100.0, -20.0], [30.0, 110.0]])
    }

    fn with_weights(w: Vec<[f64; 2]>) -> Self {
        let b = vec![0.5, -1.0, 0.2, 0.0, 1.0, -0.3];
        let z0 = [0.7, -1.1];
        let noise = [0.3, -0.5, 0.8, 0.1, -0.2, 0.4];
        let x = w.iter().zip(&b).zip(noise).map(|((w, b), e)| w[0] * z0[0] + w[1] * z0[1] + b + e).collect();
        Self { w, b, s: 1.0, x }
    }

    fn log_likelihood(&self, zs: &[f64]) -> Vec<f64> {
        let d = self.x.len() as f64;
        zs.chunks_exact(2)
            .map(|z| {
                let sq: f64 = self.w.iter().zip(&self.b).zip(&self.x).map(|((w, b), x)| (x - w[0] * z[0] - w[1] * z[1] - b).powi(2)).sum();
                -0.5 * sq / (self.s * self.s) - d * (self.s.ln() + 0.5 * LN_2PI)
            })
            .collect()
    }

    /// The precision Λ = I + WᵀW/s² of the posterior.
    fn precision(&self) -> [[f64; 2]; 2] {
        let s2 = self.s * self.s;
        let mut p = [[1.0, 0.0], [0.0, 1.0]];
        for w in &self.w {
            for i in 0..2 {
                for j in 0..2 {
                    p[i][j] += w[i] * w[j] / s2;
                }
            }
        }
        p
    }

    fn posterior(&self) -> Gaussian2 {
        let cov = inverse(self.precision());
        let s2 = self.s * self.s;
        let mut r = [0.0, 0.0];
        for ((w, b), x) in self.w.iter().zip(&self.b).zip(&self.x) {
            r[0] += w[0] * (x - b) / s2;
            r[1] += w[1] * (x - b) / s2;
        }
        Gaussian2 { mean: [cov[0][0] * r[0] + cov[0][1] * r[1], cov[1][0] * r[0] + cov[1][1] * r[1]], cov }
    }

    /// log N(x; b, s²I + WWᵀ) through the matrix determinant lemma and Woodbury:
    /// log p(x) = log p(x|m) + log p(m) − log N(m; m, Λ⁻¹) (exact for a Gaussian joint).
    fn log_px(&self) -> f64 {
        let post = self.posterior();
        let m = post.mean;
        self.log_likelihood(&m)[0] + (-0.5 * (m[0] * m[0] + m[1] * m[1]) - LN_2PI) - (-LN_2PI - 0.5 * det(post.cov).ln())
    }
}

fn det(m: [[f64; 2]; 2]) -> f64 {
    m[0][0] * m[1][1] - m[0][1] * m[1][0]
}

fn inverse(m: [[f64; 2]; 2]) -> [[f64; 2]; 2] {
    let d = det(m);
    [[m[1][1] / d, -m[0][1] / d], [-m[1][0] / d, m[0][0] / d]]
}

/// KL(q ‖ p) between 2-D Gaussians.
fn kl(q: &Gaussian2, p: &Gaussian2) -> f64 {
    let pi = inverse(p.cov);
    let trace = (0..2).map(|i| (0..2).map(|j| pi[i][j] * q.cov[j][i]).sum::<f64>()).sum::<f64>();
    let d = [q.mean[0] - p.mean[0], q.mean[1] - p.mean[1]];
    let quad = (0..2).map(|i| (0..2).map(|j| d[i] * pi[i][j] * d[j]).sum::<f64>()).sum::<f64>();
    0.5 * (trace + quad - 2.0 + (det(p.cov) / det(q.cov)).ln())
}

#[test]
fn a_narrow_round_posterior_is_integrated_exactly_by_the_rule_in_a_few_hundred_evaluations() {
    let model = LinearGaussian::narrow();
    let post = model.posterior();
    assert!(post.cov[0][0].sqrt() < 0.006 && post.correlation().abs() < 0.2, "the test posterior is narrow and round: {post:?}");
    let encoder = Gaussian2::diagonal([post.mean[0] + 0.01, post.mean[1] - 0.01], [0.02, 0.03]);
    let likelihood = |zs: &[f64]| model.log_likelihood(zs);
    let bound = exact_bound(&likelihood, encoder, coarse_of(&likelihood)).expect("a bound");
    let exact = model.log_px();
    assert!((bound.log_px - exact).abs() <= 1e-6 * exact.abs(), "log p(x): quadrature {} vs closed form {exact}", bound.log_px);
    assert_eq!(bound.methods, [Method::Quadrature], "{bound:?}");
    assert!(bound.evaluations <= 1000, "{} evaluations", bound.evaluations);
    assert!(bound.sure);
}

#[test]
fn quadrature_matches_the_closed_form_of_a_linear_gaussian_model() {
    let model = LinearGaussian::new();
    let post = model.posterior();
    assert!(post.cov[0][0].sqrt() < 0.05 && post.correlation().abs() > 0.3, "the test posterior is narrow and tilted: {post:?}");
    // The encoder's q: near the posterior, but off by half a σ and too wide.
    let sd = [post.cov[0][0].sqrt(), post.cov[1][1].sqrt()];
    let encoder = Gaussian2::diagonal([post.mean[0] + 0.5 * sd[0], post.mean[1] - 0.3 * sd[1]], [1.3 * sd[0], 0.9 * sd[1]]);
    let likelihood = |zs: &[f64]| model.log_likelihood(zs);
    let bound = exact_bound(&likelihood, encoder, coarse_of(&likelihood)).expect("a bound");

    let exact = model.log_px();
    assert!((bound.log_px - exact).abs() <= 1e-6 * exact.abs(), "log p(x): quadrature {} vs closed form {exact}", bound.log_px);
    assert!(bound.log_px_error < 1e-3, "error estimate {}", bound.log_px_error);
    assert_eq!(bound.methods, [Method::Quadrature], "settled by the rule: {bound:?}");
    assert!(bound.evaluations <= 1000, "a few hundred evaluations, not {}", bound.evaluations);
    // q** recovers the posterior itself; its ELBO is log p(x).
    #[allow(clippy::needless_range_loop)] // a covariance's entries by their indices
    for i in 0..2 {
        assert!((bound.best_full.mean[i] - post.mean[i]).abs() < 1e-3 * sd[i], "q** mean {:?} vs {:?}", bound.best_full.mean, post.mean);
        for j in 0..2 {
            let scale = (post.cov[i][i] * post.cov[j][j]).sqrt();
            assert!(
                (bound.best_full.cov[i][j] - post.cov[i][j]).abs() < 1e-3 * scale,
                "q** cov {:?} vs {:?}",
                bound.best_full.cov,
                post.cov
            );
        }
    }
    assert!(bound.full_covariance_gain() > 0.0);
    // q* is the diagonal Gaussian with the posterior's mean and σᵢ² = 1/Λᵢᵢ; the approximation
    // gap is its KL from the posterior.
    let precision = model.precision();
    let q_star = Gaussian2::diagonal(post.mean, [1.0 / precision[0][0].sqrt(), 1.0 / precision[1][1].sqrt()]);
    let approximation = kl(&q_star, &post);
    assert!(approximation > 0.05, "a tilted posterior costs a diagonal q something: {approximation}");
    assert!(
        (bound.approximation_gap() - approximation).abs() < 1e-3,
        "approximation gap {} vs KL {}",
        bound.approximation_gap(),
        approximation
    );
    // The encoder's gap is KL(q_enc ‖ p); the amortization gap is the rest.
    assert!((bound.gap() - kl(&encoder, &post)).abs() < 1e-3, "gap {} vs KL {}", bound.gap(), kl(&encoder, &post));
    assert!((bound.amortization_gap() - (kl(&encoder, &post) - approximation)).abs() < 2e-3);
    assert!((bound.gap() - bound.approximation_gap() - bound.amortization_gap()).abs() < 1e-12, "the two gaps sum to the gap");
}

#[test]
fn a_posterior_far_from_the_encoder_and_a_second_mode_are_both_found() {
    // p(x|z) with two separated peaks of equal height: the posterior has two modes, and the
    // encoder's q sits on neither.
    let peak = |z: &[f64], c: [f64; 2]| -0.5 * (((z[0] - c[0]) / 0.03).powi(2) + ((z[1] - c[1]) / 0.05).powi(2));
    let likelihood = |zs: &[f64]| {
        zs.chunks_exact(2)
            .map(|z| {
                let (a, b) = (peak(z, [1.0, 0.5]), peak(z, [-0.8, -1.2]));
                a.max(b) + ((a - a.max(b)).exp() + (b - a.max(b)).exp()).ln()
            })
            .collect()
    };
    let encoder = Gaussian2::diagonal([0.0, 0.0], [0.2, 0.2]);
    let bound = exact_bound(&likelihood, encoder, coarse_of(&likelihood)).expect("a bound");
    // Closed form: Σ over peaks of ∫ e^{peak} N(z; 0, I) ≈ each a Gaussian product.
    // Per dimension, ∫ exp(−(z − c)²/2s²) N(z; 0, 1) dz = √(s²/(1 + s²)) · exp(−c²/2(1 + s²)).
    let one = |c: [f64; 2], s: [f64; 2]| -> f64 {
        (0..2).map(|i| 0.5 * (s[i] * s[i] / (1.0 + s[i] * s[i])).ln() - 0.5 * c[i] * c[i] / (1.0 + s[i] * s[i])).sum::<f64>()
    };
    let (a, b) = (one([1.0, 0.5], [0.03, 0.05]), one([-0.8, -1.2], [0.03, 0.05]));
    let expected = a.max(b) + ((a - a.max(b)).exp() + (b - a.max(b)).exp()).ln();
    assert!(bound.modes >= 2, "both modes found: {bound:?}");
    assert!((bound.log_px - expected).abs() <= 1e-6 * expected.abs(), "log p(x) {} vs {}", bound.log_px, expected);
    assert!(bound.sure, "every coarse maximum in reach climbed");
    // The same without the coarse pass given: decoded by the bound itself.
    let decoded = exact_bound(&likelihood, encoder, None).expect("a bound");
    assert!((decoded.log_px - expected).abs() <= 1e-6 * expected.abs(), "{decoded:?}");
    assert!(bound.amortization_gap() >= 0.0 && bound.approximation_gap() > 0.5, "one Gaussian cannot cover two modes: {bound:?}");
}

#[test]
fn a_likelihood_that_is_nan_is_an_error_not_a_figure() {
    let likelihood = |zs: &[f64]| zs.chunks_exact(2).map(|_| f64::NAN).collect();
    let err = exact_bound(&likelihood, Gaussian2::diagonal([0.0, 0.0], [0.1, 0.1]), None).expect_err("NaN is refused");
    assert!(matches!(err, BoundError::NotFinite(..)));
    let flat = |zs: &[f64]| zs.chunks_exact(2).map(|_| 0.0).collect();
    assert!(matches!(exact_bound(&flat, Gaussian2::diagonal([0.0, 0.0], [0.0, 0.1]), None), Err(BoundError::NoPosterior(..))));
    // A flat likelihood: the posterior is the prior, log p(x) = 0.
    let bound = exact_bound(&flat, Gaussian2::diagonal([0.3, 0.0], [0.5, 0.5]), None).expect("a bound");
    assert!(bound.log_px.abs() < 1e-3, "{bound:?}");
}

#[test]
fn optimising_q_climbs_from_the_encoders_q_to_q_star_and_never_past_log_px() {
    use vae_core::bound::ascent::{Ascent, MAX_STEPS};
    let model = LinearGaussian::new();
    let post = model.posterior();
    let likelihood = |zs: &[f64]| model.log_likelihood(zs);
    let sd = [post.cov[0][0].sqrt(), post.cov[1][1].sqrt()];
    // The encoder's q: three σ off and too wide on one axis, too narrow on the other.
    let start = ([post.mean[0] + 3.0 * sd[0], post.mean[1] - 2.0 * sd[1]], [2.5 * sd[0], 0.4 * sd[1]]);
    let mut ascent = Ascent::new(&likelihood, start.0, start.1).expect("a start");
    let encoder_elbo = model.log_px() - kl(&Gaussian2::diagonal(start.0, start.1), &post);
    assert!(
        (ascent.elbo - encoder_elbo).abs() < 1e-6 * encoder_elbo.abs(),
        "the start's ELBO {} vs closed form {encoder_elbo}",
        ascent.elbo
    );
    let mut trace = vec![ascent.elbo];
    while !ascent.done {
        ascent.step(&likelihood).expect("a step");
        trace.push(ascent.elbo);
    }
    let precision = model.precision();
    let q_star = Gaussian2::diagonal(post.mean, [1.0 / precision[0][0].sqrt(), 1.0 / precision[1][1].sqrt()]);
    let best = model.log_px() - kl(&q_star, &post);
    assert!(trace.windows(2).all(|w| w[1] >= w[0] - 1e-9), "the ELBO never falls: {trace:?}");
    assert!((ascent.elbo - best).abs() < 0.01, "ended at {} nats, ELBO(q*) is {best} ({} steps)", ascent.elbo, ascent.steps);
    assert!(ascent.elbo <= model.log_px() + 1e-9, "above log p(x)");
    assert!(ascent.steps < MAX_STEPS, "converged, in {} steps and {} evaluations", ascent.steps, ascent.evaluations);
    let q = ascent.gaussian();
    for ((mean, best), sd) in q.mean.iter().zip(q_star.mean).zip(sd) {
        assert!((mean - best).abs() < 0.05 * sd, "mean {:?} vs q* {:?}", q.mean, q_star.mean);
    }
}
