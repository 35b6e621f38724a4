//! `tilec run FILE --gpu` and `tilec bench FILE`: the kernel on a real GPU.
//!
//! `run --gpu` compiles the kernel (through the on-disk cache), runs it once on seeded random
//! inputs with its outputs poisoned beforehand, runs the interpreter on the same inputs, and
//! compares every output tensor by relative L2 error (tolerance 1e-3 for f16, 8e-3 for bf16,
//! 1e-5 for f32, exact for integers). `--reference` compares with the example's float64 host
//! reference instead (much faster than the interpreter at big shapes); `--no-reference` skips
//! any comparison and only checks that every output element was written.
//!
//! `bench` times the kernel with CUDA events: the median per launch over replays of a CUDA
//! graph of several launches, and over single launches. FLOP/s are shown when the count is
//! known: `--flops N`, or 4·B·H·S²·D (half with `CAUSAL`) for a kernel named `attention`.
//!
//! `bench --autotune` first times every configuration of the kernel's `tune { .. }` section
//! (`tilec_runtime::autotune`: compile each, skip those the compiler refuses, time each at
//! reduced counts, cache the winner), prints one line per configuration, then times the
//! winner with the full method for the usual table. Everything goes into `--json` too.
//!
//! Without a GPU both commands print a clear error and exit with code 1.

use crate::inputs::make_args;
use crate::options::{ConstDef, KernelInputs};
use crate::reference_check;
use crate::run_interp::RunArgs;
use crate::{read_source, Failure};
use serde::Serialize;
use std::path::PathBuf;
use tilec::interp::{self, ArgValue};
use tilec::ir::{self, ConstValue};
use tilec_runtime::autotune::{self, TuneEntry, TuneOutcome};
use tilec_runtime::verify::{self, Comparison};
use tilec_runtime::{
    compile, CompileOptions, Device, DeviceTensor, Kernel, RuntimeError, Source, Stream,
    TimingOptions, TuneOptions, TuneReport, TuneRequest,
};

/// The GPU options of `tilec run` (flattened into its arguments).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct GpuOptions {
    /// Run on the GPU and compare with the interpreter.
    #[arg(long)]
    pub gpu: bool,
    /// With --gpu: compare with nothing; only check that every output element was written.
    #[arg(long, requires = "gpu", conflicts_with = "reference")]
    pub no_reference: bool,
    #[command(flatten)]
    pub codegen: CodegenFlags,
}

/// Code generation and device choices shared by `run --gpu` and `bench`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct CodegenFlags {
    /// Warps per program (default: the compiler's).
    #[arg(long)]
    pub num_warps: Option<u32>,
    /// Pipelining depth of loop loads. Accepted and part of the cache key, but the code
    /// generator does not pipeline yet, so it changes nothing today.
    #[arg(long)]
    pub num_stages: Option<u32>,
    /// CUDA device ordinal.
    #[arg(long, default_value_t = 0)]
    pub device: usize,
    /// Do not read or write the kernel cache.
    #[arg(long)]
    pub no_cache: bool,
}

impl CodegenFlags {
    fn options(&self) -> CompileOptions {
        CompileOptions {
            num_warps: self.num_warps,
            num_stages: self.num_stages,
            use_cache: !self.no_cache,
            device_ordinal: self.device,
            ..CompileOptions::default()
        }
    }
}

/// `tilec bench FILE`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    pub file: PathBuf,
    #[command(flatten)]
    pub inputs: KernelInputs,
    /// Floating-point operations of one launch, for TFLOP/s.
    #[arg(long)]
    pub flops: Option<f64>,
    /// Also write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Launches captured in the timed CUDA graph.
    #[arg(long, default_value_t = 20)]
    pub graph_launches: u32,
    /// Timed replays of the graph (and timed single launches).
    #[arg(long, default_value_t = 50)]
    pub replays: u32,
    /// First time every configuration of the kernel's `tune` section and bench the fastest
    /// (the winner is cached per source, consts, shapes and device; --no-cache searches again).
    #[arg(long)]
    pub autotune: bool,
    /// With --autotune: launches per graph and timed replays for each configuration during the
    /// search (the winner is then timed with --graph-launches and --replays).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub tune_replays: u32,
    #[command(flatten)]
    pub codegen: CodegenFlags,
}

/// Prints an error and turns it into the CLI's failure.
fn fail(context: &str, err: impl std::fmt::Display) -> Failure {
    eprintln!("error: {context}: {err}");
    Failure::Program
}

