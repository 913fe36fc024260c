//! `cargo xtask web`: the wasm bundle in `web/pkg/`.
//!
//! Toolchain, in order: rustup's `wasm32-unknown-unknown` (added with rustup when missing,
//! bounded by a timeout because without internet that download hangs), else Debian's Rust for
//! Firefox (`rustc-web`, with `-Zbuild-std`; see ARCHITECTURE.md), installed when we are root.
//! The page must open from `file://`, where browsers block ES modules and fetch, so bindings are
//! generated with `--target no-modules` and the wasm bytes are inlined as base64 in a script.
//! `VAE_WASM_TOOLCHAIN=debian|rustup` forces one toolchain.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine;

use crate::{output, root, run, setup, step};

const TARGET: &str = "wasm32-unknown-unknown";
const CRATE: &str = "vae-wasm";
/// The training module, loaded only when the user trains in the page.
const TRAIN_CRATE: &str = "vae-train-wasm";
/// How long `rustup target add` may take before we fall back (it hangs offline).
const RUSTUP_TIMEOUT: Duration = Duration::from_secs(45);
/// Debian's toolchain that can build for wasm32 (bookworm-security: Rust 1.96).
const DEBIAN_PACKAGES: [&str; 4] = ["rustc-web", "cargo-web", "rust-web-src", "lld-19"];

/// Builds the page's bundle; returns the path of the bindgen'd wasm.
pub fn build() -> Result<PathBuf> {
    build_with_features(&[])
}

/// Builds the bundle with the page's wasm crate's cargo `features` (the benchmark adds `bench`).
///
/// Two wasm modules: the page's (`vae-wasm`, inlined in `pkg/vae_wasm_bytes.js`, loaded first)
/// and the training module (`vae-train-wasm`, in `pkg/train.js` with the Worker's source, loaded
/// only when the user opens training), plus the dataset pack the page trains on.
pub fn build_with_features(features: &[&str]) -> Result<PathBuf> {
    let root = root();
    let relaxed_features: Vec<&str> = features.iter().copied().chain(["relaxed-simd"]).collect();
    let [page_wasm, relaxed_wasm, train_wasm, train_relaxed_wasm] = compile(
        &root,
        [
            (CRATE, features, "simd128/vae_wasm"),
            (CRATE, &relaxed_features, "relaxed-simd/vae_wasm"),
            (TRAIN_CRATE, &[], "train/vae_train_wasm"),
            (TRAIN_CRATE, &["relaxed-simd"], "train-relaxed-simd/vae_train_wasm"),
        ],
    )?;
    let pkg = root.join("web/pkg");
    write_model_scripts(&root, &pkg)?;
    write_data_script(&root, &pkg)?;
    // Which features web/pkg was built with: cargo may hand back an older artifact when the
    // features change back, so a timestamp alone cannot tell.
    let stamp = pkg.join(".features");
    let features_text = features.join(",");
    let same_features = fs::read_to_string(&stamp).is_ok_and(|f| f == features_text);
    let page = bindgen(&root, &pkg, &page_wasm, !same_features)?;
    write_if_changed(&pkg.join("vae_wasm_bytes.js"), &inlined_wasm_script("", &page))?;
    // The same module with relaxed SIMD's fused multiply-add in the decoder: the page loads it
    // instead where the browser validates it.
    let relaxed = bindgen_relaxed(&root, "target/wasm-relaxed", &relaxed_wasm, &pkg.join("vae_wasm.js"), !same_features)?;
    write_if_changed(&pkg.join("vae_wasm_relaxed_bytes.js"), &inlined_wasm_script(RELAXED_NOTE, &relaxed))?;
    fs::write(&stamp, &features_text)?;
    write_bound_script(&root, &pkg)?;
    let train = bindgen(&root, &pkg, &train_wasm, false)?;
    write_train_script(&root, &pkg, "train.js", &train, "")?;
    // The training module with relaxed SIMD in its matrix products (the patched gemm-f32), loaded
    // instead where the page runs its relaxed build.
    let train_relaxed = bindgen_relaxed(&root, "target/wasm-train-relaxed", &train_relaxed_wasm, &pkg.join("vae_train_wasm.js"), false)?;
    write_train_script(&root, &pkg, "train-relaxed.js", &train_relaxed, RELAXED_NOTE)?;
    eprintln!(
        "web/pkg: {} KB of page wasm ({} KB with relaxed SIMD), {} KB of training wasm ({} KB with relaxed SIMD)",
        page.len() / 1024,
        relaxed.len() / 1024,
        train.len() / 1024,
        train_relaxed.len() / 1024
    );
    Ok(pkg.join("vae_wasm_bg.wasm"))
}

/// How the scripts of the relaxed-SIMD builds say what they are.
const RELAXED_NOTE: &str = " (relaxed SIMD: loaded instead where the browser validates it)";

