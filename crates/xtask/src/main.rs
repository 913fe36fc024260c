//! `cargo xtask <task>`: the project's build, serve and test tasks, with all set-up included.
//!
//! - `web`: build the wasm bundle into `web/pkg/` (setting up the wasm toolchain if needed);
//! - `serve [--port N] [--dir D] [--no-build]`: `web`, then serve `web/` on 127.0.0.1 and print
//!   the URL;
//! - `bundle`: bundle the page's modules (`web/src/`) into `web/js/app.js` and the training
//!   Worker's into `web/js/train-worker.js` (needs node; the bundles are committed so that `web`
//!   and `serve` do not);
//! - `test`: formatting, clippy, `vendor-check` and all Rust tests, then `web`, the JS type check
//!   and bundle check, then the real-browser tests in Chromium, and the core journeys in Firefox
//!   ESR and WebKit (WebKitGTK under Xvfb) too;
//! - `vendor-check`: each crate in `vendor/` is its published version plus `vendor/<name>.patch`;
//! - `bench`: `web`, then the in-browser figures (decode, grid, drag work per move, in-page
//!   training against TensorFlow.js, start-up, bytes) and the native training figures, written
//!   to `docs/benchmarks.md`.

mod js;
mod layers;
mod serve;
mod setup;
mod vendor;
mod web;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

/// The project's build, serve, test and benchmark tasks, with all set-up included.
#[derive(Parser, Debug)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", about, disable_version_flag = true)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand, Debug)]
enum Task {
    /// Build the wasm modules and the model scripts into web/pkg/ (setting up the wasm toolchain
    /// if needed).
    Web,
    /// Build web/ (unless --no-build), then serve it on 127.0.0.1 and print the URL.
    Serve(ServeArgs),
    /// Bundle the page's modules (web/src/) into web/js/app.js and the training Worker's into
    /// web/js/train-worker.js (needs node; the bundles are committed, so `web` and `serve` do not).
    Bundle,
    /// Formatting, clippy, vendor-check and every Rust test, then `web`, the JS type and bundle
    /// checks, then the browser tests in Chromium (the core journeys also in Firefox ESR and WebKit).
    Test,
    /// The benchmark: in-browser and native figures against their peers, written to
    /// docs/benchmarks.md.
    Bench,
    /// Check that each crate in vendor/ is its published version plus vendor/<name>.patch.
    VendorCheck,
}

/// Options of `cargo xtask serve`.
#[derive(Args, Debug)]
struct ServeArgs {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Directory to serve (default: web/).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Serve as it is, without building web/ first.
    #[arg(long)]
    no_build: bool,
}

