//! The wasm-bindgen boundary of vae-explorer: a thin layer over `vae-core`.
//!
//! The default model's weights are embedded in the module (`include_bytes!`, chosen by
//! `weights/manifest.json`), so the first image needs no fetch and works offline and from
//! `file://`; the other models arrive as bytes ([`Explorer::from_bytes`]). Rust-side logic lives
//! in a plain `impl`; the `#[wasm_bindgen] impl` below it is the JS API, which checks every input,
//! converts types and returns a `JsError` instead of panicking. All maths is vae-core's.

use std::cell::OnceCell;

use burn::prelude::*;
use vae_core::bound::ascent::Ascent;
use vae_core::bound::{self, CoarseLogits, ExactBound, ExactJob, Gaussian2};
use vae_core::fast::FastDecoder;
use vae_core::latent::{self, LatentGrid};
use vae_core::message::js_error;
use vae_core::readout::{self, Posterior};
use vae_core::{LATENT_DIM, Vae, WeightsFile, WeightsMeta, preprocess_rgba_as};
use wasm_bindgen::prelude::*;

include!(concat!(env!("OUT_DIR"), "/default_model.rs"));

pub use vae_core::latent::MAX_LATENT_ABS;
/// Smallest standard deviation of a test posterior in the aggregate-posterior map (a kernel
/// density estimate's bandwidth), latent units: 2,000 posteriors with σ ≈ 0.05 are too few to
/// estimate a density on their own (Scott's rule for 2,000 points in 2-D gives ≈ 0.28σ_data).
pub const AGGREGATE_BANDWIDTH: f32 = 0.25;
/// Points decoded per call at most (a 400-image grid is the largest the page asks for).
pub const MAX_BATCH: usize = 16_384;
/// Columns of a tile sheet at most.
pub const MAX_TILE_COLUMNS: u32 = 64;
/// Points a side of the coarse grid the page's exact bound starts from (61² decodes, made once
/// per model: 12 MB of logits, where the trainer's 81² would be 20 MB). At 41 (a step of 0.25)
/// the search missed a lobe of test image 446's posterior (0.07 nats).
pub const PAGE_COARSE_SIDE: usize = 61;

/// One model (the embedded default or one loaded from bytes), ready to encode and decode.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Explorer {
    model: Vae,
    /// The same decoder weights on the specialised path every decode of the page takes.
    fast: FastDecoder,
    meta: WeightsMeta,
    device: Device,
    /// The decoder's logits on the exact bound's coarse grid, made on first use.
    coarse: OnceCell<CoarseLogits>,
}

impl Explorer {
    /// Loads a model from weights-file bytes.
    pub fn from_weights(bytes: &[u8]) -> Result<Self, vae_core::WeightsError> {
        let device = Device::flex();
        let file = WeightsFile::from_bytes(bytes)?;
        let model = file.load_model(&device)?;
        let fast = FastDecoder::from_vae(&model);
        Ok(Self { model, fast, meta: file.meta, device, coarse: OnceCell::new() })
    }

    /// Loads the embedded default model, asked for by `name`.
    pub fn embedded(name: &str) -> Result<Self, String> {
        let (default, bytes) = DEFAULT_MODEL;
        if name != default {
            return Err(format!("no embedded model named {name:?}: only {default:?} is compiled in; load the others from their bytes"));
        }
        Self::from_weights(bytes).map_err(|e| format!("embedded model {name:?}: {e}"))
    }

    /// What the weights file says about the model.
    pub fn meta(&self) -> &WeightsMeta {
        &self.meta
    }

    /// Decodes latent points `[x0, y0, x1, y1, …]` into `n × 784` intensities in [0, 1]
    /// (on the specialised path; burn's `Vae::decode` gives the same to 1e-5).
    pub fn decode_points(&self, zs: &[f32]) -> Vec<f32> {
        self.fast.decode(zs)
    }

