//! The on-disk kernel cache: compiled PTX, its ABI and its launch signature.
//!
//! Compiling through LLVM takes long enough that repeated runs (tests, benchmarks, the
//! autotuner) should not redo it. An entry lives in `<cache dir>/<kernel>-<key>/` as
//! `kernel.ptx`, `abi.json` and `signature.json`. The key hashes everything the PTX depends
//! on: the source text, the kernel name, the const values, the compile options and a
//! fingerprint of the compiler (its version and the running executable's size and mtime, so
//! a rebuilt compiler never reads entries of an older build).
//!
//! The directory is `$TILEC_CACHE_DIR`, else `$XDG_CACHE_HOME/tilec`, else `~/.cache/tilec`.
//! `TILEC_CACHE=0` turns the cache off. Entries are written to a temporary directory and
//! renamed into place, so a reader never sees half an entry; an unreadable entry is a miss.

use crate::compile::Artifacts;
use crate::error::{Result, RuntimeError};
use std::fs;
use std::path::{Path, PathBuf};

/// Where cache entries live, or `None` when caching is off or no home directory is known.
pub fn cache_dir() -> Option<PathBuf> {
    if std::env::var_os("TILEC_CACHE").is_some_and(|v| v == "0") {
        return None;
    }
    let from_env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    from_env("TILEC_CACHE_DIR")
        .or_else(|| from_env("XDG_CACHE_HOME").map(|d| d.join("tilec")))
        .or_else(|| from_env("HOME").map(|d| d.join(".cache").join("tilec")))
}

/// A 128-bit FNV-1a hash, as 32 hex digits: stable across runs, platforms and Rust versions
/// (unlike `std`'s hasher), which an on-disk key needs.
#[derive(Clone, Debug)]
pub struct KeyHasher {
    state: [u64; 2],
}

impl Default for KeyHasher {
    fn default() -> Self {
        // Two FNV-1a lanes with different offset bases.
        KeyHasher {
            state: [0xcbf2_9ce4_8422_2325, 0x8422_2325_cbf2_9ce4],
        }
    }
}

impl KeyHasher {
    /// Adds a labelled field; the length prefix keeps `("ab","c")` apart from `("a","bc")`.
    pub fn field(&mut self, label: &str, value: &[u8]) -> &mut Self {
        for part in [label.as_bytes(), &(value.len() as u64).to_le_bytes(), value] {
            for &b in part {
                for (lane, s) in self.state.iter_mut().enumerate() {
                    *s ^= b as u64 ^ (lane as u64) << 8;
                    *s = s.wrapping_mul(0x0100_0000_01b3);
                }
            }
        }
        self
    }

    pub fn finish(&self) -> String {
        format!("{:016x}{:016x}", self.state[0], self.state[1])
    }
}

/// Identifies the compiler build: its version plus the running executable's size and mtime.
pub fn compiler_fingerprint() -> String {
    let exe = std::env::current_exe()
        .and_then(fs::metadata)
        .ok()
        .map(|m| {
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{}:{mtime}", m.len())
        })
        .unwrap_or_default();
    format!("tilec {} {exe}", env!("CARGO_PKG_VERSION"))
}

/// The entry directory for `key` of kernel `name` under `dir`.
pub fn entry_dir(dir: &Path, name: &str, key: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{safe}-{key}"))
}

/// Reads an entry; `None` when it is missing or unreadable (a miss, never an error).
pub fn load(entry: &Path) -> Option<Artifacts> {
    let ptx = fs::read_to_string(entry.join("kernel.ptx")).ok()?;
    let abi = serde_json::from_str(&fs::read_to_string(entry.join("abi.json")).ok()?).ok()?;
    let signature =
        serde_json::from_str(&fs::read_to_string(entry.join("signature.json")).ok()?).ok()?;
    Some(Artifacts {
        ptx,
        abi,
        signature,
    })
}

/// Writes an entry atomically (write a sibling temporary directory, then rename it).
pub fn store(entry: &Path, artifacts: &Artifacts) -> Result<()> {
    let parent = entry.parent().ok_or_else(|| {
        RuntimeError::io(
            "cache entry has no parent",
            std::io::ErrorKind::InvalidInput.into(),
        )
    })?;
    fs::create_dir_all(parent)
        .map_err(|e| RuntimeError::io(format!("creating {}", parent.display()), e))?;
    let tmp = parent.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        entry
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("entry")
    ));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp)
        .map_err(|e| RuntimeError::io(format!("creating {}", tmp.display()), e))?;
    let files = [
        ("kernel.ptx", artifacts.ptx.clone()),
        ("abi.json", to_json(&artifacts.abi)),
        ("signature.json", to_json(&artifacts.signature)),
    ];
    for (name, text) in files {
        let path = tmp.join(name);
        fs::write(&path, text)
            .map_err(|e| RuntimeError::io(format!("writing {}", path.display()), e))?;
    }
    // Another process may have stored the same entry meanwhile; either copy is good.
    if fs::rename(&tmp, entry).is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    Ok(())
}

/// Pretty JSON of a metadata type (these types always serialize).
fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("ABI and signature types always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_depends_on_every_field_and_its_boundaries() {
        let key = |a: &str, b: &str| {
            KeyHasher::default()
                .field("a", a.as_bytes())
                .field("b", b.as_bytes())
                .finish()
        };
        assert_eq!(key("x", "y"), key("x", "y"));
        assert_ne!(key("x", "y"), key("x", "z"));
        assert_ne!(key("ab", "c"), key("a", "bc"));
        assert_eq!(key("x", "y").len(), 32);
    }

    #[test]
    fn entry_names_are_filesystem_safe() {
        let p = entry_dir(Path::new("/c"), "my kernel/1", "abc");
        assert_eq!(p, Path::new("/c/my_kernel_1-abc"));
    }
}
