//! Shared helpers for the test harnesses: paths, seeded random inputs, host references.

pub mod ptxas;

pub use tilec::reference;

use std::path::PathBuf;

/// The workspace root (the folder holding `dsl-examples/`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}
