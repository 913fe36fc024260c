//! The wasm-bindgen boundary of vae-explorer: a thin layer over `vae-core`.
//!
//! The weights are embedded in the module (`include_bytes!`), so the page needs no fetch and
//! works offline and from `file://`. Rust-side logic lives in a plain `impl`; the
//! `#[wasm_bindgen] impl` below it is the JS API, which checks every input and returns a
//! `JsError` instead of panicking.

use burn::prelude::*;
use vae_core::fast::FastDecoder;
use vae_core::readout::{self, Posterior};
use vae_core::{IMAGE_PIXELS, IMAGE_SIDE, LATENT_DIM, Vae, WeightsFile, WeightsMeta, preprocess_rgba};
use wasm_bindgen::prelude::*;

/// The models compiled into the module, by the name the page's model switch uses: only the
/// default VAE, so the first image needs no more than this module. The other shipped models
/// (`weights/*.vaew`) reach the page as scripts written by `cargo xtask web` after the first image
/// is on screen, and load through [`Explorer::from_bytes`].
pub const EMBEDDED: &[(&str, &[u8])] = &[("vae", include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../weights/vae.vaew")))];

/// Latent coordinates beyond this are refused (the prior has essentially no mass there).
pub const MAX_LATENT_ABS: f32 = 1.0e3;
/// Smallest standard deviation of a test posterior in the aggregate-posterior map (a kernel
/// density estimate's bandwidth), latent units.
pub const AGGREGATE_BANDWIDTH: f32 = 0.25;
/// Points decoded per call at most (a 400-image grid is the largest the page asks for).
pub const MAX_BATCH: usize = 16_384;

/// One embedded model, ready to encode and decode.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Explorer {
    model: Vae,
    /// The same decoder weights on the specialised path every decode of the page takes.
    fast: FastDecoder,
    meta: WeightsMeta,
    device: Device,
}

impl Explorer {
    /// Loads a model from weights-file bytes.
    pub fn from_weights(bytes: &[u8]) -> Result<Self, vae_core::WeightsError> {
        let device = Device::flex();
        let file = WeightsFile::from_bytes(bytes)?;
        let model = file.load_model(&device)?;
        let fast = FastDecoder::from_vae(&model);
        Ok(Self { model, fast, meta: file.meta, device })
    }

    /// Loads the embedded model `name`.
    pub fn embedded(name: &str) -> Result<Self, String> {
        let (_, bytes) = EMBEDDED.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            let names: Vec<_> = EMBEDDED.iter().map(|(n, _)| *n).collect();
            format!("no embedded model named {name:?}; choose one of {names:?}")
        })?;
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
        readout::posterior(&self.model, self.meta.kind, pixels, &self.device)
    }
}

/// Lays out `n` 28×28 grey images row by row, `cols` per row, as one RGBA image
/// (`cols·28 × rows·28`); returns `(rgba, width, height)`.
pub fn tile_rgba(images: &[f32], cols: usize) -> (Vec<u8>, usize, usize) {
    let n = images.len() / IMAGE_PIXELS;
    let cols = cols.max(1);
    let rows = n.div_ceil(cols);
    let (width, height) = (cols * IMAGE_SIDE, rows * IMAGE_SIDE);
    let mut rgba = vec![0u8; width * height * 4];
    for (k, img) in images.chunks_exact(IMAGE_PIXELS).enumerate() {
        let (ox, oy) = ((k % cols) * IMAGE_SIDE, (k / cols) * IMAGE_SIDE);
        for y in 0..IMAGE_SIDE {
            let start = ((oy + y) * width + ox) * 4;
            let grey = &img[y * IMAGE_SIDE..(y + 1) * IMAGE_SIDE];
            for (px, &v) in rgba[start..start + IMAGE_SIDE * 4].chunks_exact_mut(4).zip(grey) {
                let c = grey_byte(v);
                px.copy_from_slice(&[c, c, c, 255]);
            }
        }
    }
    // Cells past the last image stay transparent black (alpha 0).
    (rgba, width, height)
}

/// Points of an `n × n` grid over [−range, range]², row by row from the top (z₂ = +range) down,
/// like the latent plane is drawn.
pub fn grid_points(n: usize, range: f32) -> Vec<f32> {
    let at = |i: usize| if n == 1 { 0.0 } else { -range + 2.0 * range * i as f32 / (n - 1) as f32 };
    (0..n).flat_map(|row| (0..n).flat_map(move |col| [at(col), -at(row)])).collect()
}

/// `n ≥ 2` evenly spaced points from (ax, ay) to (bx, by), both included.
pub fn interpolation(ax: f32, ay: f32, bx: f32, by: f32, n: usize) -> Vec<f32> {
    (0..n)
        .flat_map(|i| {
            let t = i as f32 / (n - 1) as f32;
            [ax + t * (bx - ax), ay + t * (by - ay)]
        })
        .collect()
}