/// Runs wasm-bindgen on a relaxed-SIMD build into `dir` (under the workspace root) and checks
/// that its bindings are the plain build's, `plain_glue`: the page has one glue for either module.
/// Returns the bindgen'd module's bytes.
fn bindgen_relaxed(root: &Path, dir: &str, wasm: &Path, plain_glue: &Path, force: bool) -> Result<Vec<u8>> {
    let dir = root.join(dir);
    let bytes = bindgen(root, &dir, wasm, force)?;
    let glue = plain_glue.file_name().context("a bindings file name")?;
    if fs::read(dir.join(glue))? != fs::read(plain_glue)? {
        bail!("the relaxed-SIMD build of {} has other JS bindings than the plain build: the two must export the same API", wasm.display());
    }
    Ok(bytes)
}

/// `pkg/<name>`: the training module (`wasm`, bindgen'd) and its Worker's source (the bindings
/// `pkg/vae_train_wasm.js` followed by the Worker's committed bundle, web/js/train-worker.js),
/// loaded when training starts.
fn write_train_script(root: &Path, pkg: &Path, name: &str, wasm: &[u8], what: &str) -> Result<()> {
    let source = worker_source(root, pkg, "vae_train_wasm.js", crate::js::WORKER_BUNDLE)?;
    let script = serde_json::json!({ "source": source, "wasm": base64::engine::general_purpose::STANDARD.encode(wasm) });
    write_if_changed(
        &pkg.join(name),
        &format!(
            "// Generated by `cargo xtask web`: the training module{what} and its Worker's source, loaded when training starts.\n\
             self.VAE_TRAIN = {script};\n"
        ),
    )
}

/// `pkg/bound.js`: the bound's Worker's source, the page module's bindings (`pkg/vae_wasm.js`, the
/// same for both builds) followed by its committed bundle, web/js/bound-worker.js. The page posts
/// the Worker the module it compiled, so the Worker runs the build the page runs.
fn write_bound_script(root: &Path, pkg: &Path) -> Result<()> {
    let source = serde_json::to_string(&worker_source(root, pkg, "vae_wasm.js", crate::js::BOUND_WORKER_BUNDLE)?)?;
    write_if_changed(
        &pkg.join("bound.js"),
        &format!(
            "// Generated by `cargo xtask web`: the exact bound's Worker's source, loaded when the bound is first asked for.\n\
             self.VAE_BOUND_SOURCE = {source};\n"
        ),
    )
}

/// A Worker's source: a module's bindings (`pkg/<glue>`, which define `wasm_bindgen`) followed by
/// the Worker's committed bundle (`bundle`, under the workspace root).
fn worker_source(root: &Path, pkg: &Path, glue: &str, bundle: &str) -> Result<String> {
    let bindings = fs::read_to_string(pkg.join(glue)).with_context(|| format!("reading the bindings pkg/{glue}"))?;
    let worker = fs::read_to_string(root.join(bundle)).with_context(|| format!("reading {bundle}"))?;
    Ok(format!("{bindings}\n{worker}"))
}

/// A script that sets `self.VAE_WASM_BASE64` to the base64 of the page's module: the page also runs from file://.
fn inlined_wasm_script(what: &str, wasm: &[u8]) -> String {
    format!(
        "// Generated by `cargo xtask web`: the wasm module inlined{what}, so the page also runs from file://.\n\
         self.VAE_WASM_BASE64 = \"{}\";\n",
        base64::engine::general_purpose::STANDARD.encode(wasm)
    )
}

/// Runs wasm-bindgen (`--target no-modules`, with its TypeScript declarations) on `wasm` into
/// `pkg` unless its output is newer (or `force`); returns the bindgen'd module's bytes.
fn bindgen(root: &Path, pkg: &Path, wasm: &Path, force: bool) -> Result<Vec<u8>> {
    let stem = wasm.file_stem().and_then(|s| s.to_str()).context("a wasm file name")?;
    let bg = pkg.join(format!("{stem}_bg.wasm"));
    let outputs_missing = [format!("{stem}.js"), format!("{stem}.d.ts")].iter().any(|f| !pkg.join(f).exists());
    if force || !is_newer(&bg, wasm) || outputs_missing {
        let version = locked_version(root, "wasm-bindgen")?;
        let cli = setup::wasm_bindgen_cli(&version)?;
        step(&format!("wasm-bindgen --target no-modules ({stem})"));
        run(Command::new(cli)
            // The .d.ts it writes is the page's contract with the module: `tsc` checks web/src
            // (and the Worker) against it, so the API is typed once, by the Rust signatures.
            .args(["--target", "no-modules", "--remove-name-section", "--out-dir"])
            .arg(pkg)
            .arg(wasm))?;
    }
    fs::read(&bg).with_context(|| format!("reading {}", bg.display()))
}