    /// Posterior and ELBO readout of a preprocessed 28×28 input.
    pub fn posterior_of_pixels(&self, pixels: &[f32]) -> Posterior {
        readout::posterior(&self.model, &self.fast, self.meta.kind, self.meta.likelihood, pixels, &self.device)
    }

    /// A job computing the exact bound of the 28×28 input `pixels` (in [0, 1]) whose encoder
    /// gives N(`mu`, diag `sigma`²); an error for an AE, which defines no p(x).
    pub fn exact_job(&self, pixels: &[f32], mu: [f32; 2], sigma: [f32; 2]) -> Result<ExactJob, String> {
        if self.meta.kind != vae_core::ModelKind::Vae {
            return Err("a plain autoencoder defines no p(x): the bound needs a VAE".into());
        }
        let coarse = self.coarse.get_or_init(|| CoarseLogits::new(&self.fast, self.meta.likelihood, PAGE_COARSE_SIDE));
        let encoder = Gaussian2::diagonal([mu[0] as f64, mu[1] as f64], [sigma[0] as f64, sigma[1] as f64]);
        Ok(ExactJob::new(encoder, Some(coarse.log_joint(pixels))))
    }

    /// The exact bound of input `pixels` in one go (what the page's job makes a step at a time).
    pub fn exact_bound(&self, pixels: &[f32], mu: [f32; 2], sigma: [f32; 2]) -> Result<ExactBound, String> {
        let mut job = self.exact_job(pixels, mu, sigma)?;
        let likelihood = bound::log_likelihood_of(&self.fast, self.meta.likelihood, pixels);
        job.step(&likelihood, usize::MAX).map_err(|e| e.to_string())?.ok_or_else(|| "an unlimited job always ends".to_string())
    }

    /// log p(z|x) = log p(x|z) + log p(z) − log p(x) of input `pixels` at the points of `grid`'s
    /// rows `rows` (a band of the true posterior's picture).
    pub fn log_posterior_rows(&self, pixels: &[f32], log_px: f64, grid: &LatentGrid, rows: std::ops::Range<usize>) -> Vec<f32> {
        let points = grid.points();
        let band: Vec<f64> = points[rows.start * grid.n * LATENT_DIM..rows.end * grid.n * LATENT_DIM].iter().map(|&v| v as f64).collect();
        let likelihood = bound::log_likelihood_of(&self.fast, self.meta.likelihood, pixels);
        bound::log_posterior(&likelihood, log_px, &band).into_iter().map(|v| v as f32).collect()
    }

    /// log₂ q(z)/p(z) of the test posteriors' mixture on `grid`; an error if the file has none.
    pub fn aggregate_map(&self, grid: &LatentGrid) -> Result<Vec<f32>, String> {
        if self.meta.test_posteriors.is_empty() {
            return Err("these weights carry no test posteriors; run `trainer annotate` on them".into());
        }
        // The kernel is at least half a grid step wide, so no code falls between grid points.
        let bandwidth = AGGREGATE_BANDWIDTH.max(grid.step() / 2.0);
        Ok(vae_core::eval::aggregate_vs_prior(&self.meta.test_posteriors, grid, bandwidth))
    }
}

#[wasm_bindgen]
impl Explorer {
    /// Loads the embedded default model `name`.
    #[wasm_bindgen(constructor)]
    pub fn new(name: &str) -> Result<Explorer, JsError> {
        console_error_panic_hook::set_once();
        Self::embedded(name).map_err(|e| JsError::new(&e))
    }

