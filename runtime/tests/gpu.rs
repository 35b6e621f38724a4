//! The GPU test suite: every `dsl-examples/*.tile` example compiled, launched on the GPU with
//! its outputs poisoned, and compared with the interpreter (small shapes) or a float64 host
//! reference (shapes the interpreter is too slow for). Plus a smoke test of the runtime alone
//! on a hand-written PTX kernel.
//!
//! The tests that need a GPU are `#[ignore]`d with the reason, so a plain `cargo test` on a
//! machine without one lists them as ignored, never as passed; scripts/gpu-run.sh runs them
//! with `--include-ignored`, and there a missing driver fails them. Environment:
//! * `TILEC_EXAMPLES_DIR`: where the examples are (default: the repository's `dsl-examples/`),
//!   for running the packed test binary on another machine;
//! * `TILEC_GPU_FILTER`: run only the cases whose name contains this text.

#[path = "gpu/reference.rs"]
mod reference;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use tilec::codegen::abi::{AbiDType, AbiParam, KernelAbi};
use tilec::interp::{self, ArgValue};
use tilec::ir::{ConstValue, DType};
use tilec_runtime::signature::{SigDim, SigGrid, SigParam};
use tilec_runtime::verify::{self, relative_error, to_f64, tolerance};
use tilec_runtime::{
    compile, driver_available, Arg, Artifacts, CompileOptions, Device, DeviceTensor, Kernel,
    LaunchSignature, RuntimeError, Source, Stream, TimingOptions,
};

/// GPU tests are `#[ignore]`d, so a plain `cargo test` lists them as ignored (never as
/// passed) with the reason; `scripts/gpu-run.sh` runs them with `--include-ignored`. Asked to
/// run without a CUDA driver, they fail: a GPU test that cannot run has not passed.
const NEEDS_GPU: &str = "needs a CUDA GPU: scripts/gpu-run.sh runs it with --include-ignored";

fn require_driver(what: &str) {
    assert!(
        driver_available(),
        "{what}: no CUDA driver found, so the GPU tests cannot run here ({NEEDS_GPU})"
    );
}

// ---------------------------------------------------------------- the runtime alone

fn scale_copy_artifacts() -> Artifacts {
    let ptx = include_str!("gpu/scale_copy.ptx").to_string();
    let tensor = |name: &str, mutable| SigParam::Tensor {
        name: name.into(),
        dtype: AbiDType::F32,
        dims: vec![SigDim::Sym(0)],
        mutable,
    };
    let signature = LaunchSignature {
        kernel: "scale_copy".into(),
        params: vec![
            tensor("x", false),
            tensor("out", true),
            SigParam::Scalar {
                name: "a".into(),
                dtype: AbiDType::F32,
            },
        ],
        symbols: vec!["N".into()],
        grid: vec![SigGrid::CeilDiv(
            Box::new(SigGrid::Sym(0)),
            Box::new(SigGrid::Const(128)),
        )],
    };
    let abi = KernelAbi {
        entry: "scale_copy".into(),
        params: vec![
            AbiParam::Tensor {
                name: "x".into(),
                dtype: AbiDType::F32,
                rank: 1,
                mutable: false,
            },
            AbiParam::Tensor {
                name: "out".into(),
                dtype: AbiDType::F32,
                rank: 1,
                mutable: true,
            },
            AbiParam::Scalar {
                name: "a".into(),
                dtype: AbiDType::F32,
            },
        ],
        num_warps: 4,
        shared_bytes: 0,
        target: "sm_80".into(),
    };
    Artifacts {
        ptx,
        abi,
        signature,
    }
}

