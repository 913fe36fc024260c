//! Property tests (a bounded fuzz run on every `cargo test`): whatever bytes arrive, the
//! preprocessing, the IDX parser and the weights loader answer with a value or a named error,
//! never a panic, and every image they produce is finite.
//!
//! `PROPTEST_CASES=100000 cargo test -p vae-core --test properties --release` runs a longer fuzz;
//! docs/robustness.md records the counts run so far.

mod common;

use burn::prelude::*;
use proptest::prelude::*;
use vae_core::idx::{IdxImages, encode_images, encode_labels, parse_images, parse_labels};
use vae_core::preprocess::preprocess_rgba;
use vae_core::{VaeConfig, WeightsFile, WeightsMeta};

fn check_model_input(pixels: &[f32]) {
    assert_eq!(pixels.len(), 784);
    assert!(pixels.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)), "out-of-range pixel");
}

/// A small valid weights file (tiny hidden layers keep the property fast).
fn small_weights_file() -> Vec<u8> {
    let config = VaeConfig::new().with_hidden(vec![8]);
    let meta = WeightsMeta { name: "fuzz".into(), test_posteriors: vec![[0.1, -0.2, 0.9, 0.8, 3.0]], ..common::meta(config.clone()) };
    WeightsFile::from_model(config.init(&Device::flex()), meta).expect("pack").to_bytes()
}