/// Opens the device first so that "no GPU" is the first and only message without one.
fn open_device(ordinal: usize, command: &str) -> Result<(Device, Stream), Failure> {
    let device = Device::new(ordinal).map_err(|e| match e {
        RuntimeError::NoDriver | RuntimeError::NoDevice { .. } => {
            eprintln!("error: `{command}` needs an NVIDIA GPU: {e}");
            if command.starts_with("tilec run") {
                eprintln!("help: `tilec run FILE --interp` runs the kernel on the CPU interpreter");
            }
            Failure::Program
        }
        other => fail("opening the GPU", other),
    })?;
    let stream = device
        .new_stream()
        .map_err(|e| fail("creating a stream", e))?;
    Ok((device, stream))
}

fn consts(defs: &[ConstDef]) -> Vec<(String, ConstValue)> {
    defs.iter().map(|d| (d.name.clone(), d.value)).collect()
}

/// Lowers (for the interpreter and the argument shapes) and compiles (through the cache).
fn compile_kernel(
    file: &std::path::Path,
    name: Option<&str>,
    defines: &[ConstDef],
    flags: &CodegenFlags,
    device: &Device,
) -> Result<(ir::Kernel, Kernel), Failure> {
    let source = read_source(file)?;
    let src = Source::Text {
        name: source.name.clone(),
        text: source.text.clone(),
    };
    let consts = consts(defines);
    let ir = compile::lower(&src, name, &consts).map_err(print_error)?;
    let artifacts =
        compile::compile_artifacts(&src, name, &consts, &flags.options()).map_err(print_error)?;
    let kernel = Kernel::load(artifacts, device).map_err(print_error)?;
    Ok((ir, kernel))
}

/// `tilec run FILE --gpu`.
pub fn run_gpu(args: &RunArgs, gpu: &GpuOptions) -> Result<(), Failure> {
    let (device, stream) = open_device(gpu.codegen.device, "tilec run --gpu")?;
    let (ir, kernel) = compile_kernel(
        &args.file,
        args.inputs.kernel.as_deref(),
        &args.inputs.define,
        &gpu.codegen,
        &device,
    )?;
    let inputs = make_args(
        &ir,
        &args.inputs.shapes,
        &args.inputs.scalars,
        args.inputs.seed,
    )
    .map_err(|e| fail("arguments", e))?;
    let outputs =
        verify::run_on_gpu(&kernel, &stream, &inputs).map_err(|e| fail("running on the GPU", e))?;
    let device_name = device.name().unwrap_or_else(|_| "the GPU".into());
    let params = &kernel.signature().params;
    println!(
        "{}: ran on {device_name} (num_warps {}, {} B shared memory, {} registers)",
        ir.name,
        kernel.abi().num_warps,
        kernel.abi().shared_bytes,
        kernel
            .num_registers()
            .map_or("?".to_string(), |n| n.to_string())
    );
    let mut all_passed = true;
    if gpu.no_reference {
        for (index, out) in &outputs {
            let unwritten = verify::to_f64(out).iter().filter(|x| x.is_nan()).count();
            all_passed &= unwritten == 0;
            println!(
                "  {}: {:?} {}, {unwritten} unwritten (NaN) elements: {}",
                params[*index].name(),
                out.shape,
                out.data.dtype(),
                if unwritten == 0 { "ok" } else { "FAILED" }
            );
        }
    } else if args.reference {
        // The float64 host reference of the dsl-examples kernel of this name: fast enough
        // for shapes at which the interpreter is slow.
        let expected =
            reference_check::expected(&ir, &inputs).map_err(|e| fail("--reference", e))?;
        let (_, out) = outputs
            .iter()
            .find(|(i, _)| params[*i].name() == expected.output)
            .ok_or_else(|| fail("--reference", format!("no output `{}`", expected.output)))?;
        let dtype = out.data.dtype();
        let (rel_error, stray_nans) =
            verify::relative_error(&verify::to_f64(out), &expected.values, false)
                .map_err(|e| fail("comparing", e))?;
        let c = Comparison {
            param: expected.output,
            dtype,
            rel_error,
            tolerance: verify::tolerance(dtype),
            stray_nans,
        };
        all_passed &= c.passed();
        println!("  {} (vs the float64 reference)", describe(&c, &out.shape));
    } else {
        let mut reference = inputs.clone();
        interp::run(&ir, &mut reference).map_err(|e| fail("the interpreter stopped", e))?;
        for (index, out) in &outputs {
            let ArgValue::Tensor(want) = &reference[*index] else {
                return Err(fail("internal", "an output parameter is not a tensor"));
            };
            let c = verify::compare(params[*index].name(), out, want)
                .map_err(|e| fail("comparing", e))?;
            all_passed &= c.passed();
            println!("  {}", describe(&c, &out.shape));
        }
    }
    if all_passed {
        Ok(())
    } else {
        eprintln!("error: the GPU result does not match");
        Err(Failure::Program)
    }
}