/// Grey intensities in [0, 1] → opaque RGBA bytes (white ink on black, like MNIST).
pub fn grey_to_rgba(grey: &[f32]) -> Vec<u8> {
    grey.iter().flat_map(|&v| {
        let c = grey_byte(v);
        [c, c, c, 255]
    }).collect()
}

/// One intensity in [0, 1] as a grey level 0–255.
#[inline]
fn grey_byte(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

#[wasm_bindgen]
impl Explorer {
    /// Loads the embedded model `name` (`Explorer.models()` lists them).
    #[wasm_bindgen(constructor)]
    pub fn new(name: &str) -> Result<Explorer, JsError> {
        console_error_panic_hook::set_once();
        Self::embedded(name).map_err(|e| JsError::new(&e))
    }

    /// Loads a model from the bytes of a `.vaew` weights file; a damaged file, another format
    /// version or another architecture is a `JsError` that names the problem.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<Explorer, JsError> {
        console_error_panic_hook::set_once();
        Self::from_weights(bytes).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Names of the embedded models.
    pub fn models() -> Vec<String> {
        EMBEDDED.iter().map(|(n, _)| n.to_string()).collect()
    }

    /// The weights file's metadata (name, kind, β, architecture, test figures) as an object.
    pub fn info(&self) -> Result<JsValue, JsError> {
        serde_wasm_bindgen::to_value(&self.meta).map_err(|e| JsError::new(&e.to_string()))
    }

    /// `decodeBatch` on burn's generic tensor path instead of the specialised one: the peer the
    /// benchmark measures the fast path against, in the same page and run.
    #[wasm_bindgen(js_name = decodeBatchReference)]
    pub fn decode_batch_reference(&self, zs: &[f32]) -> Result<Vec<f32>, JsError> {
        check_points(zs)?;
        Ok(readout::decode_points(&self.model, zs, &self.device))
    }

    /// Decodes one latent point into 784 intensities in [0, 1].
    pub fn decode(&self, x: f32, y: f32) -> Result<Vec<f32>, JsError> {
        check_point(x, y)?;
        Ok(self.decode_points(&[x, y]))
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
        let rgba = grey_to_rgba(&self.decode_points(&[x, y]));
        web_sys::ImageData::new_with_u8_clamped_array_and_sh(
            wasm_bindgen::Clamped(&rgba),
            IMAGE_SIDE as u32,
            IMAGE_SIDE as u32,
        )
    }

    /// Decodes points `[x0, y0, …]` into one `ImageData` of 28×28 tiles, `cols` per row.
    #[wasm_bindgen(js_name = decodeTiles)]
    pub fn decode_tiles(&self, zs: &[f32], cols: u32) -> Result<web_sys::ImageData, JsValue> {
        if cols == 0 || cols > 64 {
            return Err(JsError::new("decodeTiles takes 1 to 64 columns").into());
        }
        let images = self.decode_batch(zs)?;
        let (rgba, w, h) = tile_rgba(&images, cols as usize);
        if w == 0 || h == 0 {
            return Err(JsError::new("decodeTiles needs at least one point").into());
        }
        web_sys::ImageData::new_with_u8_clamped_array_and_sh(wasm_bindgen::Clamped(&rgba), w as u32, h as u32)
    }

    /// The manifold of the decoder: an `n × n` grid of decodings over [−range, range]², as one
    /// `ImageData` (top row at z₂ = +range, like the plane).
    #[wasm_bindgen(js_name = decodeGrid)]
    pub fn decode_grid(&self, n: u32, range: f32) -> Result<web_sys::ImageData, JsValue> {
        if !(1..=64).contains(&n) || !(range.is_finite() && range > 0.0 && range <= 10.0) {
            return Err(JsError::new("decodeGrid takes 1 to 64 cells per side and a range in (0, 10]").into());
        }
        self.decode_tiles(&grid_points(n as usize, range), n)
    }

    /// Posteriors of a sample of the test set, flattened `[μ₁, μ₂, σ₁, σ₂, label, …]`
    /// (empty when the weights file carries none).
    #[wasm_bindgen(js_name = testPosteriors)]
    pub fn test_posteriors(&self) -> Vec<f32> {
        self.meta.test_posteriors.iter().flatten().copied().collect()
    }

    /// log₂ q(z)/p(z): the aggregate posterior (the mixture of the test posteriors) against
    /// the prior, at the centres of an `n × n` grid over [−range, range]², rows from the top.
    /// Positive where codes crowd, negative in holes the prior still samples from.
    #[wasm_bindgen(js_name = aggregateVsPrior)]
    pub fn aggregate_vs_prior(&self, n: u32, range: f32) -> Result<Vec<f32>, JsError> {
        check_map(n, range)?;
        if self.meta.test_posteriors.is_empty() {
            return Err(JsError::new("these weights carry no test posteriors; run `trainer annotate` on them"));
        }
        let n = n as usize;
        let cell = 2.0 * range / n as f32;
        // 2,000 posteriors with σ ≈ 0.05 are too few to estimate a density on their own: widen each
        // to at least AGGREGATE_BANDWIDTH (Scott's rule for 2,000 points in 2-D gives ≈ 0.28σ_data).
        let q = vae_core::eval::aggregate_density(&self.meta.test_posteriors, n, range, AGGREGATE_BANDWIDTH.max(cell / 2.0));
        let centre = |i: usize| -range + (i as f32 + 0.5) * cell;
        Ok(q.iter()
            .enumerate()
            .map(|(i, &q)| {
                let (x, y) = (centre(i % n), -centre(i / n));
                let log_p = -0.5 * (x * x + y * y) - (2.0 * core::f32::consts::PI).ln();
                let log_p0 = -(2.0 * core::f32::consts::PI).ln();
                // Far outside both the prior (beyond ~3.7σ) and the codes, the ratio means nothing.
                if log_p < log_p0 - 7.0 && q.ln() < log_p0 - 7.0 {
                    return f32::NAN;
                }
                ((q.max(1e-12)).ln() - log_p) / core::f32::consts::LN_2
            })
            .collect())
    }

    /// How fast the decoded image changes (mean |Δpixel| per latent unit, averaged over the
    /// right and upward neighbour) at each point of an `n × n` grid over [−range, range]².
    #[wasm_bindgen(js_name = continuityMap)]
    pub fn continuity_map(&self, n: u32, range: f32) -> Result<Vec<f32>, JsError> {
        check_map(n, range)?;
        let n = n as usize;
        let step = 2.0 * range / (n as f32 - 1.0).max(1.0);
        let (right, up) = vae_core::eval::continuity_rates(&self.model, &self.device, n, step);
        Ok(right
            .iter()
            .zip(&up)
            .map(|(&r, &u)| match (r.is_finite(), u.is_finite()) {
                (true, true) => 0.5 * (r + u),
                (true, false) => r,
                (false, true) => u,
                (false, false) => 0.0,
            })
            .collect())
    }

    /// `n` evenly spaced points on the segment from a to b (both ends included), `[x0, y0, …]`.
    pub fn interpolate(ax: f32, ay: f32, bx: f32, by: f32, n: u32) -> Result<Vec<f32>, JsError> {
        check_point(ax, ay)?;
        check_point(bx, by)?;
        if !(2..=64).contains(&n) {
            return Err(JsError::new("interpolate takes 2 to 64 points"));
        }
        Ok(interpolation(ax, ay, bx, by, n as usize))
    }

    /// `n` points drawn from the prior N(0, I), `[x0, y0, x1, y1, …]`, repeatable by `seed`.
    #[wasm_bindgen(js_name = samplePrior)]
    pub fn sample_prior(n: u32, seed: u32) -> Result<Vec<f32>, JsError> {
        if n as usize > MAX_BATCH {
            return Err(JsError::new(&format!("samplePrior draws at most {MAX_BATCH} points")));
        }
        Ok(vae_core::loss::standard_normal_samples(n as usize * LATENT_DIM, seed as u64))
    }

    /// Preprocesses an RGBA image MNIST-style and returns its posterior and ELBO readout
    /// (`{mu, sigma, recon, kl, elbo, input, reconstruction, inverted}`).
    #[wasm_bindgen(js_name = encodeImage)]
    pub fn encode_image(&self, rgba: &[u8], width: u32, height: u32) -> Result<JsValue, JsError> {
        let pre = preprocess_rgba(rgba, width as usize, height as usize).map_err(|e| JsError::new(&e.to_string()))?;
        let mut posterior = self.posterior_of_pixels(&pre.pixels);
        posterior.inverted = pre.inverted;
        serde_wasm_bindgen::to_value(&posterior).map_err(|e| JsError::new(&e.to_string()))
    }
}

fn check_map(n: u32, range: f32) -> Result<(), JsError> {
    if !(2..=128).contains(&n) || !(range.is_finite() && range > 0.0 && range <= 10.0) {
        return Err(JsError::new("maps take 2 to 128 cells per side and a range in (0, 10]"));
    }
    Ok(())
}

/// A batch of latent points `[x0, y0, …]`: whole pairs, not too many, each in range.
fn check_points(zs: &[f32]) -> Result<(), JsError> {
    if zs.len() % LATENT_DIM != 0 {
        return Err(JsError::new(&format!("decodeBatch needs x,y pairs; got {} numbers", zs.len())));
    }
    if zs.len() / LATENT_DIM > MAX_BATCH {
        return Err(JsError::new(&format!("decodeBatch takes at most {MAX_BATCH} points at once")));
    }
    zs.chunks_exact(2).try_for_each(|p| check_point(p[0], p[1]))
}

fn check_point(x: f32, y: f32) -> Result<(), JsError> {
    if !(x.is_finite() && y.is_finite()) {
        return Err(JsError::new(&format!("latent point ({x}, {y}) is not finite")));
    }
    if x.abs() > MAX_LATENT_ABS || y.abs() > MAX_LATENT_ABS {
        return Err(JsError::new(&format!("latent point ({x}, {y}) is out of range (|z| ≤ {MAX_LATENT_ABS})")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vae_core::loss::kl_standard_normal_f32;

    /// Every shipped model: the embedded one and those the page loads from `weights/*.vaew`.
    fn shipped() -> Vec<(String, Explorer)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../weights");
        let mut files: Vec<_> = std::fs::read_dir(dir).expect("weights/").filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.retain(|p| p.extension().is_some_and(|x| x == "vaew"));
        files.sort();
        assert!(files.len() >= 3, "expected the shipped vae, ae and vae-beta4 in weights/");
        files
            .iter()
            .map(|p| {
                let name = p.file_stem().and_then(|s| s.to_str()).expect("utf8 name").to_string();
                let explorer = Explorer::from_weights(&std::fs::read(p).expect("read")).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                (name, explorer)
            })
            .collect()
    }

    #[test]
    fn embedded_weights_load_into_the_current_architecture() {
        for (name, _) in EMBEDDED {
            let explorer = Explorer::embedded(name).expect("embedded weights must load");
            assert_eq!(&explorer.meta().name, name);
        }
        for (name, explorer) in shipped() {
            assert_eq!(explorer.meta().name, name, "a weights file's name must match its file name (the page loads it by name)");
            let out = explorer.decode_points(&[0.0, 0.0, 1.5, -2.0]);
            assert_eq!(out.len(), 2 * IMAGE_PIXELS);
            assert!(out.iter().all(|v| (0.0..=1.0).contains(v)));
            // A trained decoder draws a digit: some ink, mostly background.
            let ink = out[..IMAGE_PIXELS].iter().filter(|&&v| v > 0.5).count();
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
    fn tiles_are_laid_out_row_by_row() {
        let mut images = vec![0.0f32; 3 * IMAGE_PIXELS];
        images[IMAGE_PIXELS + 5] = 1.0; // image 1, row 0, column 5
        images[2 * IMAGE_PIXELS] = 1.0; // image 2, top-left
        let (rgba, w, h) = tile_rgba(&images, 2);
        assert_eq!((w, h), (56, 56));
        assert_eq!(&rgba[(28 + 5) * 4..(28 + 5) * 4 + 4], &[255, 255, 255, 255]);
        assert_eq!(&rgba[(28 * 56) * 4..(28 * 56) * 4 + 4], &[255, 255, 255, 255]);
        assert_eq!(rgba[(28 * 56 + 30) * 4 + 3], 0, "the empty fourth cell stays transparent");
        assert_eq!(interpolation(0.0, 1.0, 2.0, -1.0, 3), vec![0.0, 1.0, 1.0, 0.0, 2.0, -1.0]);
        assert_eq!(grid_points(3, 2.0), vec![-2.0, 2.0, 0.0, 2.0, 2.0, 2.0, -2.0, -0.0, 0.0, -0.0, 2.0, -0.0, -2.0, -2.0, 0.0, -2.0, 2.0, -2.0]);
    }

    #[test]
    fn unknown_model_is_an_error_naming_the_choices() {
        let err = Explorer::embedded("nope").expect_err("unknown name");
        assert!(err.contains("vae"), "{err}");
    }

    #[test]
    fn posterior_readout_is_consistent() {
        let explorer = Explorer::embedded("vae").expect("loads");
        // Use a decoded image as input: its posterior should be near the point it came from.
        let img = explorer.decode_points(&[0.8, -0.5]);
        let p = explorer.posterior_of_pixels(&img);
        assert!(p.sigma.iter().all(|&s| s > 0.0 && s < 1.0), "σ = {:?}", p.sigma);
        assert!((p.elbo + p.recon + p.kl).abs() < 1e-3);
        assert!((p.kl - kl_standard_normal_f32(&p.mu, &p.sigma)).abs() < 1e-6);
        assert!(p.kl > 0.0 && p.recon > 0.0);
        let iwae = p.iwae.expect("a VAE has an IWAE readout");
        assert!(iwae >= p.elbo - 0.5 && iwae < 0.0, "IWAE {iwae} vs ELBO {}", p.elbo);
        let again = explorer.posterior_of_pixels(&img);
        assert_eq!(p, again, "the readout is deterministic");
    }
}