/// Recomputes the trailing CRC-32, so mutations reach the parser behind the checksum.
fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.len() >= 4 {
        let body = bytes.len() - 4;
        let crc = crc32fast::hash(&bytes[..body]);
        bytes[body..].copy_from_slice(&crc.to_le_bytes());
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn preprocessing_any_buffer_is_an_image_or_an_error(
        width in 0usize..48,
        height in 0usize..48,
        extra in -8isize..8,
        seed in any::<u64>(),
    ) {
        let len = ((width * height * 4) as isize + extra).max(0) as usize;
        let mut state = seed | 1;
        let rgba: Vec<u8> = (0..len).map(|_| { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state as u8 }).collect();
        if let Ok(out) = preprocess_rgba(&rgba, width, height) {
            prop_assert_eq!(extra, 0, "a buffer of the wrong length was accepted");
            check_model_input(&out.pixels);
        }
    }

    #[test]
    fn preprocessing_structured_images_stays_finite(
        width in 1usize..40,
        height in 1usize..40,
        (bg, ink, alpha_bg, alpha_ink) in (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>()),
        (x0, y0, x1, y1) in (0.0f32..1.0, 0.0f32..1.0, 0.0f32..1.0, 0.0f32..1.0),
    ) {
        // A rectangle of ink on a background, every colour and alpha combination.
        let mut rgba = Vec::with_capacity(width * height * 4);
        for y in 0..height {
            for x in 0..width {
                let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
                let inside = fx >= x0.min(x1) && fx <= x0.max(x1) && fy >= y0.min(y1) && fy <= y0.max(y1);
                let (v, a) = if inside { (ink, alpha_ink) } else { (bg, alpha_bg) };
                rgba.extend_from_slice(&[v, v, v, a]);
            }
        }
        if let Ok(out) = preprocess_rgba(&rgba, width, height) {
            check_model_input(&out.pixels);
            prop_assert!(out.pixels.iter().any(|&v| v > 0.0), "accepted an image but found no ink");
        }
    }

    #[test]
    fn idx_parsers_answer_any_bytes_with_consistent_data_or_a_named_error(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        // Whatever the bytes, a value whose sizes agree with the file (a rank-3 header is 16
        // bytes, a rank-1 header 8), or an error that says something.
        match parse_images(&bytes) {
            Ok(images) => {
                prop_assert_eq!(images.pixels.len(), images.count * images.rows * images.cols);
                prop_assert_eq!(images.pixels.as_slice(), &bytes[16..16 + images.pixels.len()]);
            }
            Err(err) => prop_assert!(!err.to_string().is_empty()),
        }
        match parse_labels(&bytes) {
            Ok(labels) => prop_assert_eq!(labels.as_slice(), &bytes[8..8 + labels.len()]),
            Err(err) => prop_assert!(!err.to_string().is_empty()),
        }
    }

    #[test]
    fn idx_valid_headers_with_any_body_parse_consistently_or_fail_by_name(
        dims in (0u32..6, 0u32..6, 0u32..6), huge in any::<bool>(), exact in any::<bool>(),
        mut body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        // Random bytes rarely get past the magic number: here every file has a valid header
        // (rank-3 images, rank-1 labels) over a body that fits its sizes exactly (half the cases),
        // or not, or sizes that overflow.
        let (count, rows, cols) = if huge { (u32::MAX, dims.1.max(1) * 40_000, dims.2.max(1) * 40_000) } else { dims };
        let size = (count as usize).saturating_mul(rows as usize).saturating_mul(cols as usize);
        if exact && !huge {
            body.resize(size, 7);
        }
        let mut file = [0x0000_0803u32, count, rows, cols].iter().flat_map(|v| v.to_be_bytes()).collect::<Vec<u8>>();
        file.extend_from_slice(&body);
        match parse_images(&file) {
            Ok(images) => {
                prop_assert_eq!((images.count, images.rows, images.cols), (count as usize, rows as usize, cols as usize));
                prop_assert_eq!(images.pixels.as_slice(), body.as_slice());
            }
            Err(err) => {
                prop_assert!(!err.to_string().is_empty());
                prop_assert!(huge || body.len() != size || size == 0, "refused a file whose body holds exactly its {} pixels: {}", size, err);
            }
        }
        let mut labels = [0x0000_0801u32, count].iter().flat_map(|v| v.to_be_bytes()).collect::<Vec<u8>>();
        labels.extend_from_slice(&body);
        match parse_labels(&labels) {
            Ok(parsed) => prop_assert_eq!(parsed.as_slice(), body.as_slice()),
            Err(err) => prop_assert!(!err.to_string().is_empty()),
        }
    }

    #[test]
    fn idx_damaged_files_are_refused_or_consistent(
        count in 1usize..5, rows in 1usize..6, cols in 1usize..6,
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(), mask in 1u8..=255,
    ) {
        let images = IdxImages { count, rows, cols, pixels: (0..count * rows * cols).map(|i| i as u8).collect() };
        let good = encode_images(&images);
        let parsed = parse_images(&good);
        prop_assert_eq!(parsed.as_ref(), Ok(&images));
        // Cut short anywhere: always an error.
        let cut_at = cut.index(good.len());
        prop_assert!(parse_images(&good[..cut_at]).is_err(), "accepted a file cut at {}", cut_at);
        // One byte changed: an error, or images whose sizes agree with the file.
        let mut bad = good.clone();
        let at = flip.index(bad.len());
        bad[at] ^= mask;
        if let Ok(parsed) = parse_images(&bad) {
            prop_assert_eq!(parsed.pixels.len(), parsed.count * parsed.rows * parsed.cols);
        }
        let labels = encode_labels(&images.pixels);
        prop_assert!(parse_labels(&labels[..cut.index(labels.len())]).is_err());
    }
    #[test]
    fn weights_with_any_damage_behind_a_valid_checksum_load_or_fail_cleanly(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let mut bytes = small_weights_file();
        let body = bytes.len() - 4;
        for (at, value) in &edits {
            let i = at.index(body);
            bytes[i] = *value;
        }
        if let Some(cut) = cut {
            let keep = cut.index(bytes.len());
            bytes.truncate(keep);
        }
        let bytes = reseal(bytes);
        if let Ok(file) = WeightsFile::from_bytes(&bytes)
            && let Ok(model) = file.load_model(&Device::flex())
        {
            // Whatever loaded must decode to finite intensities.
            let images = model.decode(Tensor::<2>::zeros([1, 2], &Device::flex()));
            let values = images.into_data().try_to_vec::<f32>().expect("f32");
            prop_assert!(values.iter().all(|v| v.is_finite()), "loaded weights decode to non-finite pixels");
        }
    }
}