fn describe(c: &Comparison, shape: &[usize]) -> String {
    format!(
        "{}: {} {:?} rel error {:.2e} (tolerance {:.0e}){}: {}",
        c.param,
        c.dtype,
        shape,
        c.rel_error,
        c.tolerance,
        if c.stray_nans > 0 {
            format!(", {} NaN not in the reference", c.stray_nans)
        } else {
            String::new()
        },
        if c.passed() { "ok" } else { "MISMATCH" }
    )
}

/// One benchmark result, as printed and written to JSON.
#[derive(Serialize)]
struct BenchRecord {
    kernel: String,
    device: String,
    shapes: Vec<(String, usize)>,
    consts: Vec<(String, String)>,
    num_warps: u32,
    shared_bytes: u32,
    registers: Option<i32>,
    graph_median_us: f64,
    single_median_us: f64,
    flops: Option<f64>,
    graph_tflops: Option<f64>,
    single_tflops: Option<f64>,
    /// With --autotune: every configuration tried; the fields above are the winner's.
    #[serde(skip_serializing_if = "Option::is_none")]
    autotune: Option<AutotuneRecord>,
}

/// The search of `bench --autotune`, as written to JSON.
#[derive(Serialize)]
struct AutotuneRecord {
    /// The winner came from the tuning cache: no search ran, the timings are the earlier
    /// search's.
    from_cache: bool,
    key: String,
    /// Axes not searched, and why.
    notes: Vec<String>,
    /// The winning configuration, e.g. `BLOCK_M=128 BLOCK_N=64 num_warps=8`.
    best: Option<String>,
    configs: Vec<TunedConfigRecord>,
}

/// One configuration of the search.
#[derive(Serialize)]
struct TunedConfigRecord {
    config: String,
    consts: serde_json::Map<String, serde_json::Value>,
    num_warps: Option<u32>,
    /// Search-time medians (reduced counts); `None` when skipped.
    graph_median_us: Option<f64>,
    single_median_us: Option<f64>,
    graph_tflops: Option<f64>,
    /// Why it was not timed (the compiler's diagnostic or the driver's refusal).
    skipped: Option<String>,
}

impl AutotuneRecord {
    fn new(report: &TuneReport, flops: Option<f64>) -> AutotuneRecord {
        let configs = report
            .entries
            .iter()
            .map(|e| {
                let (graph, single, skipped) = match &e.outcome {
                    TuneOutcome::Timed {
                        graph_median_us,
                        single_median_us,
                    } => (Some(*graph_median_us), Some(*single_median_us), None),
                    TuneOutcome::Skipped { reason } => (None, None, Some(reason.clone())),
                };
                TunedConfigRecord {
                    config: e.config.describe(),
                    consts: e
                        .config
                        .consts
                        .iter()
                        .map(|(n, v)| (n.clone(), autotune::const_to_json(*v)))
                        .collect(),
                    num_warps: e.config.num_warps,
                    graph_median_us: graph,
                    single_median_us: single,
                    graph_tflops: graph.zip(flops).map(|(us, f)| autotune::tflops(f, us)),
                    skipped,
                }
            })
            .collect();
        AutotuneRecord {
            from_cache: report.from_cache,
            key: report.key.clone(),
            notes: report.notes.clone(),
            best: report.best_entry().map(|e| e.config.describe()),
            configs,
        }
    }
}

/// Prints a runtime error (rendered diagnostics included) as it is.
fn print_error(e: RuntimeError) -> Failure {
    eprintln!("{e}");
    Failure::Program
}

/// Copies the host inputs to the device: one tensor per tensor argument.
fn upload(stream: &Stream, inputs: &[ArgValue]) -> Result<Vec<Option<DeviceTensor>>, Failure> {
    inputs
        .iter()
        .map(|a| match a {
            ArgValue::Tensor(h) => DeviceTensor::from_host(stream, h).map(Some),
            _ => Ok(None),
        })
        .collect::<Result<_, _>>()
        .map_err(|e| fail("uploading inputs", e))
}