/// `pkg/data-mnist.js`: the dataset pack the page trains on (`datasets/mnist.vaed.gz`, made by
/// `trainer pack-data`), as base64, loaded only when training starts.
fn write_data_script(root: &Path, pkg: &Path) -> Result<()> {
    let pack =
        fs::read(root.join("datasets/mnist.vaed.gz")).context("reading datasets/mnist.vaed.gz (make it with `trainer pack-data`)")?;
    write_if_changed(
        &pkg.join("data-mnist.js"),
        &format!(
            "// Generated by `cargo xtask web` from datasets/mnist.vaed.gz: MNIST digits for training in the page.\n\
             self.VAE_DATA_MNIST = \"{}\";\n",
            base64::engine::general_purpose::STANDARD.encode(&pack)
        ),
    )
}

/// `weights/manifest.json`: the one list of shipped models (also read by vae-wasm's build script).
#[derive(serde::Deserialize)]
struct Manifest {
    models: Vec<ManifestEntry>,
}

#[derive(serde::Deserialize)]
struct ManifestEntry {
    name: String,
    file: String,
    label: String,
    #[serde(default)]
    default: bool,
}

/// Writes `pkg/models.js` (the shipped models in the manifest's order, with their labels) and,
/// for every model but the embedded default, `pkg/model-<name>.js` holding its weights file as
/// base64: plain scripts, so the page can load them after its first image, from `file://` too.
fn write_model_scripts(root: &Path, pkg: &Path) -> Result<()> {
    fs::create_dir_all(pkg)?;
    let manifest_path = root.join("weights/manifest.json");
    let manifest: Manifest = serde_json::from_str(&fs::read_to_string(&manifest_path).context("reading weights/manifest.json")?)
        .context("weights/manifest.json is not a model manifest")?;
    let mut entries = Vec::new();
    for model in &manifest.models {
        let mut entry = serde_json::json!({ "name": model.name, "label": model.label });
        if model.default {
            entry["embedded"] = true.into();
        } else {
            let script = format!("model-{}.js", model.name);
            let bytes = fs::read(root.join("weights").join(&model.file)).with_context(|| format!("reading weights/{}", model.file))?;
            let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
            write_if_changed(
                &pkg.join(&script),
                &format!(
                    "// Generated by `cargo xtask web` from weights/{}.\n\
                     (self.VAE_MODEL_BASE64 = self.VAE_MODEL_BASE64 || {{}})[{:?}] = \"{b64}\";\n",
                    model.file, model.name
                ),
            )?;
            entry["script"] = format!("pkg/{script}").into();
        }
        entries.push(entry);
    }
    // Scripts of models that are no longer shipped.
    for entry in fs::read_dir(pkg)?.filter_map(|e| e.ok()) {
        let file = entry.file_name().to_string_lossy().into_owned();
        if let Some(name) = file.strip_prefix("model-").and_then(|f| f.strip_suffix(".js"))
            && !manifest.models.iter().any(|m| m.name == name && !m.default)
        {
            fs::remove_file(entry.path())?;
        }
    }
    write_if_changed(
        &pkg.join("models.js"),
        &format!(
            "// Generated by `cargo xtask web` from weights/manifest.json: the shipped models, in order.\n\
             self.VAE_MODELS = {};\n",
            serde_json::to_string(&entries)?
        ),
    )
}

