//! Passes over the tile IR, and the pipeline that runs them between lowering and codegen.
//!
//! [`run`] is the whole pipeline, one line per pass, in order. After each pass it lets the
//! caller look at the IR (`tilec --print-ir-after-all`, `--print-ir-after PASS`) and, in
//! debug builds and tests, runs the IR verifier.
//!
//! Passes today:
//! * [`layout`]: gives every tile a layout and inserts `convert_layout` where needed;
//! * [`hoist_conversions`]: moves loop-invariant `convert_layout`s in front of their loop.

pub mod hoist_conversions;
pub mod layout;

use crate::codegen::target::GpuTarget;
use crate::ir::verify::VerifyError;
use crate::ir::Kernel;

/// What the passes need to know about the compilation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PassOptions {
    /// Warps per program (the block is `32 * num_warps` threads).
    pub num_warps: u32,
    pub target: GpuTarget,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PassError {
    /// A pass could not handle the kernel (an internal limit, not a user error).
    #[error("pass `{pass}` failed: {message}")]
    Failed { pass: &'static str, message: String },
    /// The IR a pass produced does not verify: a compiler bug.
    #[error("IR after pass `{pass}` does not verify: {}", errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Verify {
        pass: &'static str,
        errors: Vec<VerifyError>,
    },
}

/// The names of the passes [`run`] runs, in order (for `--print-ir-after PASS`).
pub const PASS_NAMES: &[&str] = &["layout", "hoist_conversions"];

/// Runs every pass on `kernel`. `observe(pass, kernel)` is called after each pass with the
/// pass's name and the IR it left.
pub fn run(
    kernel: &mut Kernel,
    options: &PassOptions,
    observe: &mut dyn FnMut(&str, &Kernel),
) -> Result<(), PassError> {
    let _ = options.target; // No pass depends on the target yet (a Hopper lowering will).
    step(kernel, "layout", observe, |k| {
        layout::run(k, options.num_warps)
    })?;
    step(kernel, "hoist_conversions", observe, |k| {
        hoist_conversions::run(k);
        Ok(())
    })?;
    Ok(())
}

fn step(
    kernel: &mut Kernel,
    pass: &'static str,
    observe: &mut dyn FnMut(&str, &Kernel),
    body: impl FnOnce(&mut Kernel) -> Result<(), String>,
) -> Result<(), PassError> {
    body(kernel).map_err(|message| PassError::Failed { pass, message })?;
    observe(pass, kernel);
    if verify_after_each_pass() {
        crate::ir::verify::verify(kernel).map_err(|errors| PassError::Verify { pass, errors })?;
    }
    Ok(())
}

/// Whether [`run`] verifies the IR after each pass: in debug builds (and so in tests), once
/// the verifier exists. Flip `VERIFIER_READY` when `crate::ir::verify` is implemented (its
/// stub panics with `unimplemented!`).
pub fn verify_after_each_pass() -> bool {
    const VERIFIER_READY: bool = true;
    VERIFIER_READY && cfg!(debug_assertions)
}
