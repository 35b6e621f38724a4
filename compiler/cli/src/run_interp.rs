//! `tilec run FILE --interp`: run a kernel on the CPU interpreter and summarize its outputs.

use crate::inputs::{make_args, to_f64};
use crate::options::KernelInputs;
use crate::reference_check;
use crate::{overrides, read_source, report, Failure};
use std::path::PathBuf;
use tilec::interp::{self, ArgValue};
use tilec::ir::{DType, Kernel, Type};

#[derive(clap::Args)]
pub struct RunArgs {
    pub file: PathBuf,
    /// Run on the CPU interpreter (the reference semantics).
    #[arg(long, required_unless_present = "gpu", conflicts_with = "gpu")]
    pub interp: bool,
    #[command(flatten)]
    pub gpu: crate::gpu::GpuOptions,
    #[command(flatten)]
    pub inputs: KernelInputs,
    /// Compare the output with the float64 host reference of the dsl-examples kernel of the
    /// same name, and fail when ‖out − ref‖/‖ref‖ exceeds the output dtype's tolerance.
    #[arg(long)]
    pub reference: bool,
}

pub fn run(args: &RunArgs) -> Result<(), Failure> {
    if args.gpu.gpu {
        return crate::gpu::run_gpu(args, &args.gpu);
    }
    let source = read_source(&args.file)?;
    let lowered = tilec::driver::lower(
        &source,
        args.inputs.kernel.as_deref(),
        &overrides(&args.inputs.define),
    )
    .map_err(|d| {
        report(&source, &d);
        Failure::Program
    })?;
    let kernel = &lowered.ir;
    let mut values = make_args(
        kernel,
        &args.inputs.shapes,
        &args.inputs.scalars,
        args.inputs.seed,
    )
    .map_err(|e| {
        eprintln!("error: {e}");
        Failure::Program
    })?;
    interp::run(kernel, &mut values).map_err(|e| {
        eprintln!("error: the interpreter stopped: {e}");
        Failure::Program
    })?;
    println!("{}: ran on the interpreter", kernel.name);
    for (param, value) in kernel.params.iter().zip(&values) {
        let writable = matches!(kernel.value_type(param.value), Type::Tensor(t) if t.mutable);
        if let (true, ArgValue::Tensor(t)) = (writable, value) {
            let xs = to_f64(&t.data);
            let unwritten = xs.iter().filter(|x| x.is_nan()).count();
            let finite: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
            let mean = finite.iter().sum::<f64>() / finite.len().max(1) as f64;
            let (lo, hi) = finite
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                    (lo.min(x), hi.max(x))
                });
            println!(
                "  {}: {:?} {} elements, min {lo:.4} max {hi:.4} mean {mean:.4}, {unwritten} NaN",
                param.name,
                t.shape,
                xs.len()
            );
        }
    }
    if args.reference {
        compare_with_reference(kernel, &values)?;
    }
    Ok(())
}

/// Tolerance of ‖out − ref‖/‖ref‖ against a float64 reference, by output dtype: a few
/// roundings to the dtype, with room for f32 accumulation over long rows.
pub fn tolerance(dtype: DType) -> f64 {
    match dtype {
        DType::F16 => 1e-2,
        DType::BF16 => 2e-2,
        _ => 1e-4,
    }
}

fn compare_with_reference(kernel: &Kernel, values: &[ArgValue]) -> Result<(), Failure> {
    let expected = reference_check::expected(kernel, values).map_err(|e| {
        eprintln!("error: {e}");
        Failure::Program
    })?;
    let (index, param) = kernel
        .params
        .iter()
        .enumerate()
        .find(|(_, p)| p.name == expected.output)
        .ok_or_else(|| {
            eprintln!(
                "error: kernel `{}` has no output tensor `{}`",
                kernel.name, expected.output
            );
            Failure::Program
        })?;
    let ArgValue::Tensor(out) = &values[index] else {
        eprintln!("error: parameter `{}` is not a tensor", expected.output);
        return Err(Failure::Program);
    };
    let dtype = kernel.value_type(param.value).dtype();
    let error = tilec::reference::rel_error(&to_f64(&out.data), &expected.values);
    let tol = tolerance(dtype);
    let verdict = if error <= tol { "ok" } else { "MISMATCH" };
    println!(
        "  {}: ‖out − ref‖/‖ref‖ = {error:.3e} against the float64 reference ({dtype} tolerance {tol:.0e}): {verdict}",
        expected.output
    );
    if error <= tol {
        Ok(())
    } else {
        Err(Failure::Program)
    }
}
