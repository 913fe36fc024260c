//! Every error of vae-core the page can show has its message in the page's English catalogue,
//! with exactly the placeholders the error fills in (the browser tests check every other
//! language against English).

use std::collections::BTreeSet;

use vae_core::framing::FrameError;
use vae_core::message::{ENGLISH_CATALOGUE, check_against_catalogue};
use vae_core::model::NotExplorable;
use vae_core::pack::PackError;
use vae_core::{Localized, PreprocessError, WeightsError};

/// An error the page can show: its catalogue message, its English text, and what it is.
trait PageError: Localized + std::fmt::Display {
    fn as_any(&self) -> &dyn std::any::Any;
}

impl<T: Localized + std::fmt::Display + 'static> PageError for T {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// One error of each variant (checked by [`every_variant_has_a_sample`]).
fn samples() -> Vec<Box<dyn PageError>> {
    vec![
        Box::new(WeightsError::Truncated("payload".into())),
        Box::new(WeightsError::BadMagic),
        Box::new(WeightsError::Version { found: 9 }),
        Box::new(WeightsError::Checksum { found: 1, expected: 2 }),
        Box::new(WeightsError::Header("eof".into())),
        Box::new(WeightsError::NotExplorable(NotExplorable::LatentDimensions { found: 8 })),
        Box::new(WeightsError::NotExplorable(NotExplorable::InputSize { found: 100 })),
        Box::new(WeightsError::NotExplorable(NotExplorable::EmptyLayer)),
        Box::new(WeightsError::Architecture("shape".into())),
        Box::new(WeightsError::NonFinite("decoder.0.weight".into())),
        Box::new(WeightsError::Record("io".into())),
        Box::new(PreprocessError::Empty { width: 0, height: 3 }),
        Box::new(PreprocessError::LengthMismatch { width: 2, height: 2, expected: 16, actual: 15 }),
        Box::new(PreprocessError::TooLarge { width: 9000, height: 9000 }),
        Box::new(PreprocessError::Invisible),
        Box::new(PreprocessError::NoInk),
        Box::new(PackError::Header("eof".into())),
        Box::new(PackError::Inconsistent("labels".into())),
        Box::new(PackError::Frame(FrameError::BadMagic)),
    ]
}

#[test]
fn every_page_error_has_its_english_message_with_the_same_placeholders() {
    let catalogue =
        std::fs::read_to_string(format!("{}/../../{ENGLISH_CATALOGUE}", env!("CARGO_MANIFEST_DIR"))).expect("the catalogue is readable");
    for err in samples() {
        if let Err(problem) = check_against_catalogue(&catalogue, &err.page_message()) {
            panic!("“{err}”: {problem}");
        }
    }
}

/// Which variant an error is, by a match the compiler makes exhaustive: a new variant does not
/// build until it has an arm here, and then [`every_variant_has_a_sample`] fails until the list
/// above has one of it.
fn variant(err: &dyn std::any::Any) -> &'static str {
    if let Some(e) = err.downcast_ref::<WeightsError>() {
        return match e {
            WeightsError::Truncated(_) => "weights.truncated",
            WeightsError::BadMagic => "weights.bad-magic",
            WeightsError::Version { .. } => "weights.version",
            WeightsError::Checksum { .. } => "weights.checksum",
            WeightsError::Header(_) => "weights.header",
            WeightsError::NotExplorable(NotExplorable::LatentDimensions { .. }) => "weights.latent",
            WeightsError::NotExplorable(NotExplorable::InputSize { .. }) => "weights.input",
            WeightsError::NotExplorable(NotExplorable::EmptyLayer) => "weights.empty-layer",
            WeightsError::Architecture(_) => "weights.architecture",
            WeightsError::NonFinite(_) => "weights.non-finite",
            WeightsError::Record(_) => "weights.record",
        };
    }
    if let Some(e) = err.downcast_ref::<PreprocessError>() {
        return match e {
            PreprocessError::Empty { .. } => "preprocess.empty",
            PreprocessError::LengthMismatch { .. } => "preprocess.length",
            PreprocessError::TooLarge { .. } => "preprocess.too-large",
            PreprocessError::Invisible => "preprocess.invisible",
            PreprocessError::NoInk => "preprocess.no-ink",
        };
    }
    if let Some(e) = err.downcast_ref::<PackError>() {
        return match e {
            PackError::Frame(_) => "pack.frame",
            PackError::Header(_) => "pack.header",
            PackError::Inconsistent(_) => "pack.inconsistent",
        };
    }
    "unknown"
}

/// Every variant's name, one per arm of [`variant`].
const VARIANTS: [&str; 19] = [
    "weights.truncated",
    "weights.bad-magic",
    "weights.version",
    "weights.checksum",
    "weights.header",
    "weights.latent",
    "weights.input",
    "weights.empty-layer",
    "weights.architecture",
    "weights.non-finite",
    "weights.record",
    "preprocess.empty",
    "preprocess.length",
    "preprocess.too-large",
    "preprocess.invisible",
    "preprocess.no-ink",
    "pack.frame",
    "pack.header",
    "pack.inconsistent",
];

#[test]
fn every_variant_has_a_sample() {
    let covered: BTreeSet<&str> = samples().iter().map(|e| variant(e.as_any())).collect();
    let all: BTreeSet<&str> = VARIANTS.into_iter().collect();
    assert_eq!(covered, all, "the samples above and the variants of the page's error types differ");
}
