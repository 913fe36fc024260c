//! vae-core's modules in layers, bottom first (ARCHITECTURE.md): a module may use only modules of
//! a lower layer and the crate root's own items. No import points sideways or up, so there is no
//! circle and each module can be read with only what is below it.
//!
//! Checked on the source parsed by `syn`, not read line by line: every `use` tree (groups nested
//! over many lines, renames, globs) and every path in code and types, from `crate::` or from
//! `super::` (resolved from the file's place in the module tree), in a module's own file and every
//! file under its directory. `cargo xtask test` runs it; its tests plant each kind of violation.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use syn::visit::Visit;

/// vae-core's layers, bottom first.
pub const VAE_CORE_LAYERS: &[&[&str]] = &[
    &["numeric", "message", "framing", "idx", "dataset"],
    &["model", "latent", "classifier"],
    &["loss", "fast", "preprocess", "pack"],
    &["eval", "bound", "weights", "optim"],
    &["readout", "train"],
    &["session"],
];

/// One name a module uses from elsewhere in the crate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Import {
    /// The top-level module whose file names it.
    pub module: String,
    /// The file, relative to the crate's `src/`.
    pub file: String,
    /// What it names, as written from the crate root (`bound::Gaussian2`, `*` for a glob).
    pub path: String,
    /// The top-level module it comes from (`None`: an item of the crate root itself).
    pub target: Option<String>,
}

/// Checks vae-core's source under `root`.
pub fn check(root: &Path) -> Result<()> {
    let src = root.join("crates/vae-core/src");
    let violations = violations(&src, VAE_CORE_LAYERS)?;
    if !violations.is_empty() {
        bail!("vae-core's layers are broken (a module may use only lower layers; ARCHITECTURE.md):\n  {}", violations.join("\n  "));
    }
    Ok(())
}

/// The imports of the crate under `src` that break `layers`, as sentences (empty: none), or an
/// error where the source cannot be read or a module has no layer.
pub fn violations(src: &Path, layers: &[&[&str]]) -> Result<Vec<String>> {
    let layer: HashMap<&str, usize> = layers.iter().enumerate().flat_map(|(i, names)| names.iter().map(move |n| (*n, i))).collect();
    let crate_root = CrateRoot::read(src)?;
    let unlayered: Vec<&String> = crate_root.modules.iter().filter(|m| !layer.contains_key(m.as_str())).collect();
    if !unlayered.is_empty() {
        bail!("modules with no layer in VAE_CORE_LAYERS (crates/xtask/src/layers.rs): {unlayered:?}");
    }
    let imports = crate_root.imports(src)?;
    if imports.len() < 20 {
        bail!("found only {} imports across vae-core: is the parser still reading them?", imports.len());
    }
    Ok(imports
        .iter()
        .filter_map(|i| {
            let target = i.target.as_deref()?;
            (target != i.module && layer[target] >= layer[i.module.as_str()]).then(|| {
                format!(
                    "{} ({}) uses {} ({}) via `{}`",
                    i.file,
                    i.module,
                    target,
                    layer_text(layer[target], layer[i.module.as_str()]),
                    i.path
                )
            })
        })
        .collect())
}

fn layer_text(target: usize, module: usize) -> &'static str {
    if target == module { "its own layer" } else { "a layer above" }
}

/// What lib.rs declares: its modules, and the module each re-exported name comes from.
struct CrateRoot {
    modules: BTreeSet<String>,
    reexported: HashMap<String, String>,
}

impl CrateRoot {
    fn read(src: &Path) -> Result<Self> {
        let lib = parse(&src.join("lib.rs"))?;
        let mut modules = BTreeSet::new();
        let mut reexported = HashMap::new();
        for item in &lib.items {
            match item {
                syn::Item::Mod(m) if m.content.is_none() => {
                    modules.insert(m.ident.to_string());
                }
                syn::Item::Use(u) => {
                    for path in flatten(&u.tree, &[]) {
                        // `pub use bound::Gaussian2;` / `pub use bound::{A, B as C}`: the name
                        // the root offers, and where it comes from.
                        if let (Some(first), Some(name)) = (path.segments.first(), path.exported) {
                            reexported.insert(name, first.clone());
                        }
                    }
                }
                _ => {}
            }
        }
        // Only the crate's own modules count (a re-export of another crate's item is not one).
        reexported.retain(|_, module| modules.contains(module));
        Ok(Self { modules, reexported })
    }

