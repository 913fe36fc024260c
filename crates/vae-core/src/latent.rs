//! The geometry of the 2-D latent plane: the prior's density, grids over the plane, checked
//! points, interpolation and the codes' spread. The maps drawn over it (aggregate posterior
//! against the prior, continuity) are `eval`'s: they need the decoder. The page only maps
//! pointers to latent coordinates; every number it shows about the plane comes from Rust.

use std::ops::Range;

use crate::LATENT_DIM;

/// Latent coordinates beyond this are refused (the prior has essentially no mass there).
pub const MAX_LATENT_ABS: f32 = 1.0e3;

/// Checks latent points `[x0, y0, …]` handed in from outside (the page): whole pairs, at most
/// `max_points`, each finite and within [`MAX_LATENT_ABS`]; the error says which rule broke.
pub fn check_points(zs: &[f32], max_points: usize) -> Result<(), String> {
    if !zs.len().is_multiple_of(LATENT_DIM) {
        return Err(format!("latent points come as x,y pairs; got {} numbers", zs.len()));
    }
    if zs.len() / LATENT_DIM > max_points {
        return Err(format!("at most {max_points} latent points at once"));
    }
    for p in zs.chunks_exact(LATENT_DIM) {
        let (x, y) = (p[0], p[1]);
        if !(x.is_finite() && y.is_finite()) {
            return Err(format!("latent point ({x}, {y}) is not finite"));
        }
        if x.abs() > MAX_LATENT_ABS || y.abs() > MAX_LATENT_ABS {
            return Err(format!("latent point ({x}, {y}) is out of range (|z| ≤ {MAX_LATENT_ABS})"));
        }
    }
    Ok(())
}

use crate::numeric::LOG_2PI;

// The prior's density is written here once, in these three forms.

/// log N(z; 0, I) for a 2-D point, nats: −½‖z‖² − ln 2π (in f64: the exact bound's quadrature
/// sums many of them).
pub fn log_prior_f64(z: [f64; 2]) -> f64 {
    log_prior_rows_term(z[0] * z[0] + z[1] * z[1], 2)
}

/// [`log_prior_f64`] of an f32 point.
pub fn log_prior(z: [f32; 2]) -> f32 {
    log_prior_f64([z[0] as f64, z[1] as f64]) as f32
}

/// The prior's density p(z) = N(z; 0, I) at a 2-D point.
pub fn prior_density(z: [f32; 2]) -> f32 {
    log_prior_f64([z[0] as f64, z[1] as f64]).exp() as f32
}

/// log N(zᵢ; 0, I) of each row of `z`, nats.
///
/// # Shapes
/// - `z`: `[n, latent]`; returns `[n, 1]`
pub fn log_prior_rows(z: burn::prelude::Tensor<2>) -> burn::prelude::Tensor<2> {
    let latent = z.dims()[1];
    z.square().sum_dim(1).mul_scalar(-0.5).add_scalar(log_prior_rows_term(0.0, latent))
}

/// −½‖z‖² − (d/2)·ln 2π from ‖z‖² and the dimension d.
fn log_prior_rows_term(squared_norm: f64, dim: usize) -> f64 {
    -0.5 * squared_norm - 0.5 * LOG_2PI * dim as f64
}

/// An `n × n` grid of points over the square [c₁ − range, c₁ + range] × [c₂ − range, c₂ + range]
/// around `center`, both edges included, read row by row from the top (z₂ = c₂ + range) down and
/// left to right, the way the plane is drawn. Every grid of the page (manifold, continuity,
/// aggregate map, over the whole prior or over a zoomed window) is one of these.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatentGrid {
    /// Points per side (at least 1).
    pub n: usize,
    /// Half-width of the square the points span, latent units.
    pub range: f32,
    /// Centre of the square, latent units (the origin for a grid over the whole prior).
    pub center: [f32; 2],
}

