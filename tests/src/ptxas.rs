//! `ptxas`, NVIDIA's PTX assembler, for tests that check generated PTX.
//!
//! Found, in order, at `$TILEC_PTXAS`, at `<workspace>/.tools/cuda-nvcc/nvidia/cu13/bin/ptxas`,
//! or on `PATH`. If none is there it is installed from PyPI (`nvidia-cuda-nvcc`, which ships
//! `bin/ptxas`) into `<workspace>/.tools/cuda-nvcc` (git-ignored); a lock file makes parallel
//! test processes install it once. If it cannot be had, [`assemble`] fails loudly, unless
//! `TILEC_SKIP_PTXAS=1`, in which case it prints a loud notice that the PTX was NOT assembled
//! and succeeds.

use crate::workspace_root;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

fn tools_dir() -> PathBuf {
    workspace_root().join(".tools")
}

fn installed_path() -> PathBuf {
    tools_dir().join("cuda-nvcc/nvidia/cu13/bin/ptxas")
}

fn on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("ptxas"))
        .find(|p| p.is_file())
}

fn locate() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TILEC_PTXAS") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Some(p);
        }
    }
    let installed = installed_path();
    if installed.is_file() {
        return Some(installed);
    }
    on_path()
}

/// Installs ptxas from PyPI, holding `<workspace>/.tools/ptxas.lock` so that parallel test
/// processes install once; the others wait for the lock to go away.
fn install() -> Result<PathBuf, String> {
    std::fs::create_dir_all(tools_dir()).map_err(|e| format!("cannot create .tools/: {e}"))?;
    let lock = tools_dir().join("ptxas.lock");
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        if let Some(p) = locate() {
            return Ok(p);
        }
        match OpenOptions::new().write(true).create_new(true).open(&lock) {
            Ok(_) => {
                let result = run_pip();
                let _ = std::fs::remove_file(&lock);
                result?;
                return locate()
                    .ok_or_else(|| "pip succeeded but ptxas is not where expected".to_string());
            }
            Err(_) => {
                // Someone else is installing; a lock older than 15 minutes is stale.
                let stale = std::fs::metadata(&lock)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .is_some_and(|age| age > Duration::from_secs(900));
                if stale {
                    let _ = std::fs::remove_file(&lock);
                }
                if Instant::now() > deadline {
                    return Err(format!("timed out waiting for {}", lock.display()));
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
}

fn run_pip() -> Result<(), String> {
    let target = tools_dir().join("cuda-nvcc");
    let out = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "--target"])
        .arg(&target)
        .arg("nvidia-cuda-nvcc")
        .output()
        .map_err(|e| format!("cannot run python3 -m pip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "pip install nvidia-cuda-nvcc failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The ptxas binary, found or installed once per process.
pub fn ptxas() -> Result<&'static Path, String> {
    static PTXAS: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PTXAS
        .get_or_init(|| locate().map(Ok).unwrap_or_else(install))
        .as_ref()
        .map(|p| p.as_path())
        .map_err(|e| e.clone())
}

fn skipping() -> bool {
    std::env::var("TILEC_SKIP_PTXAS").is_ok_and(|v| v == "1")
}

/// Assembles `ptx` for `target` (e.g. `sm_90a`) with `ptxas -arch=<target> -o /dev/null`.
/// The error carries ptxas's messages.
pub fn assemble(ptx: &str, target: &str) -> Result<(), String> {
    let ptxas = match ptxas() {
        Ok(p) => p,
        Err(e) if skipping() => {
            eprintln!(
                "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                 !!! TILEC_SKIP_PTXAS=1: PTX for {target} was NOT assembled (ptxas: {e})\n\
                 !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
            );
            return Ok(());
        }
        Err(e) => {
            return Err(format!(
                "ptxas is not available and could not be installed: {e}\n\
                 (set TILEC_PTXAS=/path/to/ptxas, or TILEC_SKIP_PTXAS=1 to skip assembling)"
            ))
        }
    };
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let file = std::env::temp_dir().join(format!(
        "tilec-{}-{}.ptx",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&file, ptx).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    let out = Command::new(ptxas)
        .arg(format!("-arch={target}"))
        .args(["-o", "/dev/null"])
        .arg(&file)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", ptxas.display()));
    let _ = std::fs::remove_file(&file);
    let out = out?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ptxas -arch={target} rejected the PTX:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