/// Loads, launches, checks arguments, reports JIT errors and times: everything but codegen.
#[test]
#[ignore = "needs a CUDA GPU: scripts/gpu-run.sh runs it with --include-ignored"]
fn runtime_smoke_on_handwritten_ptx() {
    require_driver("runtime smoke test");
    let device = Device::new(0).expect("device 0");
    let stream = device.new_stream().expect("stream");
    let kernel = Kernel::load(scale_copy_artifacts(), &device).expect("hand-written PTX loads");

    let n = 1000;
    let host = verify::random_tensor(&mut verify::Rng::new(1), DType::F32, &[n]);
    let x = DeviceTensor::from_host(&stream, &host).expect("upload");
    let out = DeviceTensor::zeros(&stream, DType::F32, &[n]).expect("alloc");
    out.fill_poison(&stream).expect("poison");
    let poisoned = to_f64(&out.to_host(&stream).expect("download"));
    assert!(poisoned.iter().all(|v| v.is_nan()), "poison fills NaN");

    kernel
        .launch(
            &stream,
            &[Arg::Tensor(&x), Arg::Tensor(&out), Arg::Float(2.0)],
        )
        .expect("launch");
    let got = to_f64(&out.to_host(&stream).expect("download"));
    let want: Vec<f64> = to_f64(&host).iter().map(|v| v * 2.0).collect();
    assert_eq!(got, want);

    // A mismatched argument is refused before any launch: the output stays as it was.
    let short = DeviceTensor::zeros(&stream, DType::F32, &[n - 1]).expect("alloc");
    let err = kernel
        .launch(
            &stream,
            &[Arg::Tensor(&x), Arg::Tensor(&short), Arg::Float(2.0)],
        )
        .expect_err("N disagrees");
    assert!(matches!(err, RuntimeError::BadArgument { .. }), "{err}");

    // PTX the driver rejects: a valid module with one instruction misspelled.
    let good = scale_copy_artifacts();
    let bad = Artifacts {
        ptx: good.ptx.replacen("ret;", "ret.not_an_instruction;", 1),
        ..good
    };
    match Kernel::load(bad, &device) {
        Err(RuntimeError::JitFailed { log, .. }) => println!("JIT error log, as expected:\n{log}"),
        other => panic!("expected JitFailed, got {other:?}"),
    }

    let timing = kernel
        .time(
            &stream,
            &[Arg::Tensor(&x), Arg::Tensor(&out), Arg::Float(2.0)],
            &TimingOptions::default(),
        )
        .expect("timing");
    assert!(
        timing.graph_median_us > 0.0 && timing.single_median_us > 0.0,
        "{timing:?}"
    );
    println!(
        "scale_copy N={n}: graph {:.2} µs/launch, single {:.2} µs/launch",
        timing.graph_median_us, timing.single_median_us
    );
}

// ---------------------------------------------------------------- the examples

type HostReference = Box<dyn Fn(&[ArgValue]) -> Vec<f64> + Send + Sync>;

enum Reference {
    Interpreter,
    Host(HostReference),
}

struct Case {
    name: String,
    example: &'static str,
    consts: Vec<(String, ConstValue)>,
    sizes: Vec<(String, usize)>,
    scalars: Vec<(String, ArgValue)>,
    num_warps: Option<u32>,
    reference: Reference,
}

fn sizes(list: &[(&str, usize)]) -> Vec<(String, usize)> {
    list.iter().map(|(n, v)| (n.to_string(), *v)).collect()
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut push = |name: String, example, sz: &[(&str, usize)], reference| {
        out.push(Case {
            name,
            example,
            consts: vec![],
            sizes: sizes(sz),
            scalars: vec![],
            num_warps: None,
            reference,
        })
    };
    for n in [1, 1000, 65_537] {
        push(
            format!("vector_add N={n}"),
            "vector_add",
            &[("N", n)],
            Reference::Interpreter,
        );
    }
    push(
        "vector_add N=4194305".into(),
        "vector_add",
        &[("N", 4_194_305)],
        Reference::Host(Box::new(reference::vector_add)),
    );
    for (m, n) in [(1, 1), (37, 1000)] {
        push(
            format!("softmax M={m} N={n}"),
            "softmax",
            &[("M", m), ("N", n)],
            Reference::Interpreter,
        );
    }
    push(
        "softmax M=256 N=4097".into(),
        "softmax",
        &[("M", 256), ("N", 4097)],
        Reference::Host(Box::new(reference::softmax)),
    );
    for (m, n, k) in [(16, 16, 16), (100, 70, 33)] {
        push(
            format!("matmul M={m} N={n} K={k}"),
            "matmul",
            &[("M", m), ("N", n), ("K", k)],
            Reference::Interpreter,
        );
    }
    push(
        "matmul M=512 N=384 K=1000".into(),
        "matmul",
        &[("M", 512), ("N", 384), ("K", 1000)],
        Reference::Host(Box::new(reference::matmul)),
    );
    let layernorm = [(1, 1, false), (33, 1000, false), (256, 4097, true)];
    for (m, n, big) in layernorm {
        let reference = if big {
            Reference::Host(Box::new(reference::layernorm))
        } else {
            Reference::Interpreter
        };
        push(
            format!("layernorm M={m} N={n}"),
            "layernorm",
            &[("M", m), ("N", n)],
            reference,
        );
    }
    for c in out.iter_mut().filter(|c| c.example == "layernorm") {
        c.scalars = vec![("eps".into(), ArgValue::Float(1e-5))];
    }

    for (half_type, dtype) in [("f16", DType::F16), ("bf16", DType::BF16)] {
        for head_dim in [64usize, 128] {
            for causal in [false, true] {
                for s in [1usize, 17, 1000, 4097] {
                    let (b, h) = if s > 1000 { (1, 2) } else { (2, 3) };
                    let reference = if s <= 17 {
                        Reference::Interpreter
                    } else {
                        Reference::Host(Box::new(move |args: &[ArgValue]| {
                            reference::attention(args, causal)
                        }))
                    };
                    out.push(Case {
                        name: format!(
                            "attention {half_type} D={head_dim} causal={causal} B={b} H={h} S={s}"
                        ),
                        example: "attention",
                        consts: vec![
                            ("DTYPE".into(), ConstValue::DType(dtype)),
                            ("HEAD_DIM".into(), ConstValue::Int(head_dim as i64)),
                            ("CAUSAL".into(), ConstValue::Bool(causal)),
                        ],
                        sizes: sizes(&[("B", b), ("H", h), ("S", s)]),
                        scalars: vec![(
                            "scale".into(),
                            ArgValue::Float(1.0 / (head_dim as f64).sqrt()),
                        )],
                        num_warps: Some(if head_dim == 128 { 8 } else { 4 }),
                        reference,
                    });
                }
            }
        }
    }
    out
}

