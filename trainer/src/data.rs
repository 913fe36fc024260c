//! MNIST-style IDX datasets on disk: find, decompress, download when missing, parse.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use vae_core::WeightsMeta;
use vae_core::dataset::{self, DatasetInfo};
use vae_core::idx::{self, IdxImages};

/// The four files of an IDX dataset, by their standard names.
pub const FILES: [&str; 4] = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

/// The IDX datasets the trainer knows: same file names, same 28×28 format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DatasetName {
    /// Handwritten digits (LeCun et al.).
    Mnist,
    /// Zalando's clothing images (Xiao et al. 2017).
    FashionMnist,
    /// Kuzushiji, cursive Japanese characters (Clanuwat et al. 2018).
    Kmnist,
}

impl DatasetName {
    /// What vae-core knows of it: id, class names, preprocessing.
    pub fn info(self) -> &'static DatasetInfo {
        match self {
            DatasetName::Mnist => &dataset::MNIST,
            DatasetName::FashionMnist => &dataset::FASHION_MNIST,
            DatasetName::Kmnist => &dataset::KMNIST,
        }
    }

    /// Short name (vae-core's id), also the default folder under `data/`.
    pub fn as_str(self) -> &'static str {
        self.info().id
    }

    /// The dataset whose id is `id` (as a weights file names it).
    pub fn from_id(id: &str) -> Option<Self> {
        [DatasetName::Mnist, DatasetName::FashionMnist, DatasetName::Kmnist].into_iter().find(|d| d.as_str() == id)
    }

    /// Public mirrors of the gzipped IDX files, tried in order.
    fn mirrors(self) -> &'static [&'static str] {
        match self {
            DatasetName::Mnist => {
                &["https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/"]
            }
            DatasetName::FashionMnist => &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
            DatasetName::Kmnist => &["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"],
        }
    }
}

/// Where the data comes from: shared by every subcommand that reads a dataset.
#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    /// Which IDX dataset [default: mnist; for `eval` and `annotate`, the one the weights file
    /// was trained on].
    #[arg(long, value_enum)]
    pub dataset: Option<DatasetName>,
    /// Folder with the four IDX files (.gz or raw); downloaded there when missing
    /// [default: data/<dataset>].
    #[arg(long, env = "VAE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Never download; fail with instructions when files are missing.
    #[arg(long, env = "VAE_NO_DOWNLOAD")]
    pub no_download: bool,
}

impl DataArgs {
    /// The dataset asked for (MNIST when none is).
    pub fn dataset(&self) -> DatasetName {
        self.dataset.unwrap_or(DatasetName::Mnist)
    }

    /// Loads the dataset as asked.
    pub fn load(&self) -> Result<Dataset> {
        self.load_named(self.dataset())
    }

    /// Loads the dataset a model was trained on (`meta.dataset`); `--dataset`, if given, must
    /// agree with it.
    pub fn load_for(&self, meta: &WeightsMeta) -> Result<Dataset> {
        let trained_on = DatasetName::from_id(&meta.dataset);
        let name = match (self.dataset, trained_on) {
            (Some(asked), Some(file)) if asked != file => bail!(
                "the model was trained on {} but --dataset says {}; leave --dataset out to use the model's",
                file.as_str(),
                asked.as_str()
            ),
            (Some(asked), _) => asked,
            (None, Some(file)) => file,
            (None, None) => bail!("the model was trained on {:?}, a dataset the trainer does not know; pass --dataset", meta.dataset),
        };
        self.load_named(name)
    }

    fn load_named(&self, name: DatasetName) -> Result<Dataset> {
        let dir = self.data_dir.clone().unwrap_or_else(|| Path::new("data").join(name.as_str()));
        load(&dir, name, !self.no_download)
    }
}

/// Images and labels of one split, intensities scaled to [0, 1].
#[derive(Debug)]
pub struct Split {
    /// `count × 784` intensities.
    pub pixels: Vec<f32>,
    /// One label per image.
    pub labels: Vec<u8>,
}

