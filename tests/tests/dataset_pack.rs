//! The committed dataset pack the page trains on (`datasets/mnist.vaed.gz`) holds exactly the
//! first images of the MNIST IDX files, where those files are present (CI has them in
//! `../shared/data/mnist`, or set VAE_DATA_DIR).

use std::io::Read;
use std::path::{Path, PathBuf};

use vae_core::pack::DataPack;

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("gzip");
    out
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn committed_pack() -> DataPack {
    let bytes = std::fs::read(root().join("datasets/mnist.vaed.gz")).expect("datasets/mnist.vaed.gz is committed");
    DataPack::from_bytes(&gunzip(&bytes)).expect("a valid pack")
}

#[test]
fn the_committed_pack_is_large_enough_and_small_enough() {
    let pack = committed_pack();
    assert_eq!(pack.header.dataset, "mnist");
    assert!(pack.train.len() >= 10_000 && pack.test.len() >= 1_000, "{:?}", pack.header);
    let gz = std::fs::metadata(root().join("datasets/mnist.vaed.gz")).expect("pack").len();
    assert!(gz <= 3_000_000, "the pack is {gz} bytes gzipped");
    // All ten digits, in both splits.
    for split in [&pack.train, &pack.test] {
        assert!((0..10u8).all(|d| split.labels.contains(&d)));
    }
}

/// Needs the MNIST IDX files, so it is ignored by a plain `cargo test` (its result says so, rather
/// than passing without checking); `cargo xtask test` runs it with `--ignored` where they are.
#[test]
#[ignore = "compares with the MNIST IDX files: `cargo test -p integration-tests --test dataset_pack -- --ignored` (VAE_DATA_DIR)"]
fn the_committed_pack_matches_the_idx_files() {
    let dir = std::env::var("VAE_DATA_DIR").map(PathBuf::from).unwrap_or_else(|_| root().join("../shared/data/mnist"));
    let read = |name: &str| -> Option<Vec<u8>> {
        std::fs::read(dir.join(name)).ok().or_else(|| std::fs::read(dir.join(format!("{name}.gz"))).ok().map(|b| gunzip(&b)))
    };
    let train_images =
        read("train-images-idx3-ubyte").unwrap_or_else(|| panic!("no MNIST IDX files in {} (set VAE_DATA_DIR)", dir.display()));
    let pack = committed_pack();
    let train = vae_core::idx::parse_images(&train_images).expect("IDX");
    assert_eq!(pack.train.images, train.pixels[..pack.train.len() * 784], "training pixels differ from the IDX file");
    let labels = vae_core::idx::parse_labels(&read("train-labels-idx1-ubyte").expect("labels")).expect("IDX");
    assert_eq!(pack.train.labels, labels[..pack.train.len()]);
    let test = vae_core::idx::parse_images(&read("t10k-images-idx3-ubyte").expect("test images")).expect("IDX");
    assert_eq!(pack.test.images, test.pixels[..pack.test.len() * 784], "test pixels differ from the IDX file");
    let labels = vae_core::idx::parse_labels(&read("t10k-labels-idx1-ubyte").expect("labels")).expect("IDX");
    assert_eq!(pack.test.labels, labels[..pack.test.len()]);
}