fn write_if_changed(path: &Path, text: &str) -> Result<()> {
    if fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn is_newer(a: &Path, b: &Path) -> bool {
    match (a.metadata().and_then(|m| m.modified()), b.metadata().and_then(|m| m.modified())) {
        (Ok(a), Ok(b)) => a >= b,
        _ => false,
    }
}

/// Compiles each `(crate, features, name)` in release mode with whichever toolchain works here
/// and keeps its `.wasm` as `target/wasm32-unknown-unknown/release/<name>.wasm`; returns those
/// paths. One cargo run per build: built together, cargo would unify their features and the
/// page's module would carry the training code. The relaxed-SIMD builds differ by a cargo
/// feature, not RUSTFLAGS, so std is not rebuilt: the page's second build recompiles only
/// vae-core and vae-wasm (seconds); the training module's recompiles gemm-f32 and what depends
/// on it (burn's flex backend and up, a few minutes the first time).
fn compile<const N: usize>(root: &Path, builds: [(&str, &[&str], &str); N]) -> Result<[PathBuf; N]> {
    // VAE_WASM_TOOLCHAIN=debian|rustup forces one path (to test the other one on a machine that has both).
    let forced = std::env::var("VAE_WASM_TOOLCHAIN").ok();
    let use_rustup = match forced.as_deref() {
        Some("debian") => false,
        Some("rustup") => true,
        Some(other) => bail!("VAE_WASM_TOOLCHAIN={other}: use `debian` or `rustup`"),
        None => rustup_has_target(),
    };
    if !use_rustup {
        ensure_debian_toolchain()?;
    }
    let release = root.join(format!("target/{TARGET}/release"));
    let mut kept = Vec::with_capacity(N);
    for (krate, features, name) in builds {
        let toolchain = if use_rustup { "rustup toolchain" } else { "Debian rustc-web, -Zbuild-std" };
        let with = if features.is_empty() { String::new() } else { format!(", features {}", features.join(",")) };
        step(&format!("building {krate} for {TARGET} ({toolchain}{with})"));
        let mut cmd = wasm_cargo(use_rustup);
        cmd.args(["-p", krate]);
        if !features.is_empty() {
            cmd.args(["--features", &features.join(",")]);
        }
        run(cmd.current_dir(root))?;
        let built = release.join(format!("{}.wasm", krate.replace('-', "_")));
        // Each build's module is kept under a name of its own: the next build overwrites `built`.
        let keep = release.join(format!("{name}.wasm"));
        copy_if_changed(&built, &keep)?;
        kept.push(keep);
    }
    Ok(kept.try_into().expect("one path per build"))
}

/// Copies `from` to `to` unless `to` already holds the same bytes (its time then stays, so the
/// bindings made from it are not remade).
fn copy_if_changed(from: &Path, to: &Path) -> Result<()> {
    let bytes = fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    if fs::read(to).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    if let Some(dir) = to.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(to, bytes).with_context(|| format!("writing {}", to.display()))
}

/// `cargo build --release` for wasm32 with rustup's toolchain, or with Debian's (`-Zbuild-std`).
fn wasm_cargo(use_rustup: bool) -> Command {
    if use_rustup {
        let mut cmd = Command::new(crate::cargo());
        cmd.args(["build", "--release", "--locked", "--target", TARGET]);
        return cmd;
    }
    let mut cmd = Command::new("/usr/bin/cargo");
    // Leave rustup's environment behind: /usr/bin first, and no rustup toolchain overrides.
    for var in ["RUSTUP_TOOLCHAIN", "RUSTUP_HOME_OVERRIDE", "CARGO", "RUSTC", "RUSTDOC", "CARGO_MANIFEST_DIR"] {
        cmd.env_remove(var);
    }
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.args(["build", "--release", "--locked", "-Zbuild-std=std,panic_abort", "--target", TARGET])
        .env("PATH", format!("/usr/bin:{path}"))
        .env("RUSTC", "/usr/bin/rustc")
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", "wasm-ld-19");
    cmd
}

/// True when rustup has (or can add, within a timeout) the wasm32 standard library.
fn rustup_has_target() -> bool {
    let installed = |_: ()| {
        output(Command::new("rustup").args(["target", "list", "--installed"])).is_some_and(|s| s.lines().any(|l| l.trim() == TARGET))
    };
    if output(Command::new("rustup").arg("--version")).is_none() {
        return false;
    }
    if installed(()) {
        return true;
    }
    // Remember a failed attempt, so an offline machine pays the timeout once, not every build.
    let marker = root().join("target/.rustup-wasm32-unavailable");
    if marker.exists() {
        return false;
    }
    step(&format!("rustup target add {TARGET} (giving up after {}s)", RUSTUP_TIMEOUT.as_secs()));
    let added = Command::new("rustup").args(["target", "add", TARGET]).spawn().ok().is_some_and(|mut child| {
        let start = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(status)) => break status.success(),
                Ok(None) if start.elapsed() < RUSTUP_TIMEOUT => std::thread::sleep(Duration::from_millis(200)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break false;
                }
            }
        }
    });
    if added && installed(()) {
        return true;
    }
    eprintln!("rustup could not add {TARGET}; falling back to Debian's rustc-web");
    let _ = fs::create_dir_all(root().join("target"));
    let _ = fs::write(&marker, "rustup target add timed out or failed\n");
    false
}

fn ensure_debian_toolchain() -> Result<()> {
    let ready = Path::new("/usr/bin/cargo").exists()
        && Path::new("/usr/lib/rustlib/src/rust/library").exists()
        && output(Command::new("wasm-ld-19").arg("--version")).is_some();
    if ready {
        return Ok(());
    }
    setup::apt_install(&DEBIAN_PACKAGES, "building for wasm32 without rustup's target")
        .context("no wasm32 toolchain: either `rustup target add wasm32-unknown-unknown`, or install Debian's rustc-web")
}

/// The version of `package` that Cargo.lock pins, as `cargo metadata` resolves it.
fn locked_version(root: &Path, package: &str) -> Result<String> {
    let out = Command::new(crate::cargo())
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(root)
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).context("cargo metadata printed no JSON")?;
    metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == package)
        .and_then(|p| p["version"].as_str())
        .map(String::from)
        .with_context(|| format!("{package} is not among the workspace's dependencies"))
}