    /// Every name each module's files use from elsewhere in the crate.
    fn imports(&self, src: &Path) -> Result<Vec<Import>> {
        let mut found = Vec::new();
        for module in &self.modules {
            for (file, depth) in module_files(src, module)? {
                let ast = parse(&file)?;
                let mut paths = Paths { depth, found: Vec::new() };
                paths.visit_file(&ast);
                let rel = file.strip_prefix(src).unwrap_or(&file).display().to_string();
                for (segments, depth) in paths.found {
                    let Some(from_root) = from_crate_root(&segments, depth).filter(|p| !p.is_empty()) else { continue };
                    let first = from_root[0].as_str();
                    let target = match first {
                        "*" => Some("*".to_string()),
                        _ if self.modules.contains(first) => Some(first.to_string()),
                        _ => self.reexported.get(first).cloned(),
                    };
                    let path = from_root.join("::");
                    // A glob from the root names every module: it is reported as using them all.
                    let targets: Vec<Option<String>> =
                        if target.as_deref() == Some("*") { self.modules.iter().map(|m| Some(m.clone())).collect() } else { vec![target] };
                    for target in targets {
                        if target.as_deref() != Some(module.as_str()) {
                            found.push(Import { module: module.clone(), file: rel.clone(), path: path.clone(), target });
                        }
                    }
                }
            }
        }
        found.sort();
        found.dedup();
        Ok(found)
    }
}

/// A module's files with their depth below the crate root: `m.rs` (or `m/mod.rs`) at depth 1, and
/// every `.rs` file under `m/` at its own depth (`m/a.rs` is `m::a`, depth 2).
fn module_files(src: &Path, module: &str) -> Result<Vec<(PathBuf, usize)>> {
    let mut files = Vec::new();
    let own = src.join(format!("{module}.rs"));
    let dir = src.join(module);
    if own.exists() {
        files.push((own, 1));
    }
    let mut stack = vec![(dir, 2)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                stack.push((path, depth + 1));
            } else if path.extension().is_some_and(|e| e == "rs") {
                // `m/mod.rs` is `m` itself.
                let own_depth = if path.file_name().is_some_and(|n| n == "mod.rs") { depth - 1 } else { depth };
                files.push((path, own_depth));
            }
        }
    }
    if files.is_empty() {
        bail!("module {module} has no file in {}", src.display());
    }
    files.sort();
    Ok(files)
}

fn parse(file: &Path) -> Result<syn::File> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    syn::parse_file(&text).with_context(|| format!("parsing {}", file.display()))
}

/// A path written in a `use` tree or in code: its segments, and for a `use` the name it binds.
struct UsePath {
    segments: Vec<String>,
    exported: Option<String>,
}

/// Every path a `use` tree names, its groups flattened (`a::{b, c::{d, e as f}, *}`).
fn flatten(tree: &syn::UseTree, prefix: &[String]) -> Vec<UsePath> {
    let with = |last: String| prefix.iter().cloned().chain(std::iter::once(last)).collect::<Vec<_>>();
    match tree {
        syn::UseTree::Path(p) => flatten(&p.tree, &with(p.ident.to_string())),
        syn::UseTree::Name(n) => vec![UsePath { segments: with(n.ident.to_string()), exported: Some(n.ident.to_string()) }],
        syn::UseTree::Rename(r) => vec![UsePath { segments: with(r.ident.to_string()), exported: Some(r.rename.to_string()) }],
        syn::UseTree::Glob(_) => vec![UsePath { segments: with("*".into()), exported: None }],
        syn::UseTree::Group(g) => g.items.iter().flat_map(|t| flatten(t, prefix)).collect(),
    }
}

/// The paths of a file that may point into the crate: every `use` tree's paths and every path in
/// code, types and patterns, as segments, each with the depth of the module it is written in
/// below the crate root (an inline `mod tests { … }` is one deeper than its file).
struct Paths {
    depth: usize,
    found: Vec<(Vec<String>, usize)>,
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let depth = self.depth;
        self.found.extend(flatten(&item.tree, &[]).into_iter().map(|p| (p.segments, depth)));
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        self.depth += 1;
        syn::visit::visit_item_mod(self, item);
        self.depth -= 1;
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.found.push((path.segments.iter().map(|s| s.ident.to_string()).collect(), self.depth));
        syn::visit::visit_path(self, path);
    }

    /// `pub(super)` and `pub(in crate::a)` say who may see an item, not what it uses.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}
}

