//! `tilec tune-space FILE [-D NAME=VALUE].. [--kernel NAME]`: the kernel's `tune { .. }`
//! section as one line of JSON, `{"kernel": "attention", "axes": [{"name": "BLOCK_M",
//! "values": [64, 128]}, ..]}`, for tools that search the space themselves
//! (bench/attention.py). Axes come in source order, values as JSON numbers or booleans;
//! `num_warps` and `num_stages` axes are listed like the others (the caller decides what to
//! search: today's code generator ignores `num_stages`). A kernel without a `tune` section
//! has no axes. Errors in the program are diagnostics and exit code 1, as for `tilec check`.

use crate::options::ConstDef;
use crate::{overrides, read_source, report, Failure};
use std::path::PathBuf;
use tilec::driver;
use tilec_runtime::autotune::const_to_json;

/// `tilec tune-space FILE`.
#[derive(clap::Args)]
pub struct TuneSpaceArgs {
    file: PathBuf,
    /// Set a const parameter (the kernel is lowered with it): -D HEAD_DIM=128.
    #[arg(short = 'D', value_name = "NAME=VALUE")]
    define: Vec<ConstDef>,
    /// The kernel, when the file holds several.
    #[arg(long)]
    kernel: Option<String>,
}

/// Lowers the kernel (no code generation) and prints its tuning axes.
pub fn print(args: &TuneSpaceArgs) -> Result<(), Failure> {
    let source = read_source(&args.file)?;
    let lowered = driver::lower(&source, args.kernel.as_deref(), &overrides(&args.define))
        .map_err(|diags| {
            report(&source, &diags);
            Failure::Program
        })?;
    let axes: Vec<serde_json::Value> = lowered
        .tune
        .iter()
        .map(|axis| {
            let values: Vec<serde_json::Value> =
                axis.values.iter().map(|v| const_to_json(*v)).collect();
            serde_json::json!({ "name": axis.name, "values": values })
        })
        .collect();
    println!(
        "{}",
        serde_json::json!({ "kernel": lowered.ir.name, "axes": axes })
    );
    Ok(())
}
