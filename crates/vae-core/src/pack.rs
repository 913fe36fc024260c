//! A dataset pack: a subset of an IDX dataset's train and test images, with labels, in one file
//! the page can load when the user opens training (`trainer pack-data` writes it, gzipped).
//! Grey levels are kept (0–255), so training can binarise afresh every epoch.
//!
//! The envelope is [`crate::framing`] with magic `b"VAEDATA\0"`, a JSON [`PackHeader`] and four
//! parts: train images (`train × 784` bytes), train labels, test images, test labels.

use serde::{Deserialize, Serialize};

use crate::IMAGE_PIXELS;
use crate::framing::{self, FrameError};
use crate::message::{Localized, PageMessage};

/// First bytes of every dataset pack.
pub const MAGIC: &[u8; 8] = b"VAEDATA\0";
/// The version this build writes and reads.
pub const VERSION: u32 = 1;

/// What a pack holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackHeader {
    /// Short dataset name (`mnist`, `fashion-mnist`, `kmnist`).
    pub dataset: String,
    /// Training images in the pack.
    pub train: usize,
    /// Test images in the pack.
    pub test: usize,
    /// Where the images came from (e.g. the first N of the IDX files).
    pub source: String,
}

/// Images and labels of one split, grey levels 0–255.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackSplit {
    /// `count × 784` grey levels, row-major.
    pub images: Vec<u8>,
    /// One label per image.
    pub labels: Vec<u8>,
}

impl PackSplit {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Intensities in [0, 1], as the model sees them.
    pub fn intensities(&self) -> Vec<f32> {
        self.images.iter().map(|&p| p as f32 / 255.0).collect()
    }
}

/// A parsed pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataPack {
    /// What the pack says about itself.
    pub header: PackHeader,
    /// Training images.
    pub train: PackSplit,
    /// Test images (the live views encode these).
    pub test: PackSplit,
}

/// Why bytes are not a dataset pack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    /// The envelope is damaged, foreign or of another version.
    #[error("not a usable dataset pack ({0}); rebuild it with `trainer pack-data`")]
    Frame(#[from] FrameError),
    /// The header does not parse.
    #[error("dataset pack header is invalid: {0}")]
    Header(String),
    /// The parts do not match the header's counts.
    #[error("dataset pack is inconsistent: {0}; rebuild it with `trainer pack-data`")]
    Inconsistent(String),
}

impl Localized for PackError {
    fn page_message(&self) -> PageMessage {
        PageMessage::new("error.pack")
    }
}

impl DataPack {
    /// The pack's bytes (not compressed; the trainer gzips them).
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = serde_json::to_vec(&self.header).expect("PackHeader holds only strings and numbers: JSON cannot fail");
        let parts: [&[u8]; 4] = [&self.train.images, &self.train.labels, &self.test.images, &self.test.labels];
        framing::write(MAGIC, VERSION, &header, &parts)
    }

    /// Parses and checks a pack's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PackError> {
        let frame = framing::read(bytes, MAGIC, VERSION..=VERSION, 4)?;
        let header: PackHeader = serde_json::from_slice(frame.header).map_err(|e| PackError::Header(e.to_string()))?;
        let split = |images: &[u8], labels: &[u8], count: usize, what: &str| {
            if labels.len() != count || images.len() != count * IMAGE_PIXELS {
                return Err(PackError::Inconsistent(format!(
                    "{what}: the header says {count} images, the pack holds {} labels and {} bytes of pixels",
                    labels.len(),
                    images.len()
                )));
            }
            if let Some(&bad) = labels.iter().find(|&&l| l > 9) {
                return Err(PackError::Inconsistent(format!("{what}: label {bad} is not a class 0–9")));
            }
            Ok(PackSplit { images: images.to_vec(), labels: labels.to_vec() })
        };
        let train = split(frame.parts[0], frame.parts[1], header.train, "train")?;
        let test = split(frame.parts[2], frame.parts[3], header.test, "test")?;
        Ok(Self { header, train, test })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack() -> DataPack {
        let split = |n: usize| PackSplit {
            images: (0..n * IMAGE_PIXELS).map(|i| (i % 251) as u8).collect(),
            labels: (0..n).map(|i| (i % 10) as u8).collect(),
        };
        DataPack {
            header: PackHeader { dataset: "mnist".into(), train: 3, test: 2, source: "test".into() },
            train: split(3),
            test: split(2),
        }
    }

    #[test]
    fn a_pack_reads_back_and_a_lying_header_is_refused() {
        let original = pack();
        assert_eq!(DataPack::from_bytes(&original.to_bytes()).expect("reads back"), original);
        let mut lying = original.clone();
        lying.header.train = 4;
        assert!(matches!(DataPack::from_bytes(&lying.to_bytes()), Err(PackError::Inconsistent(_))));
        let mut bad_label = original;
        bad_label.test.labels[1] = 12;
        assert!(matches!(DataPack::from_bytes(&bad_label.to_bytes()), Err(PackError::Inconsistent(_))));
        assert!(matches!(DataPack::from_bytes(b"VAEXPLR\0garbage"), Err(PackError::Frame(FrameError::BadMagic))));
    }
}
