//! A dense reference for log p(x), computed independently of the bound's search: log p(x, z) on a
//! fixed grid of step 0.05 over ±6.5, then every cell holding more than e^−[`REFERENCE_NATS`] of
//! p(x), and its neighbours, split into k × k sub-cells, k doubling per
//! cell until its mass settles to [`CELL_TOLERANCE`] of p(x). It finds every mode the fixed grid can
//! see (a peak 0.02 wide loses at most 1.5 nats between its points) and costs tens of thousands of
//! decodes an image: a check of the bound, not a way to compute it.

use super::{CoarseLogits, log_sum_exp};
use crate::latent::log_prior_f64;

/// The half-width of the reference's fixed grid: wider than the bound's coarse pass, since a
/// posterior near its edge (test image 642's mean is at z₁ = −4.6, σ 0.23) has mass beyond it;
/// the prior has e^−21 of its peak density at 6.5.
pub const REFERENCE_RANGE: f64 = 6.5;
/// Points a side of the reference's fixed grid over ±REFERENCE_RANGE (step 0.05).
pub const REFERENCE_SIDE: usize = 261;
/// Cells whose mass on the fixed grid is this many nats below p(x) are summed as they are
/// (together they hold less than 1e-3 nats); the rest are refined.
pub const REFERENCE_NATS: f64 = 18.0;
/// A cell is refined until halving its sub-cells' step moves its mass by less than this share of
/// p(x).
pub const CELL_TOLERANCE: f64 = 2e-5;
/// The finest refinement: 64 × 64 sub-cells per cell (a step of 0.0008).
const MAX_SPLIT: usize = 64;

/// log p(x) by the dense reference, with the change its last refinements made and the decodes it
/// spent.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reference {
    /// log p(x), nats.
    pub log_px: f64,
    /// How much log p(x) moved with the last halving of each cell's sub-cell step, in all.
    pub change: f64,
    /// Cells refined.
    pub cells: usize,
    /// Decoder evaluations of the refinement (the fixed grid's are shared by every image).
    pub evaluations: usize,
}

/// The reference for one image: `fixed` is the decoder's [`CoarseLogits`] on [`REFERENCE_SIDE`]
/// points a side, `likelihood` log p(x|z) at points `[x0, y0, …]`. Each cell near the mass is
/// split into k × k sub-cells (midpoint rule), k doubling per cell until its mass settles: a
/// smooth cell stops at k = 4, one with a kink of the decoder goes on.
pub fn dense_reference(fixed: &CoarseLogits, likelihood: &dyn Fn(&[f64]) -> Vec<f64>, x: &[f32]) -> Reference {
    let (side, values) = fixed.log_joint(x);
    let step = 2.0 * fixed.range() / (side - 1) as f64;
    let points = super::grid_points(side, fixed.range());
    let cell = (step * step).ln();
    let rough = log_sum_exp(&values.iter().map(|v| v + cell).collect::<Vec<_>>());
    // The cells near the mass and their neighbours (a peak narrower than a cell can sit in one
    // whose grid point lies in its tail).
    let near: Vec<bool> = values.iter().map(|v| v + cell >= rough - REFERENCE_NATS).collect();
    let refine = |k: usize| {
        let (i, j) = (k % side, k / side);
        (j.saturating_sub(1)..(j + 2).min(side)).any(|b| (i.saturating_sub(1)..(i + 2).min(side)).any(|a| near[b * side + a]))
    };
    let (refined, kept): (Vec<usize>, Vec<usize>) = (0..values.len()).partition(|&k| refine(k));
    let rest = log_sum_exp(&kept.iter().map(|&k| values[k] + cell).collect::<Vec<_>>());
    // Each refined cell's log mass at its current split (the grid point alone at first).
    let mut mass: Vec<f64> = refined.iter().map(|&k| values[k] + cell).collect();
    let mut active: Vec<usize> = (0..refined.len()).collect();
    let (mut split, mut evaluations, mut change) = (2, 0, 0.0);
    let mut total = log_sum_exp(&[mass.clone(), vec![rest]].concat());
    while !active.is_empty() && split <= MAX_SPLIT {
        let h = step / split as f64;
        let mut zs = Vec::with_capacity(2 * active.len() * split * split);
        for &c in &active {
            let (cx, cy) = (points[2 * refined[c]], points[2 * refined[c] + 1]);
            for s in 0..split * split {
                let (i, j) = ((s % split) as f64, (s / split) as f64);
                zs.extend([cx - step / 2.0 + (i + 0.5) * h, cy - step / 2.0 + (j + 0.5) * h]);
            }
        }
        evaluations += zs.len() / 2;
        let sub_cell = (h * h).ln();
        let joint: Vec<f64> =
            likelihood(&zs).iter().zip(zs.chunks_exact(2)).map(|(l, z)| l + log_prior_f64([z[0], z[1]]) + sub_cell).collect();
        let mut still = Vec::new();
        for (c, sub) in active.iter().zip(joint.chunks_exact(split * split)) {
            let now = log_sum_exp(sub);
            let moved = ((now - total).exp() - (mass[*c] - total).exp()).abs();
            mass[*c] = now;
            if moved >= CELL_TOLERANCE || split == 2 {
                still.push(*c);
            }
            if split == MAX_SPLIT || moved < CELL_TOLERANCE {
                change += moved;
            }
        }
        total = log_sum_exp(&[mass.clone(), vec![rest]].concat());
        active = still;
        split *= 2;
    }
    Reference { log_px: total, change, cells: refined.len(), evaluations }
}