impl LatentGrid {
    /// Largest grid side the page may ask for (128² points, a few MB of decodes at most).
    pub const MAX_SIDE: usize = 128;
    /// Largest half-width: the prior has no mass worth drawing beyond it.
    pub const MAX_RANGE: f32 = 10.0;
    /// Smallest half-width: a zoomed window's grid still has distinct f32 points near |z| ≈ 10.
    pub const MIN_RANGE: f32 = 1.0e-4;

    /// A grid centred on the origin, checked: `1 ≤ n ≤ MAX_SIDE`, `MIN_RANGE ≤ range ≤ MAX_RANGE`.
    pub fn new(n: usize, range: f32) -> Result<Self, String> {
        Self::window(n, [0.0, 0.0], range)
    }

    /// A grid over the window of half-width `range` around `center` (a zoomed view of the
    /// plane), checked as [`Self::new`] and with the centre finite and within `MAX_RANGE`.
    pub fn window(n: usize, center: [f32; 2], range: f32) -> Result<Self, String> {
        if !(1..=Self::MAX_SIDE).contains(&n) {
            return Err(format!("a latent grid has 1 to {} points per side, not {n}", Self::MAX_SIDE));
        }
        if !(range.is_finite() && (Self::MIN_RANGE..=Self::MAX_RANGE).contains(&range)) {
            return Err(format!("a latent grid spans a half-width in [{}, {}], not {range}", Self::MIN_RANGE, Self::MAX_RANGE));
        }
        if !center.iter().all(|c| c.is_finite() && c.abs() <= Self::MAX_RANGE) {
            return Err(format!("a latent grid's centre lies within ±{}, not ({}, {})", Self::MAX_RANGE, center[0], center[1]));
        }
        Ok(Self { n, range, center })
    }

    /// Distance between neighbouring points (the whole width for a 1-point grid).
    pub fn step(&self) -> f32 {
        if self.n <= 1 { 2.0 * self.range } else { 2.0 * self.range / (self.n - 1) as f32 }
    }

    /// Latent coordinate along `axis` (0: z₁, 1: z₂) of column `i` (or of row `i` counted from
    /// the bottom).
    pub fn coord(&self, axis: usize, i: usize) -> f32 {
        let offset = if self.n <= 1 { 0.0 } else { -self.range + i as f32 * self.step() };
        self.center[axis] + offset
    }

    /// The columns (or rows from the bottom) along `axis` whose coordinate lies in [lo, hi].
    pub fn indices_within(&self, axis: usize, lo: f32, hi: f32) -> Range<usize> {
        let start = self.center[axis] - self.range;
        let step = self.step();
        let first = ((lo - start) / step).ceil().max(0.0) as usize;
        let end = ((((hi - start) / step).floor() + 1.0).max(0.0) as usize).min(self.n);
        first.min(end)..end
    }

    /// The points `[x0, y0, x1, y1, …]`, rows from the top down.
    pub fn points(&self) -> Vec<f32> {
        let n = self.n;
        (0..n).flat_map(|row| (0..n).flat_map(move |col| [self.coord(0, col), self.coord(1, n - 1 - row)])).collect()
    }

    /// Half-width of the square covered when every point is the centre of a tile one step wide:
    /// a picture made from this grid (one pixel or tile per point) is drawn over the square of
    /// this half-width around `center`.
    pub fn extent(&self) -> f32 {
        self.range + self.step() / 2.0
    }
}

/// `n ≥ 2` evenly spaced points from `a` to `b`, both included, `[x0, y0, …]`.
pub fn interpolation(a: [f32; 2], b: [f32; 2], n: usize) -> Vec<f32> {
    let last = n.saturating_sub(1).max(1) as f32;
    (0..n)
        .flat_map(|i| {
            let t = i as f32 / last;
            [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]
        })
        .collect()
}

/// Mean ‖μ‖² of codes `[μ₁, μ₂, …]` (rows of at least two numbers): 2 for codes spread like the
/// prior N(0, I), more where they drift apart, less where they crowd at the origin.
pub fn mean_squared_norm<R: AsRef<[f32]>>(codes: &[R]) -> f32 {
    let sum: f64 = codes.iter().map(|c| c.as_ref()[..LATENT_DIM].iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>()).sum();
    (sum / codes.len().max(1) as f64) as f32
}

