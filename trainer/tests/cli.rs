//! The trainer as a user runs it: on small IDX files made here (no network, no MNIST needed).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

use burn::prelude::*;
use vae_core::idx::{IdxImages, encode_images, encode_labels};
use vae_core::{ModelKind, WeightsFile};

/// Writes a tiny MNIST look-alike: bars at a few angles and positions; the training images
/// gzipped (like the real download), the test images raw.
fn write_dataset(dir: &Path, train: usize, test: usize) {
    let make = |count: usize, seed: usize| {
        let mut pixels = vec![0u8; count * 784];
        for i in 0..count {
            let k = (i * 7 + seed) % 10;
            for t in 0..16 {
                let (x, y) = (6 + k + (t * (k % 3)) / 3, 6 + t);
                if x < 28 && y < 28 {
                    pixels[i * 784 + y * 28 + x] = 255;
                    pixels[i * 784 + y * 28 + (x + 1).min(27)] = 180;
                }
            }
        }
        let labels: Vec<u8> = (0..count).map(|i| ((i * 7 + seed) % 10) as u8).collect();
        (encode_images(&IdxImages { count, rows: 28, cols: 28, pixels }), encode_labels(&labels))
    };
    let (train_images, train_labels) = make(train, 0);
    let (test_images, test_labels) = make(test, 3);
    let gz = |name: &str, bytes: &[u8]| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).expect("gzip");
        std::fs::write(dir.join(format!("{name}.gz")), enc.finish().expect("gzip")).expect("write");
    };
    gz("train-images-idx3-ubyte", &train_images);
    gz("train-labels-idx1-ubyte", &train_labels);
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), test_images).expect("write");
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), test_labels).expect("write");
}

fn trainer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trainer")).args(args).env_remove("VAE_DATA_DIR").output().expect("runs")
}

fn last_json(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().expect("output")).expect("last line is JSON")
}

#[test]
fn short_run_trains_reports_nats_and_exports_loadable_weights() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_dataset(tmp.path(), 512, 120);
    let weights = tmp.path().join("out/vae.vaew");
    let out = trainer(&[
        "--data-dir",
        tmp.path().to_str().expect("utf8"),
        "--no-download",
        "--epochs",
        "3",
        "--batch-size",
        "32",
        "--hidden",
        "64,32",
        "--out",
        weights.to_str().expect("utf8"),
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let epochs: Vec<&str> = stdout.lines().filter(|l| l.starts_with("epoch")).collect();
    assert_eq!(epochs.len(), 3, "{stdout}");
    let test_elbo = |line: &str| -> f64 {
        line.split("test −ELBO").nth(1).and_then(|s| s.split_whitespace().next()).and_then(|s| s.parse().ok()).expect("figure")
    };
    assert!(test_elbo(epochs[2]) < test_elbo(epochs[0]), "training did not lower the test −ELBO:\n{stdout}");

    let summary = last_json(&out);
    let (elbo, recon, kl) =
        (summary["elbo"].as_f64().expect("elbo"), summary["recon"].as_f64().expect("recon"), summary["kl"].as_f64().expect("kl"));
    assert!(recon > 0.0 && kl > 0.0 && (elbo + recon + kl).abs() < 1e-9);

    let file = WeightsFile::from_bytes(&std::fs::read(&weights).expect("weights written")).expect("valid file");
    assert_eq!(file.meta.name, "vae");
    assert_eq!(file.meta.kind, ModelKind::Vae);
    assert_eq!(file.meta.config.hidden, vec![64, 32]);
    assert!((file.meta.test_recon - recon).abs() < 1e-9);
    let log = &file.meta.training_log;
    // 512 images less the 42 held out for validation (a twelfth): 14 batches of 32 per epoch.
    assert_eq!(log.iter().map(|e| (e.epoch, e.step)).collect::<Vec<_>>(), [(1, 14), (2, 28), (3, 42)], "one entry per epoch: {log:?}");
    assert!(log[2].recon + log[2].kl < log[0].recon + log[0].kl && log[2].learning_rate < log[0].learning_rate, "{log:?}");
    file.load_model(&Device::flex()).expect("loads");
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path().join("out")).expect("dir").filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
    assert_eq!(leftovers.len(), 1, "temporary files left behind: {leftovers:?}");
}

