//! The envelope every file of ours is written in (weights `.vaew` and training checkpoints):
//!
//! ```text
//! offset  size  field
//! 0       8     magic, names the kind of file (b"VAEXPLR\0", b"VAECKPT\0")
//! 8       4     format version, u32 LE
//! 12      4     header length H, u32 LE
//! 16      H     header (JSON)
//! 16+H    8+Pᵢ  each part: its length Pᵢ, u64 LE, then its bytes
//! end−4   4     CRC-32 (IEEE) of every byte before it, u32 LE
//! ```
//!
//! Reading checks each field in that order and refuses anything that runs past the end, so a
//! truncated, foreign, newer or corrupted file is a [`FrameError`] that names the problem; the
//! callers turn it into their own message.

use core::ops::RangeInclusive;

/// A header larger than this is not one of ours (guards allocation on hostile input).
pub const MAX_HEADER_LEN: usize = 1 << 20;

/// Why bytes are not a well-formed frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Shorter than its own fields say; names the field that runs past the end.
    #[error("truncated ({0})")]
    Truncated(&'static str),
    /// Another kind of file.
    #[error("bad magic bytes")]
    BadMagic,
    /// A version this build does not read.
    #[error("format version {found} is not supported")]
    Version {
        /// Version found in the file.
        found: u32,
    },
    /// The header length is implausible.
    #[error("header claims {0} bytes")]
    HeaderTooLarge(usize),
    /// The bytes changed after they were written.
    #[error("checksum {found:#010x}, expected {expected:#010x}")]
    Checksum {
        /// Checksum computed over the file.
        found: u32,
        /// Checksum stored in the file.
        expected: u32,
    },
}

/// A parsed frame, borrowing from the file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The format version the file was written with.
    pub version: u32,
    /// The header's bytes (JSON, parsed by the caller).
    pub header: &'a [u8],
    /// The parts, in order.
    pub parts: Vec<&'a [u8]>,
}

/// The bytes of a frame holding `header` and `parts`.
pub fn write(magic: &[u8; 8], version: u32, header: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let total = 8 + 4 + 4 + header.len() + parts.iter().map(|p| 8 + p.len()).sum::<usize>() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(magic);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(header);
    for part in parts {
        out.extend_from_slice(&(part.len() as u64).to_le_bytes());
        out.extend_from_slice(part);
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Parses and verifies a frame of `part_count` parts: magic, a version within `versions`, the
/// lengths, then the checksum.
pub fn read<'a>(bytes: &'a [u8], magic: &[u8; 8], versions: RangeInclusive<u32>, part_count: usize) -> Result<Frame<'a>, FrameError> {
    let mut cursor = Cursor { bytes, pos: 0 };
    if cursor.take(8, "magic")? != magic {
        return Err(FrameError::BadMagic);
    }
    let version = u32::from_le_bytes(cursor.array("version")?);
    if !versions.contains(&version) {
        return Err(FrameError::Version { found: version });
    }
    let header_len = u32::from_le_bytes(cursor.array("header length")?) as usize;
    if header_len > MAX_HEADER_LEN {
        return Err(FrameError::HeaderTooLarge(header_len));
    }
    let header = cursor.take(header_len, "header")?;
    let mut parts = Vec::with_capacity(part_count);
    for _ in 0..part_count {
        let len = usize::try_from(u64::from_le_bytes(cursor.array("part length")?)).map_err(|_| FrameError::Truncated("part"))?;
        parts.push(cursor.take(len, "part")?);
    }
    let body_end = cursor.pos;
    let expected = u32::from_le_bytes(cursor.array("checksum")?);
    let found = crc32fast::hash(&bytes[..body_end]);
    if found != expected {
        return Err(FrameError::Checksum { found, expected });
    }
    Ok(Frame { version, header, parts })
}

/// Bounded reader over the bytes; running past the end is [`FrameError::Truncated`].
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FrameError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or(FrameError::Truncated(what))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], FrameError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC: &[u8; 8] = b"TESTFRM\0";

    #[test]
    fn a_frame_reads_back_and_every_cut_or_flip_is_refused() {
        let bytes = write(MAGIC, 3, b"{\"a\":1}", &[b"first", b"", b"third part"]);
        let frame = read(&bytes, MAGIC, 1..=3, 3).expect("reads back");
        assert_eq!(frame, Frame { version: 3, header: b"{\"a\":1}", parts: vec![b"first", b"", b"third part"] });
        for cut in 0..bytes.len() {
            assert!(matches!(read(&bytes[..cut], MAGIC, 1..=3, 3), Err(FrameError::Truncated(_))), "cut at {cut}");
        }
        for i in 16..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x10;
            assert!(read(&flipped, MAGIC, 1..=3, 3).is_err(), "flip at {i}");
        }
        assert_eq!(read(&bytes, b"OTHERFM\0", 1..=3, 3), Err(FrameError::BadMagic));
        assert_eq!(read(&bytes, MAGIC, 1..=2, 3), Err(FrameError::Version { found: 3 }));
        let mut huge = bytes.clone();
        huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(read(&huge, MAGIC, 1..=3, 3), Err(FrameError::HeaderTooLarge(u32::MAX as usize)));
    }
}
