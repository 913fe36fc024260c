//! Installing what the tasks need on a fresh machine: Debian packages, cargo tools, npm packages.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{output, run, step};

/// Whether we may install Debian packages ourselves (root on a machine with apt-get).
fn can_apt() -> bool {
    Path::new("/usr/bin/apt-get").exists() && output(Command::new("id").arg("-u")).is_some_and(|u| u.trim() == "0")
}

/// Installs Debian packages, or explains how when we cannot.
pub fn apt_install(packages: &[&str], why: &str) -> Result<()> {
    if !can_apt() {
        bail!(
            "{why} needs the Debian packages {0}; install them with:\n    sudo apt-get update && sudo apt-get install -y {0}",
            packages.join(" ")
        );
    }
    step(&format!("installing {} ({why})", packages.join(" ")));
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Path of a Chromium for the browser tests, installing Debian's when missing.
pub fn chromium() -> Result<String> {
    browser("CHROMIUM", "/usr/bin/chromium", "chromium", "the browser tests")
}

/// Path of a Firefox ESR for the browser tests' second engine, installing Debian's when missing.
pub fn firefox() -> Result<String> {
    browser("FIREFOX", "/usr/bin/firefox-esr", "firefox-esr", "the browser tests' second engine")
}

/// WebKit for the browser tests' third engine: WebKitGTK's MiniBrowser and its WebKitWebDriver,
/// and Xvfb for the display MiniBrowser needs (it has no headless mode), installing Debian's
/// webkit2gtk-driver and xvfb when missing. Returns the browser and the driver.
pub fn webkit() -> Result<(String, String)> {
    const BROWSER: &str = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";
    const DRIVER: &str = "/usr/bin/WebKitWebDriver";
    let chosen = |env: &str, default: &str| std::env::var(env).ok().filter(|p| Path::new(p).exists()).unwrap_or_else(|| default.into());
    let (browser, driver) = (chosen("WEBKIT_BROWSER", BROWSER), chosen("WEBKIT_DRIVER", DRIVER));
    let xvfb = output(Command::new("sh").args(["-c", "command -v Xvfb"])).is_some_and(|p| !p.trim().is_empty());
    if !Path::new(&browser).exists() || !Path::new(&driver).exists() || !xvfb {
        apt_install(
            &["webkit2gtk-driver", "xvfb"],
            "the browser tests' third engine (WebKit; on a Mac, Safari's safaridriver is the equivalent, not used here)",
        )?;
    }
    Ok((browser, driver))
}

/// The browser the environment variable `env` names (when it exists), else Debian's at `path`,
/// installed from `package` when missing.
fn browser(env: &str, path: &str, package: &str, why: &str) -> Result<String> {
    if let Ok(chosen) = std::env::var(env)
        && Path::new(&chosen).exists()
    {
        return Ok(chosen);
    }
    if !Path::new(path).exists() {
        apt_install(&[package], why)?;
    }
    Ok(path.into())
}

/// Prints each browser's version and its driver's (playwright-core for Chromium, puppeteer-core
/// for Firefox), so that a failure after a browser update (apt serves only its newest build) is
/// recognisable at once.
pub fn print_browser_versions(browsers: &[(&str, &str)], browser_dir: &Path) {
    let package = |name: &str| {
        std::fs::read_to_string(browser_dir.join(format!("node_modules/{name}/package.json")))
            .ok()
            .and_then(|json| serde_json::from_str::<serde_json::Value>(&json).ok())
            .and_then(|json| json["version"].as_str().map(String::from))
            .unwrap_or_else(|| "unknown".into())
    };
    for (path, driver) in browsers {
        let version = output(Command::new(path).arg("--version")).unwrap_or_else(|| "unknown (`--version` failed)".into());
        println!("browser: {} ({path}); {driver} {}", version.trim(), package(driver));
    }
}

/// Prints WebKitGTK's version (its Debian package's: MiniBrowser has no `--version`) and its
/// driver's, and Xvfb's.
pub fn print_webkit_versions(browser: &str, driver: &str) {
    let package =
        |name: &str| output(Command::new("dpkg-query").args(["-W", "-f", "${Version}", name])).unwrap_or_else(|| "unknown".into());
    println!(
        "browser: WebKitGTK {} ({browser}); WebKitWebDriver ({driver}) over W3C WebDriver; Xvfb {}",
        package("webkit2gtk-driver"),
        package("xvfb")
    );
}

/// `npm ci` in `dir` when its node_modules is missing or older than its lock file.
pub fn npm_install(dir: &Path) -> Result<()> {
    if output(Command::new("node").arg("--version")).is_none() {
        apt_install(&["nodejs", "npm"], "the browser tests")?;
    }
    let stamp = dir.join("node_modules/.package-lock.json");
    let lock = dir.join("package-lock.json");
    let fresh = match (stamp.metadata().and_then(|m| m.modified()), lock.metadata().and_then(|m| m.modified())) {
        (Ok(installed), Ok(locked)) => installed >= locked,
        _ => false,
    };
    if !fresh {
        step(&format!("npm ci in {} (no browser download)", dir.display()));
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1").current_dir(dir))
            .context("installing the browser-test packages")?;
    }
    Ok(())
}

/// Ensures a `wasm-bindgen` CLI of exactly `version` (it must match the library in Cargo.lock).
pub fn wasm_bindgen_cli(version: &str) -> Result<String> {
    let home = std::env::var("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| Path::new(&std::env::var("HOME").unwrap_or_default()).join(".cargo"));
    let installed = home.join("bin/wasm-bindgen");
    for candidate in [installed.to_string_lossy().into_owned(), "wasm-bindgen".into()] {
        if let Some(v) = output(Command::new(&candidate).arg("--version"))
            && v.split_whitespace().nth(1) == Some(version)
        {
            return Ok(candidate);
        }
    }
    step(&format!("installing wasm-bindgen-cli {version} (once; a few minutes)"));
    let install = |locked: bool| {
        let mut cmd = Command::new(crate::cargo());
        cmd.args(["install", "wasm-bindgen-cli", "--version", version, "--force"]);
        if locked {
            cmd.arg("--locked");
        }
        run(&mut cmd)
    };
    // The CLI's own lock file can name a dependency version the registry no longer serves
    // (seen: webpki-roots 1.0.11); then resolve its dependencies afresh.
    if install(true).is_err() {
        eprintln!("retrying without --locked");
        install(false)?;
    }
    Ok(installed.to_string_lossy().into_owned())
}