/// Mean σ over both axes of posteriors `[μ₁, μ₂, σ₁, σ₂, …]`: 1 for the prior's N(0, I), near 0
/// where the encodings shrink to points.
pub fn mean_sigma<R: AsRef<[f32]>>(codes: &[R]) -> f32 {
    let sum: f64 = codes.iter().map(|c| c.as_ref()[LATENT_DIM..2 * LATENT_DIM].iter().map(|&s| s as f64).sum::<f64>()).sum();
    (sum / (LATENT_DIM * codes.len().max(1)) as f64) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_points_run_from_the_top_left() {
        let g = LatentGrid::new(3, 2.0).expect("valid");
        assert_eq!(g.points(), vec![-2.0, 2.0, 0.0, 2.0, 2.0, 2.0, -2.0, 0.0, 0.0, 0.0, 2.0, 0.0, -2.0, -2.0, 0.0, -2.0, 2.0, -2.0]);
        assert_eq!(g.step(), 2.0);
        assert_eq!(g.extent(), 3.0);
        assert_eq!(LatentGrid::new(1, 1.0).expect("valid").points(), vec![0.0, 0.0]);
        assert!(LatentGrid::new(0, 1.0).is_err() && LatentGrid::new(4, f32::NAN).is_err() && LatentGrid::new(4, 0.0).is_err());
        assert!(LatentGrid::new(LatentGrid::MAX_SIDE + 1, 1.0).is_err());
    }

    #[test]
    fn a_window_grid_is_the_origin_grid_moved_to_its_centre() {
        let at_origin = LatentGrid::new(5, 0.02).expect("valid");
        let moved = LatentGrid::window(5, [1.5, -0.75], 0.02).expect("valid");
        let shifted: Vec<f32> = at_origin.points().chunks_exact(2).flat_map(|z| [z[0] + 1.5, z[1] - 0.75]).collect();
        for (a, b) in moved.points().iter().zip(&shifted) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        assert_eq!((moved.step(), moved.extent()), (at_origin.step(), at_origin.extent()));
        assert_eq!(moved.indices_within(0, 1.49, 1.515), 1..4);
        assert_eq!(moved.indices_within(1, 5.0, 6.0), 5..5);
        assert!(LatentGrid::window(5, [f32::NAN, 0.0], 1.0).is_err() && LatentGrid::window(5, [11.0, 0.0], 1.0).is_err());
        assert!(LatentGrid::window(5, [0.0, 0.0], LatentGrid::MIN_RANGE / 2.0).is_err());
    }

    #[test]
    fn the_log_prior_is_the_standard_normal_density() {
        let density = |z: [f32; 2]| log_prior(z).exp();
        assert!((density([0.0, 0.0]) - 1.0 / (2.0 * core::f32::consts::PI)).abs() < 1e-7);
        // Integrates to one over a wide grid.
        let g = LatentGrid::new(121, 6.0).expect("valid");
        let mass: f32 = g.points().chunks_exact(2).map(|z| density([z[0], z[1]])).sum::<f32>() * g.step() * g.step();
        assert!((mass - 1.0).abs() < 1e-3, "mass {mass}");
    }

    #[test]
    fn mean_squared_norm_of_prior_samples_is_about_two() {
        let z = crate::numeric::standard_normal_samples(20_000, 3);
        let codes: Vec<&[f32]> = z.chunks_exact(2).collect();
        assert!((mean_squared_norm(&codes) - 2.0).abs() < 0.05, "{}", mean_squared_norm(&codes));
        assert_eq!(mean_squared_norm(&[[3.0f32, 4.0, 0.1, 0.1, 7.0]]), 25.0);
    }

    #[test]
    fn interpolation_includes_both_ends() {
        assert_eq!(interpolation([0.0, 1.0], [2.0, -1.0], 3), vec![0.0, 1.0, 1.0, 0.0, 2.0, -1.0]);
    }
}