fn examples_dir() -> PathBuf {
    std::env::var_os("TILEC_EXAMPLES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../dsl-examples")))
}

/// Runs one case; `Ok(summary)` when it passes, `Err(reason)` otherwise.
fn run_case(case: &Case, stream: &Stream) -> Result<String, String> {
    let path = examples_dir().join(format!("{}.tile", case.example));
    let source = Source::file(&path);
    let options = CompileOptions {
        num_warps: case.num_warps,
        ..CompileOptions::default()
    };
    let kernel =
        Kernel::compile(source.clone(), None, &case.consts, &options).map_err(|e| e.to_string())?;
    let inputs = verify::random_args(&kernel, &case.sizes, &case.scalars, 0x5eed)
        .map_err(|e| e.to_string())?;
    let outputs = verify::run_on_gpu(&kernel, stream, &inputs).map_err(|e| e.to_string())?;
    let params = &kernel.signature().params;
    let mut lines = Vec::new();
    let mut failed = false;
    match &case.reference {
        Reference::Interpreter => {
            let ir = compile::lower(&source, None, &case.consts).map_err(|e| e.to_string())?;
            let mut expected = inputs.clone();
            interp::run(&ir, &mut expected).map_err(|e| format!("interpreter: {e}"))?;
            for (index, got) in &outputs {
                let ArgValue::Tensor(want) = &expected[*index] else {
                    unreachable!("outputs are tensors")
                };
                let c =
                    verify::compare(params[*index].name(), got, want).map_err(|e| e.to_string())?;
                failed |= !c.passed();
                lines.push(format!(
                    "{} rel {:.2e} (tol {:.0e}, {} stray NaN) vs interpreter",
                    c.param, c.rel_error, c.tolerance, c.stray_nans
                ));
            }
        }
        Reference::Host(f) => {
            let want = f(&inputs);
            let (index, got) = outputs.first().ok_or("the kernel has no output")?;
            let dtype = got.data.dtype();
            let (err, nans) =
                relative_error(&to_f64(got), &want, false).map_err(|e| e.to_string())?;
            failed |= nans > 0 || err > tolerance(dtype);
            lines.push(format!(
                "{} rel {err:.2e} (tol {:.0e}, {nans} stray NaN) vs f64 host reference",
                params[*index].name(),
                tolerance(dtype)
            ));
        }
    }
    if failed {
        Err(lines.join("; "))
    } else {
        Ok(lines.join("; "))
    }
}

