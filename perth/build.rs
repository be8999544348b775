//! Embeds perth's WebAssembly plugins, built beforehand by `cargo xtask build`, into the binary.
//!
//! When a plugin is missing (a plain `cargo build` or `cargo clippy` on a fresh clone) an empty
//! file is embedded instead and perth reports the plugin as missing at run time.

use std::path::{Path, PathBuf};

const PLUGINS: &[&str] = &[
    "perth-core",
    "zdrive-snapshot",
    "imi-worktrees",
    "zdrive-pane",
    "perth-tab-bar",
    "perth-status-bar",
];
/// Where `cargo xtask build` puts them, under the target directory (the `plugin` profile).
const PLUGIN_DIR: &str = "wasm32-wasip1/plugin";

fn main() {
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target_dir = std::env::var_os("PERTH_PLUGIN_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| find_target_dir(&out_dir));
    println!("cargo:rerun-if-env-changed=PERTH_PLUGIN_TARGET_DIR");
    for plugin in PLUGINS {
        let digest_file = out_dir.join(format!("{plugin}.wasm.digest"));
        let dest = out_dir.join(format!("{plugin}.wasm"));
        let source = target_dir
            .as_ref()
            .map(|t| t.join(PLUGIN_DIR).join(format!("{plugin}.wasm")));
        match source {
            Some(source) if source.is_file() => {
                println!("cargo:rerun-if-changed={}", source.display());
                std::fs::copy(&source, &dest).expect("copy plugin wasm into OUT_DIR");
            }
            source => {
                if let Some(source) = &source {
                    println!("cargo:rerun-if-changed={}", source.display());
                }
                println!(
                    "cargo:warning=plugin {plugin} is not built; run `cargo xtask build` to embed it"
                );
                std::fs::write(&dest, b"").expect("write empty plugin placeholder");
            }
        }
        // Computed here so that perth never hashes the module at start-up.
        let bytes = std::fs::read(&dest).expect("read the plugin back");
        std::fs::write(&digest_file, digest(&bytes)).expect("write the plugin digest");
    }
}

/// Returns a hex FNV-1a digest of `bytes`: stable across builds, enough to name a cache file.
fn digest(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}-{}", bytes.len())
}

/// Finds the cargo target directory above `OUT_DIR` (it holds `CACHEDIR.TAG`).
fn find_target_dir(out_dir: &Path) -> Option<PathBuf> {
    out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
}
