//! Any RGBA image → a 28×28 input the model understands, the way MNIST was made.
//!
//! MNIST digits are light ink on a dark background, size-normalised to fit a 20×20 box keeping
//! their aspect ratio, then placed in a 28×28 field so that their centre of mass is at the
//! centre (LeCun et al., "THE MNIST DATABASE"). An uploaded photo or a drawing is brought to the
//! same form:
//!
//! 1. greyscale (Rec. 601 luma); transparent pixels are composited onto the background that
//!    contrasts with the ink, so a digit drawn only in the alpha channel survives;
//! 2. polarity: if the border is light, the image is dark-on-light and is inverted;
//! 3. contrast: the border level maps to 0 and the brightest ink to 1;
//! 4. crop to the ink, fit into 20×20 keeping the aspect ratio (area resampling);
//! 5. centre by centre of mass in 28×28.
//!
//! The page (through the wasm crate) and the trainer's CLI call the same function.

use crate::IMAGE_SIDE;
use crate::dataset::Preprocessing;
use crate::message::{Localized, PageMessage};
use crate::numeric;

/// Largest side the digit is scaled to, as in MNIST.
pub const FIT_BOX: usize = 20;
/// Inputs with more pixels than this are refused (the page downsamples before calling).
pub const MAX_INPUT_PIXELS: usize = 64 * 1024 * 1024;
/// Below this contrast between ink and background there is nothing to see.
const MIN_CONTRAST: f32 = 0.12;
/// Normalised intensity above which a pixel counts as ink for cropping.
const INK_THRESHOLD: f32 = 0.25;

/// Why an image cannot be turned into a model input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreprocessError {
    /// Zero width or height.
    #[error("the image is empty ({width}×{height} pixels)")]
    Empty {
        /// Width given.
        width: usize,
        /// Height given.
        height: usize,
    },
    /// The buffer length does not match width × height × 4.
    #[error("pixel buffer has {actual} bytes but {width}×{height} RGBA needs {expected}")]
    LengthMismatch {
        /// Width given.
        width: usize,
        /// Height given.
        height: usize,
        /// Bytes needed.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// More pixels than [`MAX_INPUT_PIXELS`].
    #[error("the image is too large ({width}×{height}); scale it below {MAX_INPUT_PIXELS} pixels")]
    TooLarge {
        /// Width given.
        width: usize,
        /// Height given.
        height: usize,
    },
    /// Every pixel is fully transparent (also what a cut-short PNG decodes to).
    #[error("nothing visible: every pixel is fully transparent (a file cut short decodes like this); upload the complete image")]
    Invisible,
    /// Blank or nearly uniform: no digit to find.
    #[error("no ink found: the image is blank or has too little contrast; draw or upload a digit")]
    NoInk,
}

/// A model input and what preprocessing found on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocessed {
    /// 28×28 intensities in [0, 1], row-major, light ink on dark.
    pub pixels: Vec<f32>,
    /// Whether the input was dark-on-light and had to be inverted.
    pub inverted: bool,
}

impl Localized for PreprocessError {
    fn page_message(&self) -> PageMessage {
        match self {
            PreprocessError::Empty { width, height } => PageMessage::new("error.image.empty").with("width", width).with("height", height),
            PreprocessError::LengthMismatch { .. } => PageMessage::new("error.image.damaged"),
            PreprocessError::TooLarge { width, height } => PageMessage::new("error.image.too-large")
                .with("width", width)
                .with("height", height)
                .with("megapixels", MAX_INPUT_PIXELS / (1024 * 1024)),
            PreprocessError::Invisible => PageMessage::new("error.image.invisible"),
            PreprocessError::NoInk => PageMessage::new("error.image.no-ink"),
        }
    }
}

/// Preprocesses an RGBA image (`width × height × 4` bytes, row-major, straight alpha) the way
/// MNIST was made.
pub fn preprocess_rgba(rgba: &[u8], width: usize, height: usize) -> Result<Preprocessed, PreprocessError> {
    preprocess_rgba_as(rgba, width, height, Preprocessing::CentreOfMass20)
}