    /// Loads a model from the bytes of a `.vaew` weights file; a damaged file, another format
    /// version or another architecture is a `JsError` that names the problem.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<Explorer, JsValue> {
        console_error_panic_hook::set_once();
        Self::from_weights(bytes).map_err(|e| js_error(&e))
    }

    /// The weights file's metadata (name, kind, β, architecture, test figures) as an object.
    pub fn info(&self) -> Result<JsValue, JsError> {
        serde_wasm_bindgen::to_value(&self.meta).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Decodes points `[x0, y0, x1, y1, …]` into `n × 784` intensities, one batched call.
    #[wasm_bindgen(js_name = decodeBatch)]
    pub fn decode_batch(&self, zs: &[f32]) -> Result<Vec<f32>, JsError> {
        check_points(zs)?;
        Ok(self.decode_points(zs))
    }

    /// Decodes one latent point straight into a 28×28 `ImageData` for `putImageData`.
    #[wasm_bindgen(js_name = decodeImageData)]
    pub fn decode_image_data(&self, x: f32, y: f32) -> Result<web_sys::ImageData, JsValue> {
        check_point(x, y)?;
        image_data(&self.decode_points(&[x, y]), 1)
    }

    /// Decodes points `[x0, y0, …]` into one `ImageData` of 28×28 tiles, `cols` per row.
    #[wasm_bindgen(js_name = decodeTiles)]
    pub fn decode_tiles(&self, zs: &[f32], cols: u32) -> Result<web_sys::ImageData, JsValue> {
        if cols == 0 || cols > MAX_TILE_COLUMNS {
            return Err(JsError::new(&format!("decodeTiles takes 1 to {MAX_TILE_COLUMNS} columns")).into());
        }
        if zs.is_empty() {
            return Err(JsError::new("decodeTiles needs at least one point").into());
        }
        image_data(&self.decode_batch(zs)?, cols as usize)
    }

    /// The manifold of the decoder: one decoding per point of an `n × n` grid over the window
    /// of half-width `range` around (cx, cy), as one `ImageData` (top row at z₂ = cy + range,
    /// like the plane); draw it over the square of half-width `Explorer.gridExtent(n, range)`
    /// around (cx, cy).
    #[wasm_bindgen(js_name = decodeGrid)]
    pub fn decode_grid(&self, n: u32, cx: f32, cy: f32, range: f32) -> Result<web_sys::ImageData, JsValue> {
        let grid = grid(n, cx, cy, range)?;
        if grid.n as u32 > MAX_TILE_COLUMNS {
            return Err(JsError::new(&format!("decodeGrid takes 1 to {MAX_TILE_COLUMNS} cells per side")).into());
        }
        image_data(&self.decode_points(&grid.points()), grid.n)
    }

    /// Mean ‖μ‖² of the stored test posteriors: 2 for codes spread like N(0, I), more for codes
    /// that drift apart (a plain AE's); 0 when the file stores none.
    #[wasm_bindgen(js_name = meanSquaredNorm)]
    pub fn mean_squared_norm(&self) -> f32 {
        latent::mean_squared_norm(&self.meta.test_posteriors)
    }

    /// Posteriors of a sample of the test set, flattened `[μ₁, μ₂, σ₁, σ₂, label, …]`
    /// (empty when the weights file carries none).
    #[wasm_bindgen(js_name = testPosteriors)]
    pub fn test_posteriors(&self) -> Vec<f32> {
        self.meta.test_posteriors.iter().flatten().copied().collect()
    }

    /// log₂ q(z)/p(z): the aggregate posterior (the mixture of the test posteriors) against
    /// the prior at the points of an `n × n` grid over the window of half-width `range` around
    /// (cx, cy), rows from the top. Positive where codes crowd, negative in holes the prior still
    /// samples from, NaN where both densities are negligible.
    #[wasm_bindgen(js_name = aggregateVsPrior)]
    pub fn aggregate_vs_prior(&self, n: u32, cx: f32, cy: f32, range: f32) -> Result<Vec<f32>, JsError> {
        self.aggregate_map(&grid(n, cx, cy, range)?).map_err(|e| JsError::new(&e))
    }

    /// How fast the decoded image changes (mean |Δpixel| per latent unit, averaged over the
    /// right and upward neighbour) at each point of an `n × n` grid over the window of
    /// half-width `range` around (cx, cy).
    #[wasm_bindgen(js_name = continuityMap)]
    pub fn continuity_map(&self, n: u32, cx: f32, cy: f32, range: f32) -> Result<Vec<f32>, JsError> {
        let grid = grid(n, cx, cy, range)?;
        Ok(vae_core::eval::continuity_map_rows(&self.fast, &grid, 0..grid.n))
    }

    /// [`Self::continuity_map`] of `rows` grid rows from row `first_row` (from the top) only:
    /// the page makes the map a band at a time, between frames.
    #[wasm_bindgen(js_name = continuityMapRows)]
    pub fn continuity_map_rows(&self, n: u32, cx: f32, cy: f32, range: f32, first_row: u32, rows: u32) -> Result<Vec<f32>, JsError> {
        let grid = grid(n, cx, cy, range)?;
        let (first, end) = (first_row as usize, first_row as usize + rows as usize);
        if rows == 0 || end > grid.n {
            return Err(JsError::new(&format!("rows {first}..{end} are not inside a grid of {} rows", grid.n)));
        }
        Ok(vae_core::eval::continuity_map_rows(&self.fast, &grid, first..end))
    }

    /// Half-width of the square a picture made from an `n × n` grid of half-width `range`
    /// covers around the grid's centre (one tile or pixel per point, centred on it).
    #[wasm_bindgen(js_name = gridExtent)]
    pub fn grid_extent(n: u32, range: f32) -> Result<f32, JsError> {
        Ok(grid(n, 0.0, 0.0, range)?.extent())
    }

    /// The prior's density p(z) = N(z; 0, I) at (x, y).
    #[wasm_bindgen(js_name = priorDensity)]
    pub fn prior_density(x: f32, y: f32) -> Result<f32, JsError> {
        check_point(x, y)?;
        Ok(latent::prior_density([x, y]))
    }

    /// `n` evenly spaced points on the segment from a to b (both ends included), `[x0, y0, …]`.
    pub fn interpolate(ax: f32, ay: f32, bx: f32, by: f32, n: u32) -> Result<Vec<f32>, JsError> {
        check_point(ax, ay)?;
        check_point(bx, by)?;
        if !(2..=MAX_TILE_COLUMNS).contains(&n) {
            return Err(JsError::new(&format!("interpolate takes 2 to {MAX_TILE_COLUMNS} points")));
        }
        Ok(latent::interpolation([ax, ay], [bx, by], n as usize))
    }

    /// `n` points drawn from the prior N(0, I), `[x0, y0, x1, y1, …]`, repeatable by `seed`.
    #[wasm_bindgen(js_name = samplePrior)]
    pub fn sample_prior(n: u32, seed: u32) -> Result<Vec<f32>, JsError> {
        if n as usize > MAX_BATCH {
            return Err(JsError::new(&format!("samplePrior draws at most {MAX_BATCH} points")));
        }
        Ok(vae_core::numeric::standard_normal_samples(n as usize * LATENT_DIM, seed as u64))
    }

    /// Test image `n` of a dataset pack (`datasets/mnist.vaed.gz`, decompressed): its 784 grey
    /// levels, rows from the top (the page shows the test images its figures name).
    #[wasm_bindgen(js_name = packTestImage)]
    pub fn pack_test_image(pack: &[u8], n: u32) -> Result<Vec<u8>, JsValue> {
        let pack = vae_core::pack::DataPack::from_bytes(pack).map_err(|e| js_error(&e))?;
        let count = pack.test.labels.len();
        let n = n as usize;
        if n >= count {
            return Err(JsError::new(&format!("test image {n} is not in the pack, which holds the first {count}")).into());
        }
        Ok(pack.test.images[n * vae_core::IMAGE_PIXELS..(n + 1) * vae_core::IMAGE_PIXELS].to_vec())
    }

    /// Preprocesses an RGBA image the way the model's dataset was made and returns its posterior and ELBO readout
    /// (`{mu, sigma, recon, kl, elbo, iwae, input, reconstruction, samples, inverted}`).
    #[wasm_bindgen(js_name = encodeImage)]
    pub fn encode_image(&self, rgba: &[u8], width: u32, height: u32) -> Result<JsValue, JsValue> {
        let pre = preprocess_rgba_as(rgba, width as usize, height as usize, self.meta.preprocessing()).map_err(|e| js_error(&e))?;
        let mut posterior = self.posterior_of_pixels(&pre.pixels);
        posterior.inverted = pre.inverted;
        Ok(serde_wasm_bindgen::to_value(&posterior)?)
    }

    /// Starts the exact bound of a preprocessed 28×28 input (`input`, 784 intensities in [0, 1],
    /// as `encodeImage` returns it) whose encoder posterior is N(μ, diag σ²): a job to step
    /// between frames (`ExactBoundJob.step`). A `JsError` for an AE or a bad input.
    #[wasm_bindgen(js_name = exactBoundJob)]
    pub fn exact_bound_job(&self, input: &[f32], mu0: f32, mu1: f32, sigma0: f32, sigma1: f32) -> Result<ExactBoundJob, JsError> {
        check_input(input)?;
        if ![mu0, mu1, sigma0, sigma1].iter().all(|v| v.is_finite()) || sigma0 <= 0.0 || sigma1 <= 0.0 {
            return Err(JsError::new("the exact bound needs a finite μ and a positive σ"));
        }
        let job = self.exact_job(input, [mu0, mu1], [sigma0, sigma1]).map_err(|e| JsError::new(&e))?.with_draft();
        Ok(ExactBoundJob { job, input: input.to_vec() })
    }

    /// Starts optimising a diagonal Gaussian q for the preprocessed input `input` from the
    /// encoder's N(μ, diag σ²) towards q\* (vae-core's `Ascent`): a job to step between frames
    /// (`OptimiseJob.step`). A `JsError` for an AE or a bad input.
    #[wasm_bindgen(js_name = optimiseJob)]
    pub fn optimise_job(&self, input: &[f32], mu0: f32, mu1: f32, sigma0: f32, sigma1: f32) -> Result<OptimiseJob, JsError> {
        check_input(input)?;
        if self.meta.kind != vae_core::ModelKind::Vae {
            return Err(JsError::new("a plain autoencoder has no q(z|x) to optimise: choose a VAE"));
        }
        let (mean, sigma) = ([mu0 as f64, mu1 as f64], [sigma0 as f64, sigma1 as f64]);
        if !mean.iter().all(|v| v.is_finite()) {
            return Err(JsError::new("optimising q needs a finite μ"));
        }
        let likelihood = bound::log_likelihood_of(&self.fast, self.meta.likelihood, input);
        let ascent = Ascent::new(&likelihood, mean, sigma).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(OptimiseJob { ascent, input: input.to_vec() })
    }

    /// log p(z|x) of `input` at `rows` grid rows from `firstRow` (from the top) of an `n × n` grid
    /// over the window of half-width `range` around (cx, cy), given its `logPx`: a band of the
    /// true posterior's picture.
    #[wasm_bindgen(js_name = logPosteriorRows)]
    #[allow(clippy::too_many_arguments)] // the window and the band, as the continuity map's
    pub fn log_posterior_rows_js(
        &self,
        input: &[f32],
        log_px: f64,
        n: u32,
        cx: f32,
        cy: f32,
        range: f32,
        first_row: u32,
        rows: u32,
    ) -> Result<Vec<f32>, JsError> {
        check_input(input)?;
        let grid = grid(n, cx, cy, range)?;
        let (first, end) = (first_row as usize, first_row as usize + rows as usize);
        if rows == 0 || end > grid.n || !log_px.is_finite() {
            return Err(JsError::new(&format!("rows {first}..{end} of a grid of {} rows, with a finite log p(x)", grid.n)));
        }
        Ok(self.log_posterior_rows(input, log_px, &grid, first..end))
    }
}