fn main() -> ExitCode {
    let result = match Cli::parse().task {
        Task::Web => web::build().map(|_| ()),
        Task::Serve(args) => serve_task(args),
        Task::Bundle => js::bundle_all(&root()),
        Task::Test => test_task(),
        Task::Bench => bench_task(),
        Task::VendorCheck => vendor::check(&root()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Builds web/ (unless --no-build) and serves it, or `--dir`.
fn serve_task(args: ServeArgs) -> Result<()> {
    if !args.no_build {
        web::build()?;
    }
    serve::serve(&args.dir.unwrap_or_else(|| root().join("web")), args.port)
}

/// Where docs/benchmarks.md's hand-written part begins: `cargo xtask bench` keeps it.
const KEPT_SECTIONS: &str = "<!-- kept by cargo xtask bench -->";

fn test_task() -> Result<()> {
    let root = root();
    step("cargo fmt --check");
    run(Command::new(cargo()).args(["fmt", "--all", "--check"]).current_dir(&root)).context("run `cargo fmt --all`")?;
    step("cargo clippy --all-targets -- -D warnings");
    run(Command::new(cargo()).args(["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"]).current_dir(&root))?;
    vendor::check(&root)?;
    step("vae-core's layers (every `use` tree and path, parsed with syn)");
    layers::check(&root)?;
    step("Rust tests (native)");
    run(Command::new(cargo()).args(["test", "--workspace", "--locked"]).current_dir(&root))?;
    mnist_tests(&root)?;
    web::build()?;
    js::check(&root)?;
    step(
        "browser tests (Chromium via playwright-core; the core journeys also in Firefox ESR via puppeteer-core and in WebKit via \
         WebKitWebDriver)",
    );
    let chromium = setup::chromium()?;
    let firefox = setup::firefox()?;
    let (webkit, webkit_driver) = setup::webkit()?;
    let browser_dir = root.join("tests/browser");
    setup::npm_install(&browser_dir)?;
    setup::print_browser_versions(&[(&chromium, "playwright-core"), (&firefox, "puppeteer-core")], &browser_dir);
    setup::print_webkit_versions(&webkit, &webkit_driver);
    let mut tests: Vec<_> = std::fs::read_dir(&browser_dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".test.mjs"))
        .collect();
    tests.sort();
    run(Command::new("node")
        .args(["--test", "--test-reporter=spec"])
        .args(&tests)
        .env("CHROMIUM", chromium)
        .env("FIREFOX", firefox)
        .env("WEBKIT_BROWSER", webkit)
        .env("WEBKIT_DRIVER", webkit_driver)
        .env("VAE_XTASK", std::env::current_exe()?)
        .current_dir(&root))
}

/// The tests that need the MNIST IDX files (ignored by a plain `cargo test`): run where the files
/// are, and said to be skipped where they are not.
fn mnist_tests(root: &Path) -> Result<()> {
    let dir = std::env::var("VAE_DATA_DIR").map(PathBuf::from).unwrap_or_else(|_| root.join("../shared/data/mnist"));
    let present = ["train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"].iter().any(|f| dir.join(f).exists());
    if !present {
        println!("skipped: the committed dataset pack against the MNIST IDX files (none in {}; set VAE_DATA_DIR)", dir.display());
        return Ok(());
    }
    step("Rust tests that need MNIST (the committed dataset pack against the IDX files)");
    run(Command::new(cargo())
        .args(["test", "--workspace", "--locked", "--test", "dataset_pack", "--", "--ignored"])
        .env("VAE_DATA_DIR", &dir)
        .current_dir(root))
}

fn bench_task() -> Result<()> {
    let root = root();
    // The bench build exports burn's generic decode path as the in-page peer.
    web::build_with_features(&["bench"])?;
    let chromium = setup::chromium()?;
    let (webkit, webkit_driver) = setup::webkit()?;
    let browser_dir = root.join("tests/browser");
    setup::npm_install(&browser_dir)?;
    setup::print_browser_versions(&[(&chromium, "playwright-core")], &browser_dir);
    setup::print_webkit_versions(&webkit, &webkit_driver);
    // The peer: onnxruntime-web running the same decoder, exported to ONNX by the trainer. If it
    // cannot be set up here, the bench says so and reports the other figures.
    let peer_dir = browser_dir.join("peer");
    step("peer: export the decoder to ONNX, install onnxruntime-web");
    let peer = run(Command::new(cargo())
        .args(["run", "--quiet", "-p", "trainer", "--", "export-onnx", "--weights", "weights/vae.vaew", "--out"])
        .arg(peer_dir.join("decoder.onnx"))
        .current_dir(&root))
    .and_then(|()| setup::npm_install(&peer_dir));
    if let Err(err) = peer {
        eprintln!("the onnxruntime-web peer is skipped: {err:#}");
    }
    let training = training_bench(&root);
    step("benchmark in headless Chromium");
    let table = root.join("target/bench-table.md");
    run(Command::new("node")
        .arg(browser_dir.join("bench.mjs"))
        .env("CHROMIUM", &chromium)
        .env("WEBKIT_BROWSER", webkit)
        .env("WEBKIT_DRIVER", webkit_driver)
        .env("VAE_XTASK", std::env::current_exe()?)
        .env("BENCH_MARKDOWN", &table)
        .env("BENCH_TRAINING_JSON", training.to_string())
        .current_dir(&root))?;
    write_benchmarks_doc(&root, &chromium, &table)
}

/// docs/benchmarks.md: a paragraph on how the figures were measured, the table the browser
/// benchmark wrote to `table`, and the file's hand-written part after [`KEPT_SECTIONS`], kept.
fn write_benchmarks_doc(root: &Path, chromium: &str, table: &Path) -> Result<()> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let browser = output(Command::new(chromium).arg("--version")).unwrap_or_default();
    let doc = format!(
        "# Benchmarks\n\nMeasured by `cargo xtask bench` (tests/browser/bench.mjs) in headless {browser} \
         on {cores} cores ({cpu}), release wasm with SIMD128. Peers are measured in the same run: \
         burn's generic tensor path on the same weights (same page), onnxruntime-web 1.30 (wasm \
         backend, SIMD, one thread, as ours) running the same decoder exported by `trainer \
         export-onnx`, TensorFlow.js 4.22 (wasm and cpu backends) training the same model on the \
         same digits as the page's training, and PyTorch and our own native build training natively. \
         Main-thread time per drag move is Chrome's TaskDuration/ScriptDuration counters around \
         each move and its frame (three drags of 100 moves), minus the median of the same on an \
         empty page; the worst move while training also shows its ThreadTime (the main thread's \
         own CPU time: the rest it waited for a core), and a bare page making only the explorer's \
         per-move changes (ring, numbers, decoded canvases) gives the floor no page code can go \
         below. Figures, not pass/fail: the machine is shared, so expect noise; rerun to compare.\n\n{}\n\nReproduce: `cargo xtask bench`.\n",
        std::fs::read_to_string(table).context("the benchmark wrote no table")?.trim(),
        browser = browser.trim()
    );
    // The hand-written sections after the table (the measurements behind ARCHITECTURE.md's
    // choices, notes on earlier runs) stay: only the generated part is replaced.
    let path = root.join("docs/benchmarks.md");
    let kept =
        std::fs::read_to_string(&path).ok().and_then(|old| old.find(KEPT_SECTIONS).map(|at| old[at..].to_string())).unwrap_or_default();
    std::fs::write(&path, if kept.is_empty() { doc } else { format!("{doc}\n{kept}") })?;
    eprintln!("wrote docs/benchmarks.md");
    Ok(())
}

/// Rounds of the training comparison: each round runs ours, then the PyTorch reference with its
/// default Adam and with its fused one, for each thread count, so a neighbour's burst on this
/// shared machine slows one round of all, not all of one side; each side's fastest epoch over the
/// rounds counts, and PyTorch's is the faster of its two optimisers (its best).
const TRAINING_ROUNDS: usize = 3;

/// Training epochs of ours (release build, all cores) and of the PyTorch reference
/// (tests/bench/pytorch_vae.py: same model, batch, optimiser, data and thread count) in a venv
/// set up here, interleaved over [`TRAINING_ROUNDS`] rounds, and the same on one thread. Returns
/// `{"epoch_s", "images_per_s", "pytorch_epoch_s", "ratio_epoch_vs_pytorch", the same keys with
/// `_1thread`, "pytorch", "skipped"}`; whatever cannot run here is reported as skipped with the
/// reason, never guessed.
fn training_bench(root: &Path) -> serde_json::Value {
    let data_dir = std::env::var("VAE_DATA_DIR").unwrap_or_else(|_| "data/mnist".into());
    let bench_dir = root.join("target/bench");
    let mut skipped = Vec::new();
    let python = pytorch_venv(&bench_dir, &mut skipped);
    let mut bench = TrainingBench {
        root,
        bench_weights: bench_dir.join("bench.vaew").to_string_lossy().into_owned(),
        data_dir,
        python,
        result: serde_json::json!({ "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) }),
        skipped,
    };
    // Both at every core (the target) and at one thread: the second separates per-core speed from
    // how well each side uses a second core (which this shared VM gives little of).
    let all = bench.result["threads"].as_u64().unwrap_or(1).to_string();
    let runs = [(all.as_str(), ""), ("1", "_1thread")];
    for round in 1..=TRAINING_ROUNDS {
        for (threads, suffix) in runs {
            bench.ours(round, threads, suffix);
            if suffix.is_empty() {
                bench.ours_gaussian(round, threads);
            }
            bench.pytorch(round, threads, suffix, false);
            bench.pytorch(round, threads, suffix, true);
        }
    }
    for (_, suffix) in runs {
        let result = &mut bench.result;
        if let (Some(ours), Some(torch)) =
            (result[format!("epoch{suffix}_s")].as_f64(), result[format!("pytorch_epoch{suffix}_s")].as_f64())
        {
            result[format!("ratio_epoch{suffix}_vs_pytorch")] = serde_json::json!(ours / torch);
        }
    }
    bench.exact(&all);
    let TrainingBench { mut result, skipped, .. } = bench;
    result["training_rounds"] = serde_json::json!(TRAINING_ROUNDS);
    for why in &skipped {
        eprintln!("skipped: {why}");
    }
    result["skipped"] = serde_json::json!(skipped);
    result
}

/// The native training benchmark's runs and what they found so far.
struct TrainingBench<'a> {
    root: &'a Path,
    data_dir: String,
    bench_weights: String,
    /// The PyTorch reference's Python, where it could be installed.
    python: Option<PathBuf>,
    result: serde_json::Value,
    skipped: Vec<String>,
}

impl TrainingBench<'_> {
    /// Keeps the smaller of a figure and the one already in `result` (the larger when `larger`).
    fn keep_best(&mut self, key: String, value: &serde_json::Value, larger: bool) {
        let (Some(new), old) = (value.as_f64(), self.result[&key].as_f64()) else { return };
        if old.is_none_or(|old| if larger { new > old } else { new < old }) {
            self.result[key] = value.clone();
        }
    }

    /// Two epochs of ours on `threads` threads: `epoch{suffix}_s`, `images_per_s{suffix}`,
    /// `step_images_per_s{suffix}`.
    fn ours(&mut self, round: usize, threads: &str, suffix: &str) {
        step(&format!(
            "training, round {round}/{TRAINING_ROUNDS}: two epochs of ours on {threads} thread(s) (cargo run --release -p trainer)"
        ));
        match self.two_epochs(threads, &[]) {
            Some(summary) => {
                self.keep_best(format!("epoch{suffix}_s"), &summary["epoch_s"], false);
                self.keep_best(format!("images_per_s{suffix}"), &summary["images_per_s"], true);
                self.keep_best(format!("step_images_per_s{suffix}"), &summary["step_images_per_s"], true);
            }
            None => self.skipped.push(format!(
                "our training epoch on {threads} thread(s), round {round} (is MNIST in {}? set VAE_DATA_DIR)",
                self.data_dir
            )),
        }
    }

    /// The same with a Gaussian decoder (grey pixels, squared error): `gaussian_step_images_per_s`.
    fn ours_gaussian(&mut self, round: usize, threads: &str) {
        step(&format!("training, round {round}/{TRAINING_ROUNDS}: two epochs with a Gaussian decoder on {threads} thread(s)"));
        match self.two_epochs(threads, &["--likelihood", "gaussian"]) {
            Some(summary) => self.keep_best("gaussian_step_images_per_s".into(), &summary["step_images_per_s"], true),
            None => self.skipped.push(format!("our Gaussian-decoder training epoch, round {round}")),
        }
    }

    /// Two epochs of our trainer on `threads` threads with the flags `extra`: its `--json` summary.
    fn two_epochs(&self, threads: &str, extra: &[&str]) -> Option<serde_json::Value> {
        let mut args = vec!["--epochs", "2", "--json", "--name", "bench", "--data-dir", &self.data_dir, "--out", &self.bench_weights];
        args.extend_from_slice(extra);
        trainer_json(self.root, &args, threads)
    }

    /// Two epochs of the PyTorch reference on `threads` threads, with its fused Adam when `fused`:
    /// `pytorch_{default,fused}_epoch{suffix}_s`, and `pytorch_epoch{suffix}_s` the faster of all.
    fn pytorch(&mut self, round: usize, threads: &str, suffix: &str, fused: bool) {
        let Some(python) = self.python.clone() else { return };
        let adam = if fused { "fused" } else { "default" };
        step(&format!(
            "training, round {round}/{TRAINING_ROUNDS}: two epochs of the PyTorch reference ({adam} Adam) on {threads} thread(s)"
        ));
        let script = self.root.join("tests/bench/pytorch_vae.py");
        let mut command = Command::new(python);
        command.arg(&script).arg(&self.data_dir).args(["--threads", threads, "--epochs", "2"]).current_dir(self.root);
        if fused {
            command.arg("--fused");
        }
        let line = output(&mut command).and_then(|o| o.lines().last().and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok()));
        match line {
            Some(torch) => {
                self.keep_best(format!("pytorch_{adam}_epoch{suffix}_s"), &torch["epoch_s"], false);
                self.keep_best(format!("pytorch_epoch{suffix}_s"), &torch["epoch_s"], false);
                if suffix.is_empty() {
                    self.result["pytorch"] = torch;
                }
            }
            None => self.skipped.push(format!(
                "the PyTorch reference run ({adam} Adam) on {threads} thread(s), round {round}, failed (see its output above)"
            )),
        }
    }

    /// The exact bound natively: `trainer eval --exact` on the first 1,000 test images against the
    /// committed dense reference: images/s, decoder evaluations per image (median, p95) and how far
    /// the bound is from the reference.
    fn exact(&mut self, threads: &str) {
        step("exact log p(x): trainer eval --exact --limit 1000 --reference tests/fixtures/exact-reference-vae.json");
        let reference = self.root.join("tests/fixtures/exact-reference-vae.json").to_string_lossy().into_owned();
        let args = ["eval", "--exact", "--limit", "1000", "--json", "--data-dir", &self.data_dir, "--reference", &reference];
        let Some(exact) = trainer_json(self.root, &args, threads) else {
            return self.skipped.push(format!("trainer eval --exact (is MNIST in {}? set VAE_DATA_DIR)", self.data_dir));
        };
        let e = &exact["exact"];
        if let (Some(images), Some(seconds)) = (e["images"].as_f64(), e["seconds"].as_f64().filter(|s| *s > 0.0)) {
            self.result["exact_images_per_s"] = serde_json::json!(images / seconds);
        }
        self.result["exact_evaluations_median"] = e["evaluations_median"].clone();
        self.result["exact_evaluations_p95"] = e["evaluations_p95"].clone();
        self.result["exact_unsure"] = e["unsure"].clone();
        self.result["exact_reference_max_abs"] = e["reference"]["max_abs_difference"].clone();
        self.result["exact_reference_disagreeing"] = serde_json::json!(e["reference"]["disagreeing"].as_array().map(Vec::len));
    }
}