/// Preprocesses an RGBA image the way a dataset was made (`how`, recorded in every weights file).
pub fn preprocess_rgba_as(rgba: &[u8], width: usize, height: usize, how: Preprocessing) -> Result<Preprocessed, PreprocessError> {
    if width == 0 || height == 0 {
        return Err(PreprocessError::Empty { width, height });
    }
    let pixels = width.checked_mul(height).filter(|&n| n <= MAX_INPUT_PIXELS);
    let Some(n) = pixels else {
        return Err(PreprocessError::TooLarge { width, height });
    };
    if rgba.len() != n * 4 {
        return Err(PreprocessError::LengthMismatch { width, height, expected: n * 4, actual: rgba.len() });
    }
    if rgba.chunks_exact(4).all(|p| p[3] == 0) {
        return Err(PreprocessError::Invisible);
    }
    let grey = greyscale_composited(rgba);
    let (mut grey, inverted) = to_mnist_polarity(grey, width, height);
    normalise_contrast(&mut grey, width, height)?;
    let (bx, by, bw, bh) = ink_bounding_box(&grey, width, height).ok_or(PreprocessError::NoInk)?;
    let crop: Vec<f32> = (by..by + bh).flat_map(|y| grey[y * width + bx..y * width + bx + bw].iter().copied()).collect();
    let fit = match how {
        Preprocessing::CentreOfMass20 => FIT_BOX,
        Preprocessing::Fill28 => IMAGE_SIDE,
    };
    let scale = fit as f32 / bw.max(bh) as f32;
    let fw = ((bw as f32 * scale).round() as usize).clamp(1, fit);
    let fh = ((bh as f32 * scale).round() as usize).clamp(1, fit);
    let fitted = resample_area(&crop, bw, bh, fw, fh);
    let pixels = match how {
        Preprocessing::CentreOfMass20 => centre_by_mass(&fitted, fw, fh),
        Preprocessing::Fill28 => centre_box(&fitted, fw, fh),
    };
    Ok(Preprocessed { pixels, inverted })
}

/// Rec. 601 luma in [0, 1]. Where the image is transparent it is composited onto the
/// background that contrasts with its opaque colours (white behind dark ink, black behind light).
fn greyscale_composited(rgba: &[u8]) -> Vec<f32> {
    let luma = |p: &[u8]| (0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32) / 255.0;
    let (mut weighted, mut total_alpha, mut transparent) = (0.0f64, 0.0f64, false);
    for p in rgba.chunks_exact(4) {
        let a = p[3] as f64 / 255.0;
        weighted += a * luma(p) as f64;
        total_alpha += a;
        transparent |= p[3] < 255;
    }
    if !transparent {
        return rgba.chunks_exact(4).map(luma).collect();
    }
    let mean_opaque = if total_alpha > 0.0 { weighted / total_alpha } else { 0.0 };
    let background = if mean_opaque < 0.5 { 1.0 } else { 0.0 };
    rgba.chunks_exact(4)
        .map(|p| {
            let a = p[3] as f32 / 255.0;
            a * luma(p) + (1.0 - a) * background
        })
        .collect()
}

/// Pixels of the outer ring of the image (about 1/16 of the short side, at least one pixel).
fn border_values(grey: &[f32], width: usize, height: usize) -> Vec<f32> {
    let ring = (width.min(height) / 16).max(1);
    let mut out = Vec::new();
    for (y, row) in grey.chunks_exact(width).take(height).enumerate() {
        if y < ring || y >= height.saturating_sub(ring) {
            out.extend_from_slice(row);
        } else {
            // Row by row rather than pixel by pixel: a drawing pad's image is 78,400 pixels per stroke.
            let (left, right) = (ring.min(width), width.saturating_sub(ring).max(ring.min(width)));
            out.extend_from_slice(&row[..left]);
            out.extend_from_slice(&row[right..]);
        }
    }
    out
}