impl Split {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Keeps only the first `n` images (for smoke runs).
    pub fn truncate(&mut self, n: usize) {
        let n = n.min(self.len());
        self.labels.truncate(n);
        self.pixels.truncate(n * vae_core::IMAGE_PIXELS);
    }

    /// Moves `n` images chosen by `seed` (a seeded shuffle's first `n`) into a split of their
    /// own, both keeping the images' order; returns it. The same seed holds out the same images.
    pub fn hold_out(&mut self, n: usize, seed: u64) -> Split {
        use rand::SeedableRng;
        use rand::seq::SliceRandom;
        /// Keeps the held-out choice apart from the run's other seeded streams.
        const SALT: u64 = 0x7a11_da7e_5eed_0001;
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(&mut rand::rngs::SmallRng::seed_from_u64(seed ^ SALT));
        let mut held = vec![false; self.len()];
        order.iter().take(n).for_each(|&i| held[i] = true);
        let (mut kept, mut out) = (Split { pixels: Vec::new(), labels: Vec::new() }, Split { pixels: Vec::new(), labels: Vec::new() });
        for (i, (image, &label)) in self.pixels.chunks_exact(vae_core::IMAGE_PIXELS).zip(&self.labels).enumerate() {
            let split = if held[i] { &mut out } else { &mut kept };
            split.pixels.extend_from_slice(image);
            split.labels.push(label);
        }
        *self = kept;
        out
    }
}

/// The train and test splits of a dataset.
#[derive(Debug)]
pub struct Dataset {
    /// 60,000 training images for MNIST.
    pub train: Split,
    /// 10,000 test images for MNIST.
    pub test: Split,
}

/// Loads the dataset from `dir`, downloading missing files first unless `allow_download` is off.
pub fn load(dir: &Path, name: DatasetName, allow_download: bool) -> Result<Dataset> {
    let missing: Vec<&str> = FILES.iter().copied().filter(|f| find(dir, f).is_none()).collect();
    if !missing.is_empty() {
        if !allow_download {
            bail!(missing_message(dir, &missing, "downloading is turned off (--no-download)"));
        }
        fs::create_dir_all(dir).with_context(|| format!("creating the data directory {}", dir.display()))?;
        for file in &missing {
            if let Err(err) = download(dir, file, name) {
                bail!(missing_message(dir, &missing, &format!("the download failed: {err:#}")));
            }
        }
    }
    let read = |name: &str| -> Result<Vec<u8>> {
        let path = find(dir, name).with_context(|| format!("{name} disappeared from {}", dir.display()))?;
        read_maybe_gz(&path)
    };
    let split = |images: &str, labels: &str| -> Result<Split> {
        let imgs = idx::parse_images(&read(images)?).with_context(|| format!("{images} in {}", dir.display()))?;
        let labels_v = idx::parse_labels(&read(labels)?).with_context(|| format!("{labels} in {}", dir.display()))?;
        check_split(&imgs, &labels_v, images)?;
        Ok(Split { pixels: imgs.pixels.iter().map(|&p| p as f32 / 255.0).collect(), labels: labels_v })
    };
    Ok(Dataset { train: split(FILES[0], FILES[1])?, test: split(FILES[2], FILES[3])? })
}

fn check_split(images: &IdxImages, labels: &[u8], name: &str) -> Result<()> {
    if images.rows * images.cols != vae_core::IMAGE_PIXELS {
        bail!("{name}: images are {}×{}, the model needs 28×28", images.rows, images.cols);
    }
    if images.count != labels.len() {
        bail!("{name}: {} images but {} labels", images.count, labels.len());
    }
    Ok(())
}

fn missing_message(dir: &Path, missing: &[&str], why: &str) -> String {
    format!(
        "dataset files missing in {dir}: {list}.\n{why}.\nPut the four files {all} (gzipped .gz or raw) in {dir}, \
         or point --data-dir (or VAE_DATA_DIR) at a folder that has them.",
        dir = dir.display(),
        list = missing.join(", "),
        all = FILES.join(", "),
    )
}