/// `segments` as written from the crate root, for a file `depth` modules below it: `crate::a::b`
/// and `super::…::a::b` that climb to the root give `[a, b]`; `None` for a path that stays inside
/// the file's own module or starts elsewhere (another crate, a local name).
fn from_crate_root(segments: &[String], depth: usize) -> Option<Vec<String>> {
    match segments.first().map(String::as_str) {
        Some("crate") => Some(segments[1..].to_vec()),
        Some("super") => {
            let supers = segments.iter().take_while(|s| *s == "super").count();
            (supers >= depth).then(|| segments[supers..].to_vec())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYERS: &[&[&str]] = &[&["low"], &["high"]];

    /// A crate with `low` (layer 0) and `high` (layer 1): `high` uses `low` in many ways, as it
    /// may; `low`'s file gets `planted`, and `extra` adds files. Returns its violations.
    fn planted(planted: &str, extra: &[(&str, &str)]) -> Vec<String> {
        static CRATES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = CRATES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("xtask-layers-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("low")).expect("a temp dir");
        let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).expect("write");
        write("lib.rs", "pub mod low;\npub mod high;\npub use high::Top;\npub const ROOT: u8 = 1;\n");
        // Enough allowed imports that the check believes it is reading them.
        let allowed: String = (0..24).map(|i| format!("use crate::low::L{i};\nuse super::low::M{i};\n")).collect();
        write("high.rs", &format!("{allowed}pub struct Top;\nfn f() {{ let _ = crate::low::g(); let _ = crate::ROOT; }}\n"));
        write("low.rs", &format!("pub fn g() {{}}\nuse crate::ROOT;\n{planted}\n"));
        for (name, text) in extra {
            write(name, text);
        }
        let found = violations(&dir, LAYERS).expect("the planted crate parses");
        let _ = std::fs::remove_dir_all(&dir);
        found
    }

    #[test]
    fn a_crate_in_layers_passes() {
        assert_eq!(planted("", &[]), Vec::<String>::new());
        // An inline module's `super::` is its file's module; `pub(super)` names no import.
        assert_eq!(planted("mod tests { use super::*; }\npub(super) fn h() {}", &[]), Vec::<String>::new());
    }

    #[test]
    fn every_way_of_naming_a_module_above_is_caught() {
        let cases = [
            ("a plain use", "use crate::high::Top;"),
            ("super:: from a top-level module", "use super::high::Top;"),
            ("a group over several lines, as rustfmt writes it", "use crate::{\n    low::g,\n    high::Top,\n};"),
            ("a name after a nested group", "use crate::{low::{g as h}, high::Top};"),
            ("a glob from the root", "use crate::*;"),
            ("a glob of the module", "use crate::high::*;"),
            ("a re-exported name", "use crate::Top;"),
            ("a path in code", "fn f() { crate::high::Top; }"),
            ("a path in a type", "struct S(crate::high::Top);"),
            ("a use inside a function", "fn f() { use crate::high::Top; }"),
            ("super::super:: from an inline module", "mod inner { use super::super::high::Top; }"),
        ];
        for (what, code) in cases {
            let found = planted(code, &[]);
            assert!(found.iter().any(|v| v.contains("uses high")), "{what} ({code:?}) was not caught: {found:?}");
        }
    }

    #[test]
    fn sub_files_are_read_and_super_is_resolved_from_their_depth() {
        // low/inner.rs is low::inner: `super::` is low itself (allowed), `super::super::` the root.
        let allowed = planted("", &[("low/inner.rs", "use super::g;\n")]);
        assert_eq!(allowed, Vec::<String>::new());
        for code in ["use crate::high::Top;\n", "use super::super::high::Top;\n", "fn f() { super::super::high::Top; }\n"] {
            let found = planted("", &[("low/inner.rs", code)]);
            assert!(found.iter().any(|v| v.contains("low/inner.rs") && v.contains("uses high")), "{code:?}: {found:?}");
        }
    }

    #[test]
    fn a_module_of_its_own_layer_is_caught_and_an_unlayered_module_is_an_error() {
        let dir = std::env::temp_dir().join(format!("xtask-layers-side-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temp dir");
        std::fs::write(dir.join("lib.rs"), "pub mod a;\npub mod b;\n").expect("write");
        let uses: String = (0..24).map(|i| format!("use crate::a::X{i};\n")).collect();
        std::fs::write(dir.join("a.rs"), "pub struct X;\n").expect("write");
        std::fs::write(dir.join("b.rs"), uses).expect("write");
        let sideways = violations(&dir, &[&["a", "b"]]).expect("parses");
        assert!(sideways.iter().any(|v| v.contains("its own layer")), "{sideways:?}");
        assert!(violations(&dir, &[&["a"]]).is_err(), "b has no layer");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn vae_core_itself_is_in_layers() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        check(&root).expect("vae-core's layers");
    }
}