/// Value below which `fraction` of `values` lie (a 1024-bin histogram: no sort of a huge image).
fn quantile(values: impl Iterator<Item = f32>, fraction: f32) -> f32 {
    const BINS: usize = 1024;
    let mut hist = [0usize; BINS];
    let mut n = 0usize;
    for v in values {
        hist[numeric::round_non_negative(v.clamp(0.0, 1.0) * (BINS - 1) as f32)] += 1;
        n += 1;
    }
    let target = (fraction * n as f32).ceil().max(1.0) as usize;
    let mut seen = 0;
    for (i, count) in hist.iter().enumerate() {
        seen += count;
        if seen >= target {
            return i as f32 / (BINS - 1) as f32;
        }
    }
    1.0
}

/// MNIST is light-on-dark: a light border means dark ink on paper, which is inverted.
fn to_mnist_polarity(mut grey: Vec<f32>, width: usize, height: usize) -> (Vec<f32>, bool) {
    let border_level = quantile(border_values(&grey, width, height).into_iter(), 0.5);
    let inverted = border_level > 0.5;
    if inverted {
        grey.iter_mut().for_each(|v| *v = 1.0 - *v);
    }
    (grey, inverted)
}

/// Maps the background (border median) to 0 and the ink (99.9th percentile, robust to a stray
/// pixel) to 1.
fn normalise_contrast(grey: &mut [f32], width: usize, height: usize) -> Result<(), PreprocessError> {
    let background = quantile(border_values(grey, width, height).into_iter(), 0.5);
    // A comparison, not f32::max: that is a libm call per pixel in wasm (and a NaN is skipped alike).
    let brightest = grey.iter().fold(0.0f32, |m, &v| if v > m { v } else { m });
    let peak = quantile(grey.iter().copied(), 0.999).max(brightest * 0.9);
    let contrast = peak - background;
    // NaN (a non-finite input) has no contrast either.
    if contrast.is_nan() || contrast < MIN_CONTRAST {
        return Err(PreprocessError::NoInk);
    }
    grey.iter_mut().for_each(|v| *v = ((*v - background) / contrast).clamp(0.0, 1.0));
    Ok(())
}

fn ink_bounding_box(grey: &[f32], width: usize, height: usize) -> Option<(usize, usize, usize, usize)> {
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for (y, row) in grey.chunks_exact(width).take(height).enumerate() {
        let Some(first) = row.iter().position(|&v| v > INK_THRESHOLD) else { continue };
        let last = row.iter().rposition(|&v| v > INK_THRESHOLD).unwrap_or(first);
        x0 = x0.min(first);
        x1 = x1.max(last);
        y0 = y0.min(y);
        y1 = y;
    }
    (x0 != usize::MAX).then(|| (x0, y0, x1 - x0 + 1, y1 - y0 + 1))
}

/// Area (box-filter) resampling: each output pixel is the mean of the input area it covers,
/// weighted by overlap. Separable: rows first, then columns.
fn resample_area(src: &[f32], sw: usize, sh: usize, dw: usize, dh: usize) -> Vec<f32> {
    let rows: Vec<f32> = src.chunks_exact(sw).flat_map(|row| resample_line(row, dw)).collect();
    let mut out = vec![0.0; dw * dh];
    let mut column = vec![0.0; sh];
    for x in 0..dw {
        for y in 0..sh {
            column[y] = rows[y * dw + x];
        }
        for (y, v) in resample_line(&column, dh).into_iter().enumerate() {
            out[y * dw + x] = v;
        }
    }
    out
}

fn resample_line(src: &[f32], n: usize) -> Vec<f32> {
    let step = src.len() as f64 / n as f64;
    (0..n)
        .map(|i| {
            let (start, end) = (i as f64 * step, (i + 1) as f64 * step);
            let mut sum = 0.0f64;
            let mut j = start.floor() as usize;
            while (j as f64) < end && j < src.len() {
                let overlap = (end.min(j as f64 + 1.0) - start.max(j as f64)).max(0.0);
                sum += overlap * src[j] as f64;
                j += 1;
            }
            (sum / step) as f32
        })
        .collect()
}