/// `name` or `name.gz` in `dir`.
fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))].into_iter().find(|p| p.is_file())
}

/// Reads a file, gunzipping it when it starts with the gzip magic bytes.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    maybe_gunzip(raw).with_context(|| format!("{} is not a valid gzip file (truncated download?); delete it and retry", path.display()))
}

/// `raw` decompressed when it is gzip, else as it is.
fn maybe_gunzip(raw: Vec<u8>) -> Result<Vec<u8>> {
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut out)?;
    Ok(out)
}

/// Downloads `name.gz` into `dir`: verified to decompress and parse as IDX with the dataset's
/// known count and size, then written atomically, so an interrupted download never leaves a file
/// that is later trusted.
fn download(dir: &Path, name: &str, dataset: DatasetName) -> Result<()> {
    let target = dir.join(format!("{name}.gz"));
    let agent = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(120))).build().new_agent();
    let mut last_err = anyhow::anyhow!("no mirror tried");
    for mirror in dataset.mirrors() {
        let url = format!("{mirror}{name}.gz");
        eprintln!("downloading {url}");
        let body = agent.get(&url).call().and_then(|mut r| r.body_mut().with_config().limit(64 << 20).read_to_vec());
        match body {
            Ok(bytes) => {
                // Every dataset we know has 60,000 training and 10,000 test images of 28×28.
                let expected = if name.starts_with("train") { 60_000 } else { 10_000 };
                let check = maybe_gunzip(bytes.clone()).and_then(|raw| {
                    let (count, shape_ok) = if name.contains("images") {
                        let images = idx::parse_images(&raw)?;
                        (images.count, images.rows == 28 && images.cols == 28)
                    } else {
                        (idx::parse_labels(&raw)?.len(), true)
                    };
                    ensure!(count == expected && shape_ok, "expected {expected} items of 28×28, found {count}");
                    Ok(())
                });
                match check {
                    Ok(()) => return crate::export::write_atomic(&target, &bytes),
                    Err(err) => last_err = err.context(format!("{url} gave a corrupt file")),
                }
            }
            Err(err) => last_err = anyhow::Error::new(err).context(url),
        }
    }
    Err(last_err)
}

#[cfg(test)]
mod tests {
    use super::Split;

    /// `n` images whose first pixel holds their index (/ 1000), the rest blank.
    fn numbered(n: usize) -> Split {
        let mut pixels = vec![0.0; n * vae_core::IMAGE_PIXELS];
        (0..n).for_each(|i| pixels[i * vae_core::IMAGE_PIXELS] = i as f32 / 1000.0);
        Split { pixels, labels: (0..n).map(|i| (i % 10) as u8).collect() }
    }

    fn ids(split: &Split) -> Vec<usize> {
        split.pixels.chunks_exact(vae_core::IMAGE_PIXELS).map(|image| (image[0] * 1000.0).round() as usize).collect()
    }

    #[test]
    fn held_out_images_leave_the_training_set_and_the_seed_chooses_them() {
        let mut train = numbered(600);
        let validation = train.hold_out(50, 7);
        let (kept, held) = (ids(&train), ids(&validation));
        assert_eq!((kept.len(), held.len(), train.len(), validation.len()), (550, 50, 550, 50));
        assert!(held.iter().all(|i| !kept.contains(i)), "an image is in both splits");
        let mut all: Vec<usize> = kept.iter().chain(&held).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..600).collect::<Vec<_>>(), "images lost or doubled");
        assert!(kept.is_sorted() && held.is_sorted(), "each split keeps the images' order");
        assert!(held.iter().zip(&validation.labels).all(|(&i, &label)| label as usize == i % 10), "labels travel with their images");
        assert_ne!(held, (0..50).collect::<Vec<_>>(), "the held-out images are a shuffle's, not the first");
        assert_eq!(ids(&numbered(600).hold_out(50, 7)), held, "the same seed holds out the same images");
        assert_ne!(ids(&numbered(600).hold_out(50, 8)), held, "another seed, other images");
    }
}