/// The benchmark's peer, in bench builds only (`--features bench`): the production page never
/// ships it.
#[cfg(feature = "bench")]
#[wasm_bindgen]
impl Explorer {
    /// `decodeBatch` on burn's generic tensor path instead of the specialised one: the peer the
    /// benchmark measures the fast path against, in the same page and run.
    #[wasm_bindgen(js_name = decodeBatchReference)]
    pub fn decode_batch_reference(&self, zs: &[f32]) -> Result<Vec<f32>, JsError> {
        check_points(zs)?;
        Ok(readout::decode_points(&self.model, zs, &self.device))
    }
}

/// One image's exact bound, computed a step at a time (vae-core's `ExactJob`).
#[wasm_bindgen]
#[derive(Debug)]
pub struct ExactBoundJob {
    job: ExactJob,
    input: Vec<f32>,
}

#[wasm_bindgen]
impl ExactBoundJob {
    /// Goes on with at most `budget` decoder evaluations of `explorer` (the model that made the
    /// job): the bound (nats: `log_px`, `elbo`, `gap`, `approximation_gap`, `amortization_gap`,
    /// `full_covariance_gain`, the Gaussians `encoder`, `best_diagonal`, `best_full`,
    /// `posterior_moments` as `{mean, cov}`, …) when an answer is ready — first a draft
    /// (`draft: true`, the rule's unchecked), then the checked bound (`draft: false`) — and `null`
    /// while there is more to do.
    pub fn step(&mut self, explorer: &Explorer, budget: u32) -> Result<JsValue, JsValue> {
        let likelihood = bound::log_likelihood_of(&explorer.fast, explorer.meta.likelihood, &self.input);
        match self.job.step(&likelihood, budget as usize) {
            Ok(None) => Ok(JsValue::NULL),
            // Plain objects (the report is flattened: a map to serde), as JSON would have them.
            Ok(Some(b)) => Ok(serde::Serialize::serialize(&BoundReport::of(&b), &serde_wasm_bindgen::Serializer::json_compatible())?),
            Err(e) => Err(JsError::new(&e.to_string()).into()),
        }
    }