/// Places a `w × h` patch in the 28×28 field so that its centre of mass is at the centre
/// (rounded to whole pixels, and kept inside the field).
fn centre_by_mass(patch: &[f32], w: usize, h: usize) -> Vec<f32> {
    let (mut mass, mut mx, mut my) = (0.0f64, 0.0f64, 0.0f64);
    for y in 0..h {
        for x in 0..w {
            let v = patch[y * w + x] as f64;
            mass += v;
            mx += v * (x as f64 + 0.5);
            my += v * (y as f64 + 0.5);
        }
    }
    let (cx, cy) = if mass > 0.0 { (mx / mass, my / mass) } else { (w as f64 / 2.0, h as f64 / 2.0) };
    let half = IMAGE_SIDE as f64 / 2.0;
    let ox = ((half - cx).round().max(0.0) as usize).min(IMAGE_SIDE - w);
    let oy = ((half - cy).round().max(0.0) as usize).min(IMAGE_SIDE - h);
    place(patch, w, h, ox, oy)
}

/// A 28×28 field holding the `w × h` patch with its top-left corner at `(ox, oy)`.
fn place(patch: &[f32], w: usize, h: usize, ox: usize, oy: usize) -> Vec<f32> {
    let mut out = vec![0.0; IMAGE_SIDE * IMAGE_SIDE];
    for y in 0..h {
        out[(oy + y) * IMAGE_SIDE + ox..(oy + y) * IMAGE_SIDE + ox + w].copy_from_slice(&patch[y * w..(y + 1) * w]);
    }
    out
}

/// Places a `w × h` patch (at most 28×28) in the middle of the 28×28 frame.
fn centre_box(patch: &[f32], w: usize, h: usize) -> Vec<f32> {
    place(patch, w, h, (IMAGE_SIDE - w) / 2, (IMAGE_SIDE - h) / 2)
}