/// Every example case, in one loop, with one summary line.
#[test]
#[ignore = "needs a CUDA GPU: scripts/gpu-run.sh runs it with --include-ignored"]
fn gpu_suite() {
    let filter = std::env::var("TILEC_GPU_FILTER").unwrap_or_default();
    let cases: Vec<Case> = cases()
        .into_iter()
        .filter(|c| c.name.contains(&filter))
        .collect();
    require_driver("dsl-examples GPU suite");
    let device = Device::new(0).expect("device 0");
    let stream = device.new_stream().expect("stream");
    println!("GPU suite on {}", device.name().unwrap_or_default());
    let mut failures = Vec::new();
    for case in &cases {
        let started = std::time::Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| run_case(case, &stream)))
            .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_text(&panic))));
        let secs = started.elapsed().as_secs_f64();
        match result {
            Ok(summary) => println!("ok      {:<58} {summary} [{secs:.1}s]", case.name),
            Err(reason) => {
                println!("FAILED  {:<58} {reason} [{secs:.1}s]", case.name);
                failures.push(case.name.clone());
            }
        }
    }
    println!(
        "GPU suite: {} cases, {} passed, {} failed",
        cases.len(),
        cases.len() - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "failed GPU cases:\n  {}",
        failures.join("\n  ")
    );
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".into())
}

/// The case table itself needs no GPU: names are unique and every example is covered.
#[test]
fn case_table_covers_every_example() {
    let cases = cases();
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "duplicate case names");
    for entry in std::fs::read_dir(examples_dir()).expect("examples dir") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "tile") {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            assert!(
                cases.iter().any(|c| c.example == stem),
                "no GPU case for {stem}"
            );
        }
    }
}

// ---------------------------------------------------------------- the autotuner

/// The autotuner on vector_add (8 configurations): every configuration is timed, the outputs
/// hold the winner's result on return (poisoned before), and a second call with the tuning
/// cache on reads the winner back instead of searching.
#[test]
#[ignore = "needs a CUDA GPU: scripts/gpu-run.sh runs it with --include-ignored"]
fn autotune_vector_add() {
    use tilec_runtime::autotune::{self, TuneOptions, TuneOutcome, TuneRequest};
    require_driver("autotune test");
    let device = Device::new(0).expect("device 0");
    let stream = device.new_stream().expect("stream");
    let n = 100_003;
    let mut rng = verify::Rng::new(7);
    let (hx, hy) = (
        verify::random_tensor(&mut rng, DType::F32, &[n]),
        verify::random_tensor(&mut rng, DType::F32, &[n]),
    );
    let x = DeviceTensor::from_host(&stream, &hx).expect("upload");
    let y = DeviceTensor::from_host(&stream, &hy).expect("upload");
    let out = DeviceTensor::zeros(&stream, DType::F32, &[n]).expect("alloc");
    let args = [Arg::Tensor(&x), Arg::Tensor(&y), Arg::Tensor(&out)];
    let request = TuneRequest {
        source: Source::file(examples_dir().join("vector_add.tile")),
        kernel: None,
        consts: vec![],
        options: CompileOptions::default(),
    };
    let expected: Vec<f64> = to_f64(&hx)
        .iter()
        .zip(to_f64(&hy))
        .map(|(a, b)| a + b)
        .collect();
    let tune = |use_cache: bool| {
        out.fill_poison(&stream).expect("poison");
        let mut seen = 0;
        let options = TuneOptions {
            use_cache,
            ..TuneOptions::default()
        };
        let tuned = autotune::autotune(&request, &stream, &args, &options, &mut |_| seen += 1)
            .expect("tuning vector_add");
        let got = to_f64(&out.to_host(&stream).expect("download"));
        let (err, _) = relative_error(&got, &expected, false).expect("same length");
        assert!(
            err <= tolerance(DType::F32),
            "the outputs after tuning: rel error {err}"
        );
        for line in tuned.report.lines(None) {
            println!("{line}");
        }
        (tuned, seen)
    };

    let (searched, seen) = tune(false);
    assert!(!searched.report.from_cache);
    assert_eq!((searched.report.entries.len(), seen), (8, 8));
    assert!(searched
        .report
        .entries
        .iter()
        .all(|e| matches!(e.outcome, TuneOutcome::Timed { .. })));
    assert!(searched.kernel.is_some() && searched.report.best.is_some());

    let (first, _) = tune(true);
    let (second, seen) = tune(true);
    if tilec_runtime::cache::cache_dir().is_some() {
        assert!(
            second.report.from_cache,
            "the second call reads the cached winner"
        );
        assert_eq!(seen, 0, "no search ran");
        assert_eq!(
            second.report.best_entry().map(|e| &e.config),
            first.report.best_entry().map(|e| &e.config)
        );
    }
}