    /// Decoder evaluations made so far.
    pub fn evaluations(&self) -> u32 {
        self.job.evaluations() as u32
    }
}

/// q optimised for one image, a few steps at a time (vae-core's `Ascent`).
#[wasm_bindgen]
#[derive(Debug)]
pub struct OptimiseJob {
    ascent: Ascent,
    input: Vec<f32>,
}

/// Where an [`OptimiseJob`] stands, as the page reads it.
#[derive(serde::Serialize)]
struct AscentReport {
    mean: [f64; 2],
    sigma: [f64; 2],
    elbo: f64,
    steps: usize,
    done: bool,
    evaluations: usize,
}

#[wasm_bindgen]
impl OptimiseJob {
    /// Takes up to `steps` steps with `explorer` (the model that made the job); returns
    /// `{mean, sigma, elbo, steps, done, evaluations}` (nats; `steps` taken in all).
    pub fn step(&mut self, explorer: &Explorer, steps: u32) -> Result<JsValue, JsValue> {
        let likelihood = bound::log_likelihood_of(&explorer.fast, explorer.meta.likelihood, &self.input);
        for _ in 0..steps.max(1) {
            if self.ascent.done {
                break;
            }
            self.ascent.step(&likelihood).map_err(|e| JsError::new(&e.to_string()))?;
        }
        let a = &self.ascent;
        let report =
            AscentReport { mean: a.mean, sigma: a.sigma(), elbo: a.elbo, steps: a.steps, done: a.done, evaluations: a.evaluations };
        Ok(serde::Serialize::serialize(&report, &serde_wasm_bindgen::Serializer::json_compatible())?)
    }
}