/// Centre of mass of a 28×28 image, in pixel units (pixel centres at i + 0.5).
pub fn centre_of_mass(pixels: &[f32]) -> (f32, f32) {
    let (mut mass, mut mx, mut my) = (0.0f32, 0.0f32, 0.0f32);
    for (i, &v) in pixels.iter().enumerate() {
        mass += v;
        mx += v * ((i % IMAGE_SIDE) as f32 + 0.5);
        my += v * ((i / IMAGE_SIDE) as f32 + 0.5);
    }
    if mass > 0.0 { (mx / mass, my / mass) } else { (f32::NAN, f32::NAN) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic "7": a horizontal bar and a diagonal, drawn with `ink` on `paper`,
    /// `scale` pixels per unit, offset by `(dx, dy)` in a `w × h` canvas.
    fn seven(w: usize, h: usize, scale: f32, dx: f32, dy: f32, ink: u8, paper: u8) -> Vec<u8> {
        let mut rgba = vec![0u8; w * h * 4];
        for y in 0..h {
            for x in 0..w {
                let (u, v) = ((x as f32 - dx) / scale, (y as f32 - dy) / scale);
                let bar = (0.0..10.0).contains(&u) && (0.0..2.0).contains(&v);
                let diag = (0.0..16.0).contains(&v) && ((10.0 - v * 0.5) - u).abs() < 1.2;
                let c = if bar || diag { ink } else { paper };
                rgba[(y * w + x) * 4..(y * w + x) * 4 + 4].copy_from_slice(&[c, c, c, 255]);
            }
        }
        rgba
    }

    fn l1(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32
    }

    #[test]
    fn light_on_dark_digit_lands_centred_and_fitted() {
        let img = seven(60, 50, 2.0, 5.0, 8.0, 255, 0);
        let out = preprocess_rgba(&img, 60, 50).expect("has ink");
        assert!(!out.inverted);
        assert_eq!(out.pixels.len(), 784);
        let (cx, cy) = centre_of_mass(&out.pixels);
        assert!((cx - 14.0).abs() <= 0.75 && (cy - 14.0).abs() <= 0.75, "centre of mass at ({cx}, {cy})");
        // The digit's larger side (height) fills 20 pixels.
        let rows_with_ink = (0..28).filter(|y| (0..28).any(|x| out.pixels[y * 28 + x] > 0.1)).count();
        assert!((19..=21).contains(&rows_with_ink), "ink spans {rows_with_ink} rows");
        assert!(out.pixels.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)));
    }

    #[test]
    fn shifted_scaled_and_inverted_digits_agree() {
        let reference = preprocess_rgba(&seven(60, 50, 2.0, 5.0, 8.0, 255, 0), 60, 50).expect("ink").pixels;
        let shifted = preprocess_rgba(&seven(60, 50, 2.0, 30.0, 1.0, 255, 0), 60, 50).expect("ink").pixels;
        let scaled = preprocess_rgba(&seven(200, 180, 7.0, 40.0, 20.0, 255, 0), 200, 180).expect("ink").pixels;
        let inverted = preprocess_rgba(&seven(60, 50, 2.0, 5.0, 8.0, 0, 255), 60, 50).expect("ink");
        assert!(inverted.inverted, "dark ink on light paper must be inverted");
        assert!(l1(&reference, &shifted) < 0.01, "shift changed the input: {}", l1(&reference, &shifted));
        assert!(l1(&reference, &scaled) < 0.05, "scale changed the input: {}", l1(&reference, &scaled));
        assert!(l1(&reference, &inverted.pixels) < 0.01, "polarity changed the input");
        // And a different digit does not agree: the comparison can fail.
        let mut other = vec![0u8; 60 * 50 * 4];
        for (i, p) in other.chunks_exact_mut(4).enumerate() {
            let (x, y) = (i % 60, i / 60);
            let c = if (20..24).contains(&x) && (5..45).contains(&y) { 255 } else { 0 };
            p.copy_from_slice(&[c, c, c, 255]);
        }
        let one = preprocess_rgba(&other, 60, 50).expect("ink").pixels;
        assert!(l1(&reference, &one) > 0.05);
    }

    #[test]
    fn grey_paper_and_grey_ink_are_normalised() {
        let photo = seven(60, 50, 2.0, 5.0, 8.0, 70, 200);
        let out = preprocess_rgba(&photo, 60, 50).expect("ink");
        assert!(out.inverted);
        let max = out.pixels.iter().copied().fold(0.0, f32::max);
        assert!(max > 0.95, "ink should reach full intensity, got {max}");
    }

    #[test]
    fn alpha_only_digit_is_found() {
        // Black everywhere; the digit exists only in the alpha channel.
        let mut img = seven(60, 50, 2.0, 5.0, 8.0, 255, 0);
        for p in img.chunks_exact_mut(4) {
            let a = p[0];
            p.copy_from_slice(&[0, 0, 0, a]);
        }
        let out = preprocess_rgba(&img, 60, 50).expect("alpha ink");
        let reference = preprocess_rgba(&seven(60, 50, 2.0, 5.0, 8.0, 255, 0), 60, 50).expect("ink").pixels;
        assert!(l1(&reference, &out.pixels) < 0.01);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert_eq!(preprocess_rgba(&[], 0, 5), Err(PreprocessError::Empty { width: 0, height: 5 }));
        assert!(matches!(preprocess_rgba(&[0; 15], 2, 2), Err(PreprocessError::LengthMismatch { .. })));
        assert!(matches!(preprocess_rgba(&[], usize::MAX, 3), Err(PreprocessError::TooLarge { .. })));
        assert_eq!(preprocess_rgba(&[255; 400], 10, 10), Err(PreprocessError::NoInk));
        assert_eq!(preprocess_rgba(&[0, 0, 0, 255].repeat(100), 10, 10), Err(PreprocessError::NoInk));
        assert_eq!(preprocess_rgba(&[0; 400], 10, 10), Err(PreprocessError::Invisible), "fully transparent");
        let one_pixel = preprocess_rgba(&[255, 255, 255, 255], 1, 1);
        assert!(one_pixel.is_err(), "a 1×1 image has no border/ink split");
    }

    #[test]
    fn the_row_wise_scans_find_what_the_pixel_wise_ones_did() {
        for x in (0..20_000).map(|i| i as f32 * 0.05123).chain([0.0, 0.5, 1.5, 0.49999997, 1022.5, 1023.0, 2.4999998]) {
            assert_eq!(numeric::round_non_negative(x), x.round() as usize, "round({x})");
        }
        for (w, h) in [(1usize, 1usize), (2, 3), (17, 5), (40, 33), (280, 280)] {
            let grey: Vec<f32> = (0..w * h).map(|i| ((i * 7919) % 101) as f32 / 100.0).collect();
            let ring = (w.min(h) / 16).max(1);
            let pixel_wise: Vec<f32> = (0..w * h)
                .filter(|i| {
                    let (x, y) = (i % w, i / w);
                    x < ring || y < ring || x >= w.saturating_sub(ring) || y >= h.saturating_sub(ring)
                })
                .map(|i| grey[i])
                .collect();
            assert_eq!(border_values(&grey, w, h), pixel_wise, "{w}×{h}");
            let ink: Vec<usize> = (0..w * h).filter(|&i| grey[i] > INK_THRESHOLD).collect();
            let expected = (!ink.is_empty()).then(|| {
                let (xs, ys) = (ink.iter().map(|i| i % w), ink.iter().map(|i| i / w));
                let extent = |v: Vec<usize>| (v.iter().copied().min().expect("ink"), v.iter().copied().max().expect("ink"));
                let ((x0, x1), (y0, y1)) = (extent(xs.collect()), extent(ys.collect()));
                (x0, y0, x1 - x0 + 1, y1 - y0 + 1)
            });
            assert_eq!(ink_bounding_box(&grey, w, h), expected, "{w}×{h}");
        }
    }

    /// The rows and columns holding ink (above a quarter) of a 28×28 image: `(top, bottom, left, right)`.
    fn ink_extent(pixels: &[f32]) -> (usize, usize, usize, usize) {
        let ink: Vec<(usize, usize)> =
            (0..IMAGE_SIDE * IMAGE_SIDE).filter(|&i| pixels[i] > 0.25).map(|i| (i / IMAGE_SIDE, i % IMAGE_SIDE)).collect();
        let extent =
            |values: Vec<usize>| (values.iter().copied().min().expect("some ink"), values.iter().copied().max().expect("some ink"));
        let ((top, bottom), (left, right)) = (extent(ink.iter().map(|p| p.0).collect()), extent(ink.iter().map(|p| p.1).collect()));
        (top, bottom, left, right)
    }

    #[test]
    fn fashion_mnist_items_fill_the_frame_where_mnist_digits_fit_twenty_pixels() {
        let rgba = seven(200, 160, 6.0, 40.0, 20.0, 20, 240);
        let digit = preprocess_rgba_as(&rgba, 200, 160, Preprocessing::CentreOfMass20).expect("a digit");
        let item = preprocess_rgba_as(&rgba, 200, 160, Preprocessing::Fill28).expect("an item");
        let (top, bottom, _, _) = ink_extent(&digit.pixels);
        assert!(bottom - top < FIT_BOX, "MNIST: the 7 is {} rows tall", bottom - top + 1);
        let (top, bottom, left, right) = ink_extent(&item.pixels);
        assert_eq!((top, bottom), (0, IMAGE_SIDE - 1), "Fill28: the taller side fills the frame");
        // Centred as a box: equal margins left and right (to a pixel).
        assert!(left.abs_diff(IMAGE_SIDE - 1 - right) <= 1, "margins {left} and {}", IMAGE_SIDE - 1 - right);
        assert_eq!(preprocess_rgba(&rgba, 200, 160).expect("a digit").pixels, digit.pixels, "MNIST's is the default");
    }
}
