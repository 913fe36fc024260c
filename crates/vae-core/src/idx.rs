//! The IDX format of MNIST, Fashion-MNIST and KMNIST (LeCun et al., "THE MNIST DATABASE").
//!
//! ```text
//! [0, 0, type, rank]  magic: two zero bytes, element type (0x08 = u8), number of dimensions
//! rank × u32 BE       size of each dimension
//! data                the elements, row-major
//! ```
//!
//! Parsing works on bytes already in memory (decompression and file reading are the trainer's
//! job); a malformed file is an [`IdxError`], never a panic.

/// Why bytes are not a usable IDX file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdxError {
    /// Fewer bytes than the header needs.
    #[error("too short for an IDX header ({0} bytes)")]
    TooShort(usize),
    /// The first two bytes are not zero.
    #[error("bad magic number {0:#010x} (not an IDX file, or still gzipped?)")]
    BadMagic(u32),
    /// Element type other than unsigned bytes.
    #[error("element type {0:#04x} is not supported (only 0x08, unsigned byte)")]
    UnsupportedType(u8),
    /// A rank other than the one asked for (3 for images, 1 for labels).
    #[error("expected {expected} dimensions, found {found}")]
    Rank {
        /// Rank wanted.
        expected: u8,
        /// Rank in the file.
        found: u8,
    },
    /// The data is not as long as the dimensions say.
    #[error("dimensions say {expected} data bytes but the file has {actual} (truncated or corrupted)")]
    SizeMismatch {
        /// Bytes the header promises.
        expected: u64,
        /// Bytes actually present.
        actual: u64,
    },
}

/// A stack of greyscale images from an IDX3 file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `count × rows × cols` intensities, 0 = background.
    pub pixels: Vec<u8>,
}

impl IdxImages {
    /// Pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.rows * self.cols;
        &self.pixels[i * n..(i + 1) * n]
    }
}

/// Parses an IDX file of rank 3 with u8 elements (images).
pub fn parse_images(bytes: &[u8]) -> Result<IdxImages, IdxError> {
    let (dims, data) = parse(bytes, 3)?;
    Ok(IdxImages { count: dims[0], rows: dims[1], cols: dims[2], pixels: data.to_vec() })
}

/// Parses an IDX file of rank 1 with u8 elements (labels).
pub fn parse_labels(bytes: &[u8]) -> Result<Vec<u8>, IdxError> {
    let (_, data) = parse(bytes, 1)?;
    Ok(data.to_vec())
}

fn parse(bytes: &[u8], rank: u8) -> Result<(Vec<usize>, &[u8]), IdxError> {
    if bytes.len() < 4 {
        return Err(IdxError::TooShort(bytes.len()));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(IdxError::BadMagic(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])));
    }
    if bytes[2] != 0x08 {
        return Err(IdxError::UnsupportedType(bytes[2]));
    }
    if bytes[3] != rank {
        return Err(IdxError::Rank { expected: rank, found: bytes[3] });
    }
    let header = 4 + 4 * rank as usize;
    if bytes.len() < header {
        return Err(IdxError::TooShort(bytes.len()));
    }
    let dims: Vec<usize> = bytes[4..header].chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize).collect();
    // u64 so that hostile dimensions cannot overflow the product.
    let expected = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64)).unwrap_or(u64::MAX);
    let actual = (bytes.len() - header) as u64;
    if expected != actual {
        return Err(IdxError::SizeMismatch { expected, actual });
    }
    Ok((dims, &bytes[header..]))
}

/// Encodes images as an IDX3 file (for tests and for writing small datasets).
pub fn encode_images(images: &IdxImages) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, 3];
    for d in [images.count, images.rows, images.cols] {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(&images.pixels);
    out
}

/// Encodes labels as an IDX1 file.
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, 1];
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> IdxImages {
        IdxImages { count: 2, rows: 3, cols: 2, pixels: (0..12).collect() }
    }

    #[test]
    fn round_trips_images_and_labels() {
        let images = sample();
        let parsed = parse_images(&encode_images(&images)).expect("valid file");
        assert_eq!(parsed, images);
        assert_eq!(parsed.image(1), &[6, 7, 8, 9, 10, 11]);
        assert_eq!(parse_labels(&encode_labels(&[3, 1, 4])).expect("valid"), vec![3, 1, 4]);
    }

    #[test]
    fn rejects_wrong_magic() {
        let mut bytes = encode_images(&sample());
        bytes[0] = 0x1f; // a gzip header starts 0x1f 0x8b
        assert!(matches!(parse_images(&bytes), Err(IdxError::BadMagic(_))));
        bytes[0] = 0;
        bytes[2] = 0x0d; // float elements
        assert_eq!(parse_images(&bytes), Err(IdxError::UnsupportedType(0x0d)));
    }

    #[test]
    fn rejects_wrong_rank() {
        let bytes = encode_labels(&[1, 2]);
        assert_eq!(parse_images(&bytes), Err(IdxError::Rank { expected: 3, found: 1 }));
    }

    #[test]
    fn rejects_truncated_and_oversized() {
        let bytes = encode_images(&sample());
        for cut in 0..bytes.len() {
            assert!(parse_images(&bytes[..cut]).is_err(), "cut at {cut} accepted");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(parse_images(&longer), Err(IdxError::SizeMismatch { expected: 12, actual: 13 }));
    }

    #[test]
    fn hostile_dimensions_do_not_overflow() {
        let mut bytes = vec![0, 0, 8, 3];
        for _ in 0..3 {
            bytes.extend_from_slice(&u32::MAX.to_be_bytes());
        }
        assert!(matches!(parse_images(&bytes), Err(IdxError::SizeMismatch { .. })));
    }
}