/// An exact bound with its gaps, as the page reads it.
#[derive(serde::Serialize)]
struct BoundReport<'a> {
    #[serde(flatten)]
    bound: &'a ExactBound,
    gap: f64,
    approximation_gap: f64,
    amortization_gap: f64,
    full_covariance_gain: f64,
}

impl<'a> BoundReport<'a> {
    fn of(bound: &'a ExactBound) -> Self {
        Self {
            bound,
            gap: bound.gap(),
            approximation_gap: bound.approximation_gap(),
            amortization_gap: bound.amortization_gap(),
            full_covariance_gain: bound.full_covariance_gain(),
        }
    }
}

/// A preprocessed input: 784 intensities in [0, 1].
fn check_input(input: &[f32]) -> Result<(), JsError> {
    if input.len() != vae_core::IMAGE_PIXELS || !input.iter().all(|v| (0.0..=1.0).contains(v)) {
        return Err(JsError::new(&format!("an input is {} intensities in [0, 1]", vae_core::IMAGE_PIXELS)));
    }
    Ok(())
}

/// Grey images as one `ImageData` of 28×28 tiles, `cols` per row.
fn image_data(images: &[f32], cols: usize) -> Result<web_sys::ImageData, JsValue> {
    let (rgba, w, h) = vae_core::readout::tile_rgba(images, cols);
    web_sys::ImageData::new_with_u8_clamped_array_and_sh(wasm_bindgen::Clamped(&rgba), w as u32, h as u32)
}

