//! `vendor/` holds two published crates with a small change each. Each change is also kept as a
//! patch against the published crate (`vendor/<name>.patch`); this check downloads the published
//! crate from crates.io and fails unless the vendored tree is exactly it plus that patch, so a
//! version bump starts from the recorded diff instead of rediscovering it.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{output, run, setup, step};

/// The vendored crates: name, published version (the root Cargo.toml's `[patch.crates-io]`).
pub const VENDORED: [(&str, &str); 2] = [("gemm-f32", "0.19.0"), ("cubecl-environment", "0.11.3")];

/// Files a published `.crate` carries that say nothing about the code (cargo ignores a
/// dependency's lock file): left out of the comparison.
const NOT_COMPARED: [&str; 4] = ["Cargo.lock", ".cargo-ok", ".cargo_vcs_info.json", "Cargo.toml.orig"];

/// Checks every vendored crate against its published version plus its patch.
pub fn check(root: &Path) -> Result<()> {
    step("vendor/: each vendored crate is its published version plus vendor/<name>.patch");
    if output(Command::new("curl").arg("--version")).is_none() {
        setup::apt_install(&["curl", "ca-certificates"], "checking vendor/ against crates.io")?;
    }
    for (name, version) in VENDORED {
        let work = root.join("target/vendor-check").join(name);
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work)?;
        let archive = work.join("published.crate");
        let url = format!("https://static.crates.io/crates/{name}/{name}-{version}.crate");
        run(Command::new("curl").args(["-sSfL", "--retry", "3", "-o"]).arg(&archive).arg(&url))
            .with_context(|| format!("downloading {url} (crates.io must be reachable, as for cargo)"))?;
        run(Command::new("tar").arg("xzf").arg(&archive).current_dir(&work))?;
        std::fs::rename(work.join(format!("{name}-{version}")), work.join("a"))?;
        run(Command::new("cp").arg("-r").arg(root.join("vendor").join(name)).arg(work.join("b")))?;
        let diff = unified_diff(&work)?;
        let recorded = std::fs::read_to_string(root.join("vendor").join(format!("{name}.patch")))
            .with_context(|| format!("vendor/{name}.patch is missing: write it with `diff -ruN` (see vendor/README.md)"))?;
        if diff != recorded {
            bail!(
                "vendor/{name} is not {name} {version} plus vendor/{name}.patch: the vendored tree changed without its patch (or the \
                 patch without the tree). The diff it has now is in {}; copy it to vendor/{name}.patch if the change is meant",
                write_now(&work, &diff)?
            );
        }
    }
    Ok(())
}

/// `diff -ruN a b` in `work`, its file lines without timestamps (so it reads the same every run
/// and applies with `patch -p1`).
fn unified_diff(work: &Path) -> Result<String> {
    let mut diff = Command::new("diff");
    diff.arg("-ruN");
    for file in NOT_COMPARED {
        diff.args(["-x", file]);
    }
    let out = diff.args(["a", "b"]).current_dir(work).output().context("running diff")?;
    // diff exits 1 when the trees differ (expected), 2 on trouble.
    if out.status.code() == Some(2) {
        bail!("diff failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8(out.stdout).context("the diff is not UTF-8")?;
    Ok(text
        .lines()
        .map(|line| match line.split_once('\t') {
            Some((file, _timestamp)) if line.starts_with("--- ") || line.starts_with("+++ ") => file,
            _ => line,
        })
        .map(|line| format!("{line}\n"))
        .collect())
}

/// Writes the diff found now beside the trees; returns its path for the message.
fn write_now(work: &Path, diff: &str) -> Result<String> {
    let path = work.join("now.patch");
    std::fs::write(&path, diff)?;
    Ok(path.display().to_string())
}