/// Launch arguments: the uploaded tensors and the scalar values.
fn launch_args<'t>(
    inputs: &[ArgValue],
    tensors: &'t [Option<DeviceTensor>],
) -> Vec<tilec_runtime::Arg<'t>> {
    inputs
        .iter()
        .zip(tensors)
        .map(|(a, t)| match (a, t) {
            (_, Some(t)) => tilec_runtime::Arg::Tensor(t),
            (ArgValue::Float(x), None) => tilec_runtime::Arg::Float(*x),
            (ArgValue::Int(x), None) => tilec_runtime::Arg::Int(*x),
            (ArgValue::Bool(x), None) => tilec_runtime::Arg::Bool(*x),
            (ArgValue::Tensor(_), None) => unreachable!("every host tensor was uploaded"),
        })
        .collect()
}

/// `tilec bench FILE`.
pub fn bench(args: &BenchArgs) -> Result<(), Failure> {
    let (device, stream) = open_device(args.codegen.device, "tilec bench")?;
    let source = read_source(&args.file)?;
    let src = Source::Text {
        name: source.name.clone(),
        text: source.text.clone(),
    };
    let consts = consts(&args.inputs.define);
    let name = args.inputs.kernel.as_deref();
    // The kernel as the caller specialized it: its parameters give the inputs.
    let ir = compile::lower(&src, name, &consts).map_err(print_error)?;
    let inputs = make_args(
        &ir,
        &args.inputs.shapes,
        &args.inputs.scalars,
        args.inputs.seed,
    )
    .map_err(|e| fail("arguments", e))?;
    let tensors = upload(&stream, &inputs)?;
    let launch_args = launch_args(&inputs, &tensors);
    let shapes: Vec<(String, usize)> = args
        .inputs
        .shapes
        .iter()
        .map(|s| (s.name.clone(), s.value))
        .collect();
    let flops = args.flops.or_else(|| attention_flops(&ir, &shapes));

    let (kernel, ir, autotune) = if args.autotune {
        let request = TuneRequest {
            source: src,
            kernel: args.inputs.kernel.clone(),
            consts,
            options: args.codegen.options(),
        };
        let (kernel, ir, record) = tune(args, &request, &stream, &launch_args, flops)?;
        (kernel, ir, Some(record))
    } else {
        let artifacts = compile::compile_artifacts(&src, name, &consts, &args.codegen.options())
            .map_err(print_error)?;
        (
            Kernel::load(artifacts, &device).map_err(print_error)?,
            ir,
            None,
        )
    };

    let options = TimingOptions {
        launches_per_graph: args.graph_launches.max(1),
        graph_replays: args.replays.max(1),
        single_launches: args.replays.max(1),
        ..TimingOptions::default()
    };
    let timing = kernel
        .time(&stream, &launch_args, &options)
        .map_err(|e| fail("timing", e))?;
    let tflops = |us: f64| flops.map(|f| autotune::tflops(f, us));
    let record = BenchRecord {
        kernel: ir.name.clone(),
        device: device.name().unwrap_or_default(),
        shapes: shapes.clone(),
        consts: ir
            .consts
            .iter()
            .map(|(n, v)| (n.clone(), v.to_string()))
            .collect(),
        num_warps: kernel.abi().num_warps,
        shared_bytes: kernel.abi().shared_bytes,
        registers: kernel.num_registers().ok(),
        graph_median_us: timing.graph_median_us,
        single_median_us: timing.single_median_us,
        flops,
        graph_tflops: tflops(timing.graph_median_us),
        single_tflops: tflops(timing.single_median_us),
        autotune,
    };
    print_table(&record);
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&record).expect("bench records serialize");
        std::fs::write(path, text + "\n")
            .map_err(|e| fail(&format!("writing {}", path.display()), e))?;
    }
    Ok(())
}

