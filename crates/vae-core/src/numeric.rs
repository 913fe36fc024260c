//! The small numeric helpers every other module stands on: a tensor's values as f32, the
//! vectorisable kernels (exp, the logistic, ln(1 + e), sums, rounding) that replace libm's scalar
//! calls in the hot loops, repeatable standard normal draws, and ln 2π. The bottom layer of
//! vae-core: it imports nothing from the crate.

use burn::prelude::*;

/// ln 2π.
pub const LOG_2PI: f64 = 1.837_877_066_409_345_5;

/// A float tensor's values as f32 (whatever its stored precision).
pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    // The CPU backends finish at once and convert any float dtype to f32, so this cannot fail.
    t.into_data().convert::<f32>().try_to_vec::<f32>().expect("a float tensor converts to f32")
}

/// The logistic function, with [`exp`].
#[inline]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// eˣ for x in [−87, 87] (clamped outside), vectorisable: range reduction to r ∈ [−ln2/2, ln2/2]
/// and a degree-6 Taylor polynomial (relative error < 2e-7), scaled by 2ⁿ through the exponent
/// bits. The libm `expf` is a scalar call per element (slow in wasm).
#[inline]
pub(crate) fn exp(x: f32) -> f32 {
    let t = x.clamp(-87.0, 87.0);
    let n = (t * std::f32::consts::LOG2_E + 0.5).floor();
    let r = t - n * 0.693_145_75 - n * 1.428_606_8e-6; // ln 2 split in two for precision
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// `x.round() as usize` for x ≥ 0 (halves away from zero), without `roundf`: wasm has no such
/// instruction, and the call per pixel was a tenth of a drawing stroke's preprocessing (and one
/// per pixel of every decoded picture).
/// `x − ⌊x⌋` is exact, so this rounds exactly as `round` does.
#[inline]
pub(crate) fn round_non_negative(x: f32) -> usize {
    let whole = x as usize;
    whole + usize::from(x - whole as f32 >= 0.5)
}

/// Σ xs in eight running sums (a vectorisable order; a plain `sum` of floats is sequential).
pub(crate) fn sum(xs: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = xs.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (a, &x) in acc.iter_mut().zip(chunk) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// ln(1 + e) for e in [0, 1], vectorisable: 2·atanh(s) with s = e / (2 + e) ≤ ⅓, a series whose
/// first dropped term is below 2e-8 of the result; no cancellation for tiny e (s ≈ e/2).
#[inline]
pub(crate) fn ln_1p_unit(e: f32) -> f32 {
    let s = e / (2.0 + e);
    let q = s * s;
    2.0 * s * (1.0 + q * (1.0 / 3.0 + q * (1.0 / 5.0 + q * (1.0 / 7.0 + q * (1.0 / 9.0 + q * (1.0 / 11.0 + q * (1.0 / 13.0)))))))
}

/// `n` draws from N(0, 1), deterministic for a given `seed` (SplitMix64 + Box–Muller).
///
/// Used where a caller needs repeatable samples without an RNG dependency (the wasm boundary:
/// the same image always gets the same ELBO readout).
pub fn standard_normal_samples(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    let mut next_uniform = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64 // in (0, 1)
    };
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        let (u1, u2) = (next_uniform(), next_uniform());
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = 2.0 * core::f64::consts::PI * u2;
        out.push((r * theta.cos()) as f32);
        out.push((r * theta.sin()) as f32);
    }
    out.truncate(n);
    out
}

/// ln Σ eˣ, −∞ for no terms.
pub fn log_sum_exp(values: &[f64]) -> f64 {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY || !max.is_finite() {
        return max;
    }
    max + values.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_matches_the_exact_one() {
        for i in -2000..=2000 {
            let x = i as f32 * 0.05;
            let exact = 1.0 / (1.0 + (-x as f64).exp());
            assert!((sigmoid(x) as f64 - exact).abs() < 2e-7, "σ({x}) = {} vs {exact}", sigmoid(x));
        }
        assert_eq!(sigmoid(1e9), 1.0);
        assert!(sigmoid(-1e9) < 1e-37);
    }

    #[test]
    fn exp_and_ln_1p_match_the_exact_ones() {
        for i in -1700..=1700 {
            let x = i as f32 * 0.05;
            let exact = (x as f64).exp();
            assert!(((exp(x) as f64 - exact) / exact).abs() < 3e-7, "exp({x}) = {} vs {exact}", exp(x));
        }
        for e in (0..=1000).map(|i| i as f32 / 1000.0).chain([1e-30, 1e-12, 3e-8, 1e-4]) {
            let exact = (e as f64).ln_1p();
            let got = ln_1p_unit(e) as f64;
            assert!((got - exact).abs() <= 2e-7 * exact.max(1e-38), "ln(1 + {e}) = {got} vs {exact}");
        }
    }

    #[test]
    fn log_sum_exp_is_stable() {
        assert!((log_sum_exp(&[1000.0, 1000.0]) - (1000.0 + 2f64.ln())).abs() < 1e-12);
        assert_eq!(log_sum_exp(&[f64::NEG_INFINITY]), f64::NEG_INFINITY);
    }
}
