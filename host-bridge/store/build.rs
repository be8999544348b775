//! Reads the product's version from perth's manifest, so that every binary reports the one version
//! perth does (`store::PRODUCT_VERSION`) without a second copy of the number.

use std::path::Path;

fn main() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../perth/Cargo.toml");
    println!("cargo:rerun-if-changed={}", manifest.display());
    let text = std::fs::read_to_string(&manifest)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", manifest.display()));
    let version = package_version(&text).unwrap_or_else(|| {
        panic!(
            "{} has no `version = \"...\"` in its [package] table",
            manifest.display()
        )
    });
    println!("cargo:rustc-env=PERTH_PRODUCT_VERSION={version}");
}

/// Returns the `version` of the `[package]` table of a Cargo manifest.
fn package_version(manifest: &str) -> Option<&str> {
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            if let Some(value) = line.strip_prefix("version") {
                let value = value.trim_start().strip_prefix('=')?.trim();
                return value.strip_prefix('"')?.strip_suffix('"');
            }
        }
    }
    None
}