fn grid(n: u32, cx: f32, cy: f32, range: f32) -> Result<LatentGrid, JsError> {
    LatentGrid::window(n as usize, [cx, cy], range).map_err(|e| JsError::new(&e))
}

/// A batch of latent points `[x0, y0, …]`: whole pairs, at most [`MAX_BATCH`], each in range.
fn check_points(zs: &[f32]) -> Result<(), JsError> {
    latent::check_points(zs, MAX_BATCH).map_err(|e| JsError::new(&e))
}

fn check_point(x: f32, y: f32) -> Result<(), JsError> {
    latent::check_points(&[x, y], 1).map_err(|e| JsError::new(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vae_core::loss::kl_standard_normal_f32;

    const WEIGHTS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../weights");

    /// Every shipped model, as `weights/manifest.json` lists them.
    fn shipped() -> Vec<(String, Explorer)> {
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{WEIGHTS_DIR}/manifest.json")).expect("manifest")).expect("JSON");
        let models = manifest["models"].as_array().expect("a list of models");
        assert!(models.len() >= 3, "expected the shipped vae, ae and vae-beta4 in the manifest");
        models
            .iter()
            .map(|m| {
                let (name, file) = (m["name"].as_str().expect("name"), m["file"].as_str().expect("file"));
                let bytes = std::fs::read(format!("{WEIGHTS_DIR}/{file}")).unwrap_or_else(|e| panic!("{file}: {e}"));
                (name.to_string(), Explorer::from_weights(&bytes).unwrap_or_else(|e| panic!("{file}: {e}")))
            })
            .collect()
    }

    #[test]
    fn the_manifest_lists_every_weights_file_once() {
        let mut listed: Vec<String> = shipped().into_iter().map(|(name, _)| format!("{name}.vaew")).collect();
        let mut on_disk: Vec<String> = std::fs::read_dir(WEIGHTS_DIR)
            .expect("weights/")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|f| f.ends_with(".vaew"))
            .collect();
        listed.sort();
        on_disk.sort();
        assert_eq!(listed, on_disk, "weights/manifest.json and weights/*.vaew disagree (each model's file is <name>.vaew)");
    }

    #[test]
    fn embedded_weights_load_into_the_current_architecture() {
        let explorer = Explorer::embedded(DEFAULT_MODEL.0).expect("embedded weights must load");
        assert_eq!(explorer.meta().name, DEFAULT_MODEL.0);
        for (name, explorer) in shipped() {
            assert_eq!(explorer.meta().name, name, "a weights file's name must match its manifest name (the page loads it by name)");
            let out = explorer.decode_points(&[0.0, 0.0, 1.5, -2.0]);
            assert_eq!(out.len(), 2 * vae_core::IMAGE_PIXELS);
            assert!(out.iter().all(|v| (0.0..=1.0).contains(v)));
            // A trained decoder draws a digit: some ink, mostly background.
            let ink = out[..vae_core::IMAGE_PIXELS].iter().filter(|&&v| v > 0.5).count();
            assert!((20..400).contains(&ink), "{name}: decode(0,0) has {ink} ink pixels");
        }
    }

    #[test]
    fn the_fast_decode_path_agrees_with_burn_on_every_shipped_model() {
        let zs: Vec<f32> = (0..2 * 401).map(|i| ((i as f32) * 0.37).sin() * 3.0).collect();
        for (name, explorer) in shipped() {
            let fast = explorer.decode_points(&zs);
            let burn = readout::decode_points(&explorer.model, &zs, &explorer.device);
            assert_eq!(fast.len(), burn.len());
            let worst = fast.iter().zip(&burn).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(worst < 1e-5, "{name}: the fast path differs from burn by {worst}");
        }
    }

    #[test]
    fn only_the_default_model_is_embedded_and_others_are_named_errors() {
        let err = Explorer::embedded("nope").expect_err("unknown name");
        assert!(err.contains(DEFAULT_MODEL.0), "{err}");
    }

    #[test]
    fn the_aggregate_map_needs_stored_posteriors() {
        let explorer = Explorer::embedded(DEFAULT_MODEL.0).expect("loads");
        let grid = LatentGrid::new(16, 4.0).expect("valid");
        let map = explorer.aggregate_map(&grid).expect("the shipped model carries test posteriors");
        assert_eq!(map.len(), 256);
        // The VAE's codes crowd in the middle of the prior, not at its edge.
        assert!(map[8 * 16 + 8] > map[16 + 1] || map[16 + 1].is_nan(), "{} vs {}", map[8 * 16 + 8], map[16 + 1]);
        let mut bare = Explorer::embedded(DEFAULT_MODEL.0).expect("loads");
        bare.meta.test_posteriors.clear();
        assert!(bare.aggregate_map(&grid).expect_err("no posteriors").contains("trainer annotate"));
    }

    #[test]
    fn posterior_readout_is_consistent() {
        let explorer = Explorer::embedded(DEFAULT_MODEL.0).expect("loads");
        // Use a decoded image as input: its posterior should be near the point it came from.
        let img = explorer.decode_points(&[0.8, -0.5]);
        let p = explorer.posterior_of_pixels(&img);
        assert!(p.sigma.iter().all(|&s| s > 0.0 && s < 1.0), "σ = {:?}", p.sigma);
        assert!((p.elbo + p.recon + p.kl).abs() < 1e-3);
        assert!((p.kl - kl_standard_normal_f32(&p.mu, &p.sigma)).abs() < 1e-6);
        assert!(p.kl > 0.0 && p.recon > 0.0);
        let iwae = p.iwae.expect("a VAE has an IWAE readout");
        assert!(iwae >= p.elbo - 0.5 && iwae < 0.0, "IWAE {iwae} vs ELBO {}", p.elbo);
        // The shown samples are the readout's own z = μ + σ ⊙ ε: within a few σ of μ.
        for z in p.samples.chunks_exact(2) {
            assert!((0..2).all(|d| (z[d] - p.mu[d]).abs() < 5.0 * p.sigma[d]), "sample {z:?} vs μ {:?}, σ {:?}", p.mu, p.sigma);
        }
        let again = explorer.posterior_of_pixels(&img);
        assert_eq!(p, again, "the readout is deterministic");
    }
}
