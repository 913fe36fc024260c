//! Reads `weights/manifest.json` (the one list of shipped models) and embeds the default
//! model's weights: `$OUT_DIR/default_model.rs` defines `DEFAULT_MODEL = (name, bytes)`.

use std::path::Path;

#[derive(serde::Deserialize)]
struct Manifest {
    models: Vec<Entry>,
}

#[derive(serde::Deserialize)]
struct Entry {
    name: String,
    file: String,
    #[serde(default)]
    default: bool,
}

fn main() {
    let weights = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../weights");
    let manifest_path = weights.join("manifest.json");
    println!("cargo:rerun-if-changed={}", manifest_path.display());
    let text = std::fs::read_to_string(&manifest_path).unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display()));
    let manifest: Manifest =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not a model manifest: {e}", manifest_path.display()));
    let defaults: Vec<&Entry> = manifest.models.iter().filter(|m| m.default).collect();
    let [default] = defaults.as_slice() else {
        panic!("{} must mark exactly one model \"default\": true (found {})", manifest_path.display(), defaults.len());
    };
    let file = weights.join(&default.file).canonicalize().unwrap_or_else(|e| panic!("the default model {}: {e}", default.file));
    println!("cargo:rerun-if-changed={}", file.display());
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("default_model.rs");
    let code = format!(
        "/// The default model (weights/manifest.json), compiled in: its name and weights file.\n\
         pub const DEFAULT_MODEL: (&str, &[u8]) = ({:?}, include_bytes!({:?}));\n",
        default.name,
        file.display().to_string()
    );
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