/// The search of `bench --autotune`: prints one line per configuration and returns the
/// winner, its IR (for its const values) and the record for JSON.
fn tune(
    args: &BenchArgs,
    request: &TuneRequest,
    stream: &Stream,
    launch_args: &[tilec_runtime::Arg],
    flops: Option<f64>,
) -> Result<(Kernel, ir::Kernel, AutotuneRecord), Failure> {
    let tune_options = TuneOptions {
        search_timing: TimingOptions {
            launches_per_graph: args.tune_replays,
            graph_replays: args.tune_replays,
            ..TuneOptions::default().search_timing
        },
        use_cache: !args.codegen.no_cache,
    };
    println!("autotuning over the tune space (µs: CUDA-graph median, reduced counts):");
    let mut print_entry = |e: &TuneEntry| println!("{}", autotune::format_entry(e, flops, false));
    let tuned = autotune::autotune(
        request,
        stream,
        launch_args,
        &tune_options,
        &mut print_entry,
    )
    .map_err(|e| fail("autotuning", e))?;
    let report = &tuned.report;
    if report.from_cache {
        println!("(the cached result of an earlier search; --no-cache searches again)");
        for line in report.lines(flops) {
            println!("{line}");
        }
    }
    for note in &report.notes {
        println!("note: {note}");
    }
    let record = AutotuneRecord::new(report, flops);
    let (Some(kernel), Some(best)) = (tuned.kernel, report.best_entry()) else {
        eprintln!("error: every configuration of the tune space was refused (see above)");
        return Err(Failure::Program);
    };
    println!("best: {}\n", best.config.describe());
    let overrides = best.config.overrides(&request.consts);
    let ir = compile::lower(&request.source, request.kernel.as_deref(), &overrides)
        .map_err(print_error)?;
    Ok((kernel, ir, record))
}

fn print_table(r: &BenchRecord) {
    let shapes: Vec<String> = r.shapes.iter().map(|(n, v)| format!("{n}={v}")).collect();
    let fmt_tflops = |t: Option<f64>| t.map_or("-".to_string(), |t| format!("{t:.1}"));
    println!(
        "{} on {} ({}; num_warps {}, {} B shared, {} registers)",
        r.kernel,
        r.device,
        shapes.join(" "),
        r.num_warps,
        r.shared_bytes,
        r.registers.map_or("?".into(), |n| n.to_string())
    );
    if let Some(best) = r.autotune.as_ref().and_then(|a| a.best.as_ref()) {
        println!("autotuned configuration: {best}");
    }
    println!("{:<22} {:>12} {:>10}", "method", "µs/launch", "TFLOP/s");
    println!(
        "{:<22} {:>12.2} {:>10}",
        "CUDA graph (median)",
        r.graph_median_us,
        fmt_tflops(r.graph_tflops)
    );
    println!(
        "{:<22} {:>12.2} {:>10}",
        "single launch (median)",
        r.single_median_us,
        fmt_tflops(r.single_tflops)
    );
}

/// 4·B·H·S²·D for a kernel named `attention` (two matrix products of 2·S²·D each per head),
/// halved when its `CAUSAL` const is true. `None` for other kernels or unknown sizes.
fn attention_flops(ir: &ir::Kernel, shapes: &[(String, usize)]) -> Option<f64> {
    if ir.name != "attention" {
        return None;
    }
    let size = |n: &str| {
        shapes
            .iter()
            .rev()
            .find(|(s, _)| s == n)
            .map(|(_, v)| *v as f64)
    };
    let d = ir.const_value("HEAD_DIM")?.as_f64();
    let flops = 4.0 * size("B")? * size("H")? * size("S")?.powi(2) * d;
    let causal = ir.const_value("CAUSAL").is_some_and(|c| c.as_i64() != 0);
    Some(if causal { flops / 2.0 } else { flops })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attention_flops_follow_the_formula() {
        let mut k = ir::Kernel::new("attention");
        k.consts.push(("HEAD_DIM".into(), ConstValue::Int(64)));
        k.consts.push(("CAUSAL".into(), ConstValue::Bool(false)));
        let shapes = vec![
            ("B".to_string(), 2),
            ("H".to_string(), 3),
            ("S".to_string(), 100),
        ];
        assert_eq!(
            attention_flops(&k, &shapes),
            Some(4.0 * 2.0 * 3.0 * 100.0 * 100.0 * 64.0)
        );
        k.consts[1].1 = ConstValue::Bool(true);
        assert_eq!(
            attention_flops(&k, &shapes),
            Some(2.0 * 2.0 * 3.0 * 100.0 * 100.0 * 64.0)
        );
        assert_eq!(attention_flops(&k, &shapes[..2]), None, "S unknown");
        k.name = "matmul".into();
        assert_eq!(attention_flops(&k, &shapes), None);
    }
}