#[test]
fn same_seed_gives_the_same_weights() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_dataset(tmp.path(), 256, 100);
    let run = |name: &str| {
        let path = tmp.path().join(name);
        let out = short_run(tmp.path(), &path, &["--seed", "9"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let file = WeightsFile::from_bytes(&std::fs::read(path).expect("weights")).expect("valid");
        let model = file.load_model(&Device::flex()).expect("loads");
        let z = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 0.0, 1.0, -2.0], [2, 2]), &Device::flex());
        (file.meta.test_recon, model.decode(z).into_data().try_to_vec::<f32>().expect("f32"))
    };
    // Compare what the weights do, not the bytes: burnpack records carry random parameter ids.
    let (a, b) = (run("a.vaew"), run("b.vaew"));
    assert!(a == b, "two runs with seed 9 differ: test recon {} vs {}", a.0, b.0);
}

#[test]
fn autoencoder_mode_has_no_kl() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_dataset(tmp.path(), 256, 100);
    let weights = tmp.path().join("ae.vaew");
    let out = trainer(&[
        "--data-dir",
        tmp.path().to_str().expect("utf8"),
        "--no-download",
        "--short",
        "--batch-size",
        "32",
        "--hidden",
        "32",
        "--model",
        "ae",
        "--out",
        weights.to_str().expect("utf8"),
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(last_json(&out)["kl"].as_f64(), Some(0.0));
    assert_eq!(last_json(&out)["name"].as_str(), Some("ae"));
    let file = WeightsFile::from_bytes(&std::fs::read(&weights).expect("written")).expect("valid");
    assert_eq!((file.meta.kind, file.meta.beta), (ModelKind::Ae, 0.0));
}

#[test]
fn missing_files_fail_with_instructions_naming_them() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = trainer(&["--data-dir", tmp.path().to_str().expect("utf8"), "--no-download", "--short"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for name in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"] {
        assert!(stderr.contains(name), "{name} not named in: {stderr}");
    }
    assert!(stderr.contains(tmp.path().to_str().expect("utf8")) && stderr.contains("--data-dir"), "{stderr}");
}

#[test]
fn malformed_idx_fails_naming_the_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_dataset(tmp.path(), 64, 100);
    let test_images = tmp.path().join("t10k-images-idx3-ubyte");
    let bytes = std::fs::read(&test_images).expect("read");
    std::fs::write(&test_images, &bytes[..bytes.len() - 10]).expect("truncate");
    let out = trainer(&["--data-dir", tmp.path().to_str().expect("utf8"), "--no-download", "--short"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("t10k-images-idx3-ubyte") && stderr.contains("truncated"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_arguments_are_refused_clearly() {
    // A learning rate above 1 is outside burn's cosine schedule: refused by name before any data.
    for (bad, flag) in [("--beta=-1", "--beta"), ("--lr=2", "--lr")] {
        let out = trainer(&[bad, "--no-download"]);
        assert!(!out.status.success(), "{bad} was accepted");
        assert!(String::from_utf8_lossy(&out.stderr).contains(flag), "{bad}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// A one-epoch run of a tiny model on the dataset in `dir`, writing `out`, with `extra` flags.
fn short_run(dir: &Path, out: &Path, extra: &[&str]) -> Output {
    let (dir, out) = (dir.to_str().expect("utf8"), out.to_str().expect("utf8"));
    let mut args = vec!["--data-dir", dir, "--no-download", "--short", "--batch-size", "32", "--hidden", "32", "--out", out];
    args.extend_from_slice(extra);
    trainer(&args)
}

/// Trains a tiny model in `dir` and returns the weights path.
fn tiny_model(dir: &Path) -> std::path::PathBuf {
    write_dataset(dir, 256, 100);
    let weights = dir.join("tiny.vaew");
    let out = short_run(dir, &weights, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    weights
}

#[test]
fn annotate_stores_posteriors_and_renames_the_model() {
    let tmp = tempfile::tempdir().expect("tmp");
    let weights = tiny_model(tmp.path());
    let read = |path: &Path| WeightsFile::from_bytes(&std::fs::read(path).expect("read")).expect("loads");
    let before = read(&weights);
    let out = trainer(&[
        "annotate",
        "--weights",
        weights.to_str().expect("utf8"),
        "--name",
        "digits-v2",
        "--data-dir",
        tmp.path().to_str().expect("utf8"),
        "--no-download",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after = read(&weights);
    assert_ne!(before.meta.name, "digits-v2");
    assert_eq!(after.meta.name, "digits-v2");
    assert_eq!(after.meta.test_posteriors.len(), 100, "one posterior per test image");
    // The same model (read back from its half-precision file) gives the same posteriors.
    for (a, b) in after.meta.test_posteriors.iter().zip(&before.meta.test_posteriors) {
        assert_eq!(a[4], b[4], "labels");
        assert!(a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 0.01), "{a:?} vs {b:?}");
    }
    let refused = trainer(&[
        "annotate",
        "--weights",
        weights.to_str().expect("utf8"),
        "--name",
        "",
        "--data-dir",
        tmp.path().to_str().expect("utf8"),
        "--no-download",
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--name"), "{}", String::from_utf8_lossy(&refused.stderr));
}

#[test]
fn eval_prints_every_figure_as_json() {
    let tmp = tempfile::tempdir().expect("tmp");
    let weights = tiny_model(tmp.path());
    let out = trainer(&[
        "eval",
        "--weights",
        weights.to_str().expect("utf8"),
        "--data-dir",
        tmp.path().to_str().expect("utf8"),
        "--no-download",
        "--k",
        "20",
        "--limit",
        "40",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let j = last_json(&out);
    for key in [
        "elbo",
        "recon",
        "kl",
        "iwae",
        "k",
        "continuity_mean",
        "continuity_max",
        "continuity_own_mean",
        "continuity_own_max",
        "completeness",
        "classifier_accuracy",
    ] {
        assert!(j[key].is_number(), "{key} missing in {j}");
    }
    assert_eq!(j["k"].as_u64(), Some(20));
    let spread = j["code_spread"].as_array().expect("code_spread is [σ₁, σ₂]");
    assert_eq!(spread.len(), 2);
    assert!(spread.iter().all(|s| s.as_f64().is_some_and(|s| s > 0.0)), "{j}");
    assert_eq!(j["images"].as_u64(), Some(40));
    let (elbo, iwae) = (j["elbo"].as_f64().expect("elbo"), j["iwae"].as_f64().expect("iwae"));
    assert!(iwae > elbo - 1.0, "IWAE {iwae} should not be much below the ELBO {elbo}");
    assert!(iwae < 0.0 && elbo < 0.0);
    let completeness = j["completeness"].as_f64().expect("completeness");
    assert!((0.0..=1.0).contains(&completeness));
    // The synthetic digits are easy: the classifier must learn them.
    assert!(j["classifier_accuracy"].as_f64().expect("accuracy") > 0.5, "{j}");
    let log = j["training_log"].as_array().expect("the training log from the header");
    assert!(!log.is_empty() && log.iter().all(|e| e["step"].as_u64().is_some_and(|s| s > 0)), "{j}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("training −ELBO"), "the readable report names the training log");
}

#[test]
fn eval_exact_scores_the_test_set_by_quadrature() {
    let tmp = tempfile::tempdir().expect("tmp");
    let weights = tiny_model(tmp.path());
    let dir = tmp.path().to_str().expect("utf8");
    let out = trainer(&[
        "eval",
        "--exact",
        "--weights",
        weights.to_str().expect("utf8"),
        "--data-dir",
        dir,
        "--no-download",
        "--limit",
        "6",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let j = &last_json(&out)["exact"];
    assert_eq!(j["images"].as_u64(), Some(6), "{j}");
    let figure = |key: &str| j[key].as_f64().unwrap_or_else(|| panic!("{key} missing in {j}"));
    assert!(figure("log_px") >= figure("elbo"), "{j}");
    assert!(figure("approximation_gap") >= -1e-3 && figure("amortization_gap") >= -1e-3, "{j}");
    let gap = figure("log_px") - figure("elbo");
    assert!((gap - figure("approximation_gap") - figure("amortization_gap")).abs() < 1e-6, "the two gaps sum to the gap: {j}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("amortization gap"), "the readable report names the gaps");
}

#[test]
fn encode_prints_a_json_line_per_image_and_flags_bad_files() {
    let tmp = tempfile::tempdir().expect("tmp");
    let weights = tiny_model(tmp.path());
    let digit = tmp.path().join("one.png");
    let img = image::RgbaImage::from_fn(40, 30, |x, y| {
        let ink = (18..22).contains(&x) && (4..26).contains(&y);
        if ink { image::Rgba([20, 20, 20, 255]) } else { image::Rgba([240, 240, 240, 255]) }
    });
    img.save(&digit).expect("png");
    let bogus = tmp.path().join("bogus.png");
    std::fs::write(&bogus, b"not a png").expect("write");
    // Without --exact: the posterior and its ELBO terms only (milliseconds an image).
    let out = trainer(&["encode", "--weights", weights.to_str().expect("utf8"), digit.to_str().expect("utf8"), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let plain = last_json(&out);
    assert!(plain["mu"].is_array() && plain.get("log_px").is_none(), "{plain}");
    let out = trainer(&["encode", "--weights", weights.to_str().expect("utf8"), digit.to_str().expect("utf8"), "--json", "--exact"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let j = last_json(&out);
    assert_eq!(j["mu"], plain["mu"], "the same posterior with and without the bound");
    assert_eq!(j["file"].as_str(), digit.to_str());
    assert!(j["mu"].as_array().is_some_and(|a| a.len() == 2 && a.iter().all(|v| v.is_number())));
    assert!(j["sigma"].as_array().is_some_and(|a| a.iter().all(|v| v.as_f64().is_some_and(|s| s > 0.0))));
    assert!(j["kl"].as_f64().is_some_and(|v| v > 0.0) && j["recon"].as_f64().is_some_and(|v| v > 0.0));
    assert_eq!(j["inverted"].as_bool(), Some(true));
    // What the encoder saw, and the exact figures of the bound for it.
    let input = j["input"].as_array().expect("the input the encoder saw");
    assert!(input.len() == 784 && input.iter().all(|v| v.as_f64().is_some_and(|v| (0.0..=1.0).contains(&v))), "{j}");
    let (approximation, amortization) = (j["approximation_gap"].as_f64().expect("a gap"), j["amortization_gap"].as_f64().expect("a gap"));
    assert!(j["log_px"].as_f64().is_some_and(|v| v.is_finite() && v < 0.0), "{j}");
    assert!(approximation >= -1e-3 && amortization >= -1e-3, "{j}");
    // log p(x) ≥ ELBO: the readout's 64-sample ELBO may scatter by a little around the exact one.
    assert!(j["log_px"].as_f64().expect("log p(x)") >= j["elbo"].as_f64().expect("elbo") - 1.0, "{j}");

    let out = trainer(&["encode", "--weights", weights.to_str().expect("utf8"), bogus.to_str().expect("utf8"), "--json"]);
    assert!(!out.status.success());
    assert!(last_json(&out)["error"].as_str().is_some_and(|e| e.contains("not an image")));
}

/// What a weights file decodes at a few latent points (parameter ids differ between runs).
fn decodings(path: &Path) -> Vec<f32> {
    let file = WeightsFile::from_bytes(&std::fs::read(path).expect("weights")).expect("valid");
    let model = file.load_model(&Device::flex()).expect("loads");
    let z = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 0.0, 1.0, -2.0, -0.5, 0.7], [3, 2]), &Device::flex());
    model.decode(z).into_data().try_to_vec::<f32>().expect("f32")
}

#[test]
fn a_killed_run_resumes_from_its_checkpoint_and_ends_as_if_never_stopped() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_dataset(tmp.path(), 512, 120);
    let dir = tmp.path().to_str().expect("utf8").to_string();
    let args = |out: &Path| -> Vec<String> {
        ["--data-dir", &dir, "--no-download", "--epochs", "40", "--batch-size", "32", "--hidden", "32", "--seed", "5", "--json", "--out"]
            .iter()
            .map(|s| s.to_string())
            .chain([out.to_str().expect("utf8").to_string()])
            .collect()
    };
    let (whole, killed) = (tmp.path().join("whole/vae.vaew"), tmp.path().join("killed/vae.vaew"));

    let uninterrupted = Command::new(env!("CARGO_BIN_EXE_trainer")).args(args(&whole)).output().expect("runs");
    assert!(uninterrupted.status.success(), "{}", String::from_utf8_lossy(&uninterrupted.stderr));
    assert!(!whole.with_extension("ckpt").exists(), "the checkpoint of a finished run should be gone");

    // Start the same run and SIGKILL it once a few epochs have been checkpointed.
    kill_after_epoch(&args(&killed), 3);
    assert!(!killed.exists(), "the killed run should not have written weights");
    let checkpoint = killed.with_extension("ckpt");
    assert!(checkpoint.exists(), "no checkpoint after 3 epochs");

    // Resuming under other settings is refused, naming the difference.
    let mut other = args(&killed);
    other.extend(["--resume".into(), "--beta".into(), "4".into()]);
    let refused = Command::new(env!("CARGO_BIN_EXE_trainer")).args(&other).output().expect("runs");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("beta: checkpoint 1.0, now 4.0"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let mut resume = args(&killed);
    resume.push("--resume".into());
    let resumed = Command::new(env!("CARGO_BIN_EXE_trainer")).args(&resume).output().expect("runs");
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let stdout = String::from_utf8_lossy(&resumed.stdout);
    assert!(stdout.contains("resuming vae from"), "{stdout}");
    assert!(!stdout.contains("epoch   1/40"), "the resumed run started over:\n{stdout}");
    assert_eq!(last_json(&resumed)["elbo"], last_json(&uninterrupted)["elbo"], "resumed run ends elsewhere");
    assert!(decodings(&killed) == decodings(&whole), "the resumed weights differ from the uninterrupted run's");
    let log = |path: &Path| WeightsFile::from_bytes(&std::fs::read(path).expect("weights")).expect("valid").meta.training_log;
    assert_eq!(log(&killed), log(&whole), "the resumed run's training log lost or changed the epochs before the kill");
    assert_eq!(log(&whole).len(), 40);
}

#[test]
fn a_diverging_run_stops_clearly_and_keeps_its_last_good_checkpoint() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_dataset(tmp.path(), 256, 100);
    let out = tmp.path().join("vae.vaew");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--data-dir",
            tmp.path().to_str().expect("utf8"),
            "--no-download",
            "--epochs",
            "40",
            "--batch-size",
            "32",
            "--hidden",
            "32",
            "--out",
            out.to_str().expect("utf8"),
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    kill_after_epoch(&run(&[]), 2);
    let checkpoint = out.with_extension("ckpt");
    let good = std::fs::read(&checkpoint).expect("a checkpoint after 2 epochs");

    // Resumed with the largest learning rate the schedule takes (1), the run diverges: it stops, says where the last good
    // checkpoint is, and leaves that checkpoint untouched.
    let diverged = Command::new(env!("CARGO_BIN_EXE_trainer")).args(run(&["--resume", "--lr", "1"])).output().expect("runs");
    assert!(!diverged.status.success(), "a learning rate of 1 should diverge");
    let err = String::from_utf8_lossy(&diverged.stderr);
    assert!(err.contains("non-finite") && err.contains(checkpoint.to_str().expect("utf8")) && err.contains("--resume"), "{err}");
    assert!(std::fs::read(&checkpoint).expect("still there") == good, "the last good checkpoint was overwritten");
    assert!(!out.exists(), "weights written by a diverged run");

    // …and a sane learning rate rescues it from there.
    let rescued = Command::new(env!("CARGO_BIN_EXE_trainer")).args(run(&["--resume", "--lr", "1e-3"])).output().expect("runs");
    assert!(rescued.status.success(), "{}", String::from_utf8_lossy(&rescued.stderr));
    WeightsFile::from_bytes(&std::fs::read(&out).expect("weights")).expect("valid weights");
}

#[test]
fn a_killed_learned_sigma_x_run_resumes_with_its_sigma_x_and_kept_epoch() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_dataset(tmp.path(), 512, 120);
    let dir = tmp.path().to_str().expect("utf8").to_string();
    let args = |out: &Path| -> Vec<String> {
        let flags = ["--data-dir", &dir, "--no-download", "--epochs", "12", "--batch-size", "32", "--hidden", "32", "--seed", "5"];
        let gaussian = ["--likelihood", "gaussian", "--sigma-x", "learned", "--json", "--out"];
        flags.iter().chain(&gaussian).map(|s| s.to_string()).chain([out.to_str().expect("utf8").to_string()]).collect()
    };
    let (whole, killed) = (tmp.path().join("whole/vae.vaew"), tmp.path().join("killed/vae.vaew"));
    let uninterrupted = Command::new(env!("CARGO_BIN_EXE_trainer")).args(args(&whole)).output().expect("runs");
    assert!(uninterrupted.status.success(), "{}", String::from_utf8_lossy(&uninterrupted.stderr));
    kill_after_epoch(&args(&killed), 5);
    let mut resume = args(&killed);
    resume.push("--resume".into());
    let resumed = Command::new(env!("CARGO_BIN_EXE_trainer")).args(&resume).output().expect("runs");
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let (a, b) = (last_json(&uninterrupted), last_json(&resumed));
    for key in ["elbo", "sigma_x", "kept_epoch", "validation_elbo"] {
        assert_eq!(a[key], b[key], "{key}: uninterrupted {a} vs resumed {b}");
    }
    assert!(decodings(&killed) == decodings(&whole), "the resumed weights differ from the uninterrupted run's");
}

/// Runs the trainer with `args` and SIGKILLs it once epoch `n` has been reported.
fn kill_after_epoch(args: &[String], n: usize) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starts");
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let marker = format!("epoch {n:>3}/");
    for line in stdout.lines() {
        if line.expect("line").starts_with(&marker) {
            break;
        }
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
}

#[test]
fn every_subcommand_takes_json_and_its_help_says_what_it_prints() {
    // The subcommands as `trainer --help` lists them, so a new one is checked without editing this.
    let top = trainer(&["--help"]);
    let help = String::from_utf8_lossy(&top.stdout).into_owned();
    let subcommands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|&sub| sub != "help")
        .collect();
    for expected in ["train", "train-suite", "eval", "encode", "annotate", "export-onnx", "pack-data"] {
        assert!(subcommands.contains(&expected), "`trainer --help` does not list {expected}: {subcommands:?}");
    }
    for sub in subcommands {
        let out = trainer(&[sub, "--help"]);
        assert!(out.status.success(), "{sub} --help: {}", String::from_utf8_lossy(&out.stderr));
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("--json"), "`trainer {sub}` has no --json:\n{help}");
        assert!(help.contains("JSON"), "`trainer {sub} --help` does not say what --json prints:\n{help}");
    }
}

#[test]
fn export_onnx_writes_the_decoder_and_reports_it_as_json() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out_path = tmp.path().join("decoder.onnx");
    let weights = concat!(env!("CARGO_MANIFEST_DIR"), "/../weights/vae.vaew");
    let out = trainer(&["export-onnx", "--weights", weights, "--out", out_path.to_str().expect("utf8"), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let j = last_json(&out);
    assert_eq!(j["layers"].as_u64(), Some(3), "784-512-256 mirrored: three decoder layers");
    let bytes = std::fs::read(&out_path).expect("the ONNX file");
    assert_eq!(j["bytes"].as_u64(), Some(bytes.len() as u64));
    // The decoder's parameters in f32: (2·256 + 256) + (256·512 + 512) + (512·784 + 784) floats.
    let floats = 2 * 256 + 256 + 256 * 512 + 512 + 512 * 784 + 784;
    assert!(bytes.len() > 4 * floats && bytes.len() < 4 * floats + 4096, "{} bytes", bytes.len());
}

/// Gunzips `bytes`.
fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut out).expect("gzip");
    out
}

#[test]
fn pack_data_keeps_the_first_images_and_their_grey_levels() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_dataset(tmp.path(), 60, 30);
    let out_path = tmp.path().join("pack.vaed.gz");
    let dir = tmp.path().to_str().expect("utf8");
    let out = trainer(&[
        "pack-data",
        "--data-dir",
        dir,
        "--no-download",
        "--train",
        "50",
        "--test",
        "20",
        "--out",
        out_path.to_str().expect("utf8"),
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(last_json(&out)["train"].as_u64(), Some(50));
    let pack = vae_core::pack::DataPack::from_bytes(&gunzip(&std::fs::read(&out_path).expect("pack"))).expect("a valid pack");
    assert_eq!((pack.train.len(), pack.test.len(), pack.header.dataset.as_str()), (50, 20, "mnist"));
    // The same grey levels (180 and 255 included) and labels as the IDX files, in order.
    let idx = |name: &str| {
        let path = tmp.path().join(name);
        if path.exists() {
            std::fs::read(path).expect("idx")
        } else {
            gunzip(&std::fs::read(tmp.path().join(format!("{name}.gz"))).expect("idx.gz"))
        }
    };
    let train = vae_core::idx::parse_images(&idx("train-images-idx3-ubyte")).expect("IDX");
    assert_eq!(pack.train.images, train.pixels[..50 * 784]);
    assert_eq!(pack.test.labels, vae_core::idx::parse_labels(&idx("t10k-labels-idx1-ubyte")).expect("IDX")[..20]);
    assert!(pack.train.images.contains(&180));
}

#[test]
fn weights_record_their_dataset_classes_and_preprocessing() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_dataset(tmp.path(), 256, 100);
    let weights = tmp.path().join("fashion.vaew");
    let out = short_run(tmp.path(), &weights, &["--dataset", "fashion-mnist"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // In the file's own header, not filled in on reading.
    let bytes = std::fs::read(&weights).expect("written");
    let header: serde_json::Value =
        serde_json::from_slice(vae_core::framing::read(&bytes, vae_core::weights::MAGIC, 1..=u32::MAX, 1).expect("a frame").header)
            .expect("JSON");
    assert_eq!(header["dataset"], "fashion-mnist");
    assert_eq!(header["classes"][9], "Ankle boot");
    assert_eq!(header["preprocessing"], "fill-28");
    // `eval` scores it on the dataset it names; a --dataset that disagrees is refused.
    let (dir, path) = (tmp.path().to_str().expect("utf8"), weights.to_str().expect("utf8"));
    let eval = trainer(&["eval", "--weights", path, "--data-dir", dir, "--no-download", "--limit", "50", "--k", "2", "--json"]);
    assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
    let wrong = trainer(&["eval", "--weights", path, "--dataset", "mnist", "--data-dir", dir, "--no-download", "--k", "2"]);
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("trained on fashion-mnist but --dataset says mnist"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
}

#[test]
fn a_gaussian_decoder_run_records_its_likelihood_and_every_readout_uses_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_dataset(tmp.path(), 256, 100);
    let (dir, weights) = (tmp.path().to_str().expect("utf8"), tmp.path().join("mse.vaew"));
    let out = short_run(tmp.path(), &weights, &["--likelihood", "gaussian", "--sigma-x", "0.2", "--beta-mean", "0.5", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Gaussian decoder σₓ = 0.2"), "the run says what it trains");
    let meta = WeightsFile::from_bytes(&std::fs::read(&weights).expect("read")).expect("loads").meta;
    assert_eq!(meta.likelihood, vae_core::Likelihood::gaussian(0.2));
    assert_eq!((meta.beta, meta.beta_mean), (1.0, Some(0.5)), "β_σ = 1 (from --beta), β_μ = 0.5");
    let log = meta.training_log.last().expect("a log entry");
    assert!(log.kl_mean > 0.0 && log.kl_mean < log.kl && log.beta_mean == Some(0.5), "{log:?}");
    let w = weights.to_str().expect("utf8");
    let eval = trainer(&["eval", "--weights", w, "--data-dir", dir, "--no-download", "--k", "8", "--limit", "30", "--json"]);
    assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
    let j = last_json(&eval);
    assert_eq!(j["likelihood"], serde_json::json!({ "kind": "gaussian", "sigma_x": 0.2 }), "{j}");
    assert!(String::from_utf8_lossy(&eval.stdout).contains("not comparable with a Bernoulli decoder"), "the report says its units");
    // Grey pixels are scored as they are: the header's test figures and eval's agree on the
    // likelihood (a Bernoulli score of the same model would be a different number entirely).
    let recon = j["recon"].as_f64().expect("recon");
    assert!(recon.is_finite() && j["iwae"].as_f64().is_some_and(|v| v.is_finite()), "{j}");
    let exact = trainer(&["eval", "--exact", "--weights", w, "--data-dir", dir, "--no-download", "--limit", "3", "--json"]);
    assert!(exact.status.success(), "{}", String::from_utf8_lossy(&exact.stderr));
    let e = &last_json(&exact)["exact"];
    assert!(e["log_px"].as_f64().expect("log_px") >= e["elbo"].as_f64().expect("elbo") - 1e-3, "{e}");
    for (flag, bad) in [("--sigma-x", "--sigma-x=0"), ("--beta-var", "--beta-var=-1")] {
        let refused = short_run(tmp.path(), &tmp.path().join("bad.vaew"), &["--likelihood", "gaussian", bad]);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success() && stderr.contains(flag), "{bad} is refused by name: {stderr}");
    }
}

#[test]
fn a_learned_sigma_x_run_records_where_it_settled_and_every_readout_uses_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_dataset(tmp.path(), 256, 100);
    let (dir, weights) = (tmp.path().to_str().expect("utf8"), tmp.path().join("learned.vaew"));
    let out = short_run(tmp.path(), &weights, &["--likelihood", "gaussian", "--sigma-x", "learned", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("σₓ learned"), "the run says what it trains: {stdout}");
    let meta = WeightsFile::from_bytes(&std::fs::read(&weights).expect("read")).expect("loads").meta;
    let vae_core::Likelihood::Gaussian { sigma_x, learned: true } = meta.likelihood else {
        panic!("the header should record a learned σₓ: {:?}", meta.likelihood)
    };
    assert!(sigma_x != 0.1 && (0.01..=1.0).contains(&sigma_x), "σₓ settled at {sigma_x}, not at its start 0.1");
    assert_eq!(last_json(&out)["sigma_x"].as_f64(), Some(sigma_x), "the summary names the σₓ written");
    let eval = trainer(&["eval", "--weights", weights.to_str().expect("utf8"), "--data-dir", dir, "--no-download", "--k", "8", "--json"]);
    assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
    let j = last_json(&eval);
    assert_eq!(j["likelihood"], serde_json::json!({ "kind": "gaussian", "sigma_x": sigma_x, "learned": true }), "{j}");
    // eval scores the test set with the header's σₓ: its reconstruction term is the header's.
    let recon = j["recon"].as_f64().expect("recon");
    assert!((recon - meta.test_recon).abs() < 1e-3 * meta.test_recon.abs().max(1.0), "eval {recon} vs header {}", meta.test_recon);
    let refused = short_run(tmp.path(), &tmp.path().join("bad.vaew"), &["--sigma-x", "learned"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("--likelihood gaussian"), "learned σₓ with Bernoulli pixels: {stderr}");
}

/// Ten bar shapes under strong noise of their own (no two images alike): a decoder first learns the
/// bars, which held-out images share, then its training images' noise by heart, which scores
/// held-out ones worse the longer it trains.
fn write_noise_dataset(dir: &Path, train: usize, test: usize) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::SmallRng::seed_from_u64(3);
    let mut images = |count: usize| {
        let pixels: Vec<u8> = (0..count * 784)
            .map(|p| {
                let (i, y, x) = (p / 784, p % 784 / 28, p % 28);
                let bar = if x.abs_diff(6 + (i * 7) % 10 * 2) < 2 && (4..24).contains(&y) { 160 } else { 40 };
                (bar + rng.random_range(0..90u8) as usize) as u8
            })
            .collect();
        let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
        (encode_images(&IdxImages { count, rows: 28, cols: 28, pixels }), encode_labels(&labels))
    };
    let (train_images, train_labels) = images(train);
    let (test_images, test_labels) = images(test);
    for (name, bytes) in [
        ("train-images-idx3-ubyte", train_images),
        ("train-labels-idx1-ubyte", train_labels),
        ("t10k-images-idx3-ubyte", test_images),
        ("t10k-labels-idx1-ubyte", test_labels),
    ] {
        std::fs::write(dir.join(name), bytes).expect("write");
    }
}

/// The validation −ELBO of every epoch line a run printed.
fn validation_per_epoch(out: &Output) -> Vec<f64> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .filter(|l| l.starts_with("epoch"))
        .map(|l| l.split("validation −ELBO").nth(1).and_then(|s| s.split_whitespace().next()).and_then(|s| s.parse().ok()).expect("figure"))
        .collect()
}

/// Epochs of the planted run: it learns, then overfits its 60 training images.
const PLANTED_EPOCHS: usize = 150;

/// The planted run on `dir`'s noisy bars, keeping `keep` (best or last); its output and weights.
fn planted_run(dir: &Path, keep: &str) -> (Output, std::path::PathBuf) {
    let weights = dir.join(format!("{keep}.vaew"));
    let (d, w) = (dir.to_str().expect("utf8"), weights.to_str().expect("utf8"));
    let epochs = PLANTED_EPOCHS.to_string();
    let out = trainer(&[
        "--data-dir",
        d,
        "--no-download",
        "--epochs",
        &epochs,
        "--batch-size",
        "10",
        "--hidden",
        "256,128",
        "--lr",
        "3e-3",
        "--likelihood",
        "gaussian",
        "--sigma-x",
        "0.05",
        "--validation",
        "40",
        "--keep",
        keep,
        "--json",
        "--out",
        w,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (out, weights)
}

#[test]
fn keep_best_writes_the_epoch_with_the_best_validation_elbo() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_noise_dataset(tmp.path(), 100, 60);
    let (best, best_weights) = planted_run(tmp.path(), "best");
    let validation = validation_per_epoch(&best);
    assert_eq!(validation.len(), PLANTED_EPOCHS);
    // −ELBO: lower is better.
    let lowest = (0..validation.len()).min_by(|&a, &b| validation[a].total_cmp(&validation[b])).expect("epochs") + 1;
    assert!(lowest > 1 && lowest < PLANTED_EPOCHS, "the planted run should learn, then overfit (validation −ELBO {validation:?})");
    let summary = last_json(&best);
    assert_eq!(summary["kept_epoch"].as_u64(), Some(lowest as u64), "{summary}");
    let meta = WeightsFile::from_bytes(&std::fs::read(&best_weights).expect("read")).expect("loads").meta;
    let kept = meta.validation.expect("a validation record");
    assert_eq!((kept.images, kept.kept_epoch, kept.best), (40, lowest, true));
    assert!((-kept.elbo() - validation[lowest - 1]).abs() < 0.01, "header {} vs printed {}", -kept.elbo(), validation[lowest - 1]);
    assert_eq!(meta.epochs, PLANTED_EPOCHS, "the header says how long the run trained");
    let (dir, w) = (tmp.path().to_str().expect("utf8"), best_weights.to_str().expect("utf8"));
    let j = last_json(&trainer(&["eval", "--weights", w, "--data-dir", dir, "--no-download", "--k", "2", "--json"]));
    assert_eq!(j["kept_epoch"].as_u64(), Some(lowest as u64), "{j}");
    assert!(j["validation_elbo"].as_f64().is_some_and(|v| (v - kept.elbo()).abs() < 1e-9), "{j}");

    let (last, last_weights) = planted_run(tmp.path(), "last");
    assert_eq!(last_json(&last)["kept_epoch"].as_u64(), Some(PLANTED_EPOCHS as u64));
    let last_meta = WeightsFile::from_bytes(&std::fs::read(&last_weights).expect("read")).expect("loads").meta;
    assert!(last_meta.test_recon != meta.test_recon, "--keep last and --keep best wrote the same model");
}