/// `cargo run --release -p trainer -- <args>` on `threads` threads: its last line as JSON (its
/// `--json` summary), or `None` if it failed.
fn trainer_json(root: &Path, args: &[&str], threads: &str) -> Option<serde_json::Value> {
    let out = output(
        Command::new(cargo())
            .args(["run", "--release", "--quiet", "-p", "trainer", "--"])
            .args(args)
            .env("RAYON_NUM_THREADS", threads)
            .current_dir(root),
    )?;
    out.lines().last().and_then(|l| serde_json::from_str(l).ok())
}

/// The PyTorch reference's Python (a venv in target/bench/venv, made and filled on first use);
/// `None`, with the reason in `skipped`, where it cannot be installed.
fn pytorch_venv(bench_dir: &Path, skipped: &mut Vec<String>) -> Option<PathBuf> {
    step("training: the PyTorch reference's venv (target/bench/venv)");
    let venv = bench_dir.join("venv");
    let python = venv.join("bin/python");
    let have_torch = |py: &Path| output(Command::new(py).args(["-c", "import torch"])).is_some();
    if !have_torch(&python) {
        let _ = run(Command::new("python3").arg("-m").arg("venv").arg(&venv));
        let pip = venv.join("bin/pip");
        // The CPU-only wheels first (small); PyPI's default wheel (with CUDA libraries) otherwise.
        let _ = run(Command::new(&pip).args(["install", "--quiet", "torch", "--index-url", "https://download.pytorch.org/whl/cpu"]))
            .or_else(|_| run(Command::new(&pip).args(["install", "--quiet", "torch"])));
    }
    if have_torch(&python) {
        Some(python)
    } else {
        skipped.push("PyTorch could not be installed into target/bench/venv (no python3-venv or no network)".into());
        None
    }
}

/// The workspace root (xtask lives in crates/xtask).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap_or_else(|_| PathBuf::from("."))
}

/// The cargo that runs this task.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Prints a visible step header.
pub fn step(what: &str) {
    eprintln!("\n==> {what}");
}

/// Runs a command, failing with its command line when it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("could not start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

/// Runs a command and returns its stdout, or `None` when it cannot run or fails.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}
