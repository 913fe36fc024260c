//! Every error of vae-core the page can show has its message in the page's English catalogue,
//! with exactly the placeholders the error fills in (the browser tests check every other
//! language against English).

use vae_core::message::{ENGLISH_CATALOGUE, check_against_catalogue};
use vae_core::model::NotExplorable;
use vae_core::pack::PackError;
use vae_core::{Localized, PreprocessError, WeightsError};

#[test]
fn every_page_error_has_its_english_message_with_the_same_placeholders() {
    let catalogue =
        std::fs::read_to_string(format!("{}/../../{ENGLISH_CATALOGUE}", env!("CARGO_MANIFEST_DIR"))).expect("the catalogue is readable");
    let every_error: Vec<Box<dyn Localized>> = vec![
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
    ];
    for err in every_error {
        if let Err(problem) = check_against_catalogue(&catalogue, &err.page_message()) {
            panic!("“{err}”: {problem}");
        }
    }
}
