//! The autotuner's parts that need no GPU: enumerating a `tune` space, merging a
//! configuration into the caller's consts and options, the tuning-cache key and file, choosing
//! and formatting results, classifying errors as skips, and compiling every configuration of
//! the attention example (some of which the compiler must refuse, as skips, not failures).

use tilec::ir::ConstValue;
use tilec::sema::TuneAxis;
use tilec_runtime::autotune::{
    self, cache_path, choose_best, enumerate, format_entry, load_cached, shape_symbols,
    skip_reason, store_cached, tune_key, TuneConfig, TuneEntry, TuneOutcome, TuneReport,
    TuneRequest,
};
use tilec_runtime::compile::{CompileOptions, Source};
use tilec_runtime::launch::{plan_launch, ArgDesc, TensorArg};
use tilec_runtime::signature::{SigDim, SigParam};
use tilec_runtime::tensor::contiguous_strides;
use tilec_runtime::RuntimeError;

fn int(i: i64) -> ConstValue {
    ConstValue::Int(i)
}

fn axis(name: &str, values: &[ConstValue]) -> TuneAxis {
    TuneAxis {
        name: name.into(),
        values: values.to_vec(),
    }
}

/// The attention example's space.
fn attention_axes() -> Vec<TuneAxis> {
    vec![
        axis("BLOCK_M", &[int(64), int(128)]),
        axis("BLOCK_N", &[int(32), int(64), int(128)]),
        axis("num_warps", &[int(4), int(8)]),
        axis("num_stages", &[int(2), int(3)]),
    ]
}

/// Enumerates `axes` and compares the configurations (described) and the notes.
fn check_space(
    axes: &[TuneAxis],
    consts: &[(String, ConstValue)],
    options: &CompileOptions,
    configs: &[&str],
    notes: &[&str],
) {
    let space = enumerate(axes, consts, options);
    let described: Vec<String> = space.configs.iter().map(TuneConfig::describe).collect();
    assert_eq!(described, configs);
    assert_eq!(space.notes, notes);
}

const NUM_STAGES_NOTE: &str = "num_stages [2, 3] not searched: the code generator does not \
                               pipeline loads yet, so every value gives the same code";

#[test]
fn the_space_is_the_product_of_its_axes_without_num_stages() {
    check_space(
        &attention_axes(),
        &[],
        &CompileOptions::default(),
        &[
            "BLOCK_M=64 BLOCK_N=32 num_warps=4",
            "BLOCK_M=64 BLOCK_N=32 num_warps=8",
            "BLOCK_M=64 BLOCK_N=64 num_warps=4",
            "BLOCK_M=64 BLOCK_N=64 num_warps=8",
            "BLOCK_M=64 BLOCK_N=128 num_warps=4",
            "BLOCK_M=64 BLOCK_N=128 num_warps=8",
            "BLOCK_M=128 BLOCK_N=32 num_warps=4",
            "BLOCK_M=128 BLOCK_N=32 num_warps=8",
            "BLOCK_M=128 BLOCK_N=64 num_warps=4",
            "BLOCK_M=128 BLOCK_N=64 num_warps=8",
            "BLOCK_M=128 BLOCK_N=128 num_warps=4",
            "BLOCK_M=128 BLOCK_N=128 num_warps=8",
        ],
        &[NUM_STAGES_NOTE],
    );
}

#[test]
fn axes_the_caller_fixed_are_not_searched() {
    let consts = vec![("BLOCK_N".to_string(), int(64))];
    let options = CompileOptions {
        num_warps: Some(8),
        ..CompileOptions::default()
    };
    check_space(
        &attention_axes(),
        &consts,
        &options,
        &["BLOCK_M=64", "BLOCK_M=128"],
        &[
            "BLOCK_N [32, 64, 128] not searched: fixed to 64 by the caller",
            "num_warps [4, 8] not searched: fixed to 8 by the caller",
            NUM_STAGES_NOTE,
        ],
    );
    // `-D num_warps=4` fixes it too (the runtime reads it as the launch option).
    let consts = vec![("num_warps".to_string(), int(4))];
    let space = enumerate(&attention_axes(), &consts, &CompileOptions::default());
    assert_eq!(space.configs.len(), 6);
    assert!(space.configs.iter().all(|c| c.num_warps.is_none()));
}

#[test]
fn no_tune_section_is_one_configuration_the_defaults() {
    check_space(&[], &[], &CompileOptions::default(), &["(defaults)"], &[]);
    let only_stages = [axis("num_stages", &[int(2)])];
    let space = enumerate(&only_stages, &[], &CompileOptions::default());
    assert_eq!(space.configs.len(), 1);
    assert_eq!(space.notes.len(), 1);
}

#[test]
fn a_configuration_merges_over_the_callers_choices() {
    let config = TuneConfig {
        consts: vec![("BLOCK_M".into(), int(128))],
        num_warps: Some(8),
    };
    let caller = vec![
        ("BLOCK_M".to_string(), int(64)),
        ("CAUSAL".to_string(), ConstValue::Bool(true)),
    ];
    assert_eq!(
        config.overrides(&caller),
        vec![
            ("CAUSAL".to_string(), ConstValue::Bool(true)),
            ("BLOCK_M".to_string(), int(128)),
        ]
    );
    let options = CompileOptions {
        num_warps: Some(4),
        use_cache: false,
        ..CompileOptions::default()
    };
    let merged = config.options(&options);
    assert_eq!((merged.num_warps, merged.use_cache), (Some(8), false));
    let untuned = TuneConfig {
        num_warps: None,
        ..config
    };
    assert_eq!(untuned.options(&options).num_warps, Some(4));
}

#[test]
fn the_key_covers_everything_the_winner_depends_on() {
    let consts = vec![
        ("HEAD_DIM".to_string(), int(64)),
        ("CAUSAL".to_string(), ConstValue::Bool(false)),
    ];
    let symbols = vec![("B".to_string(), 4), ("S".to_string(), 4096)];
    let options = CompileOptions::default();
    let base = tune_key(
        "src",
        Some("attention"),
        &consts,
        &options,
        &symbols,
        "H100",
    );
    assert_eq!(base.len(), 32);
    let reordered: Vec<_> = consts.iter().rev().cloned().collect();
    assert_eq!(
        base,
        tune_key(
            "src",
            Some("attention"),
            &reordered,
            &options,
            &symbols,
            "H100"
        ),
        "the order of -D options does not matter"
    );
    let other_symbols = vec![("B".to_string(), 4), ("S".to_string(), 8192)];
    let warps = CompileOptions {
        num_warps: Some(8),
        ..CompileOptions::default()
    };
    let variants = [
        tune_key(
            "src2",
            Some("attention"),
            &consts,
            &options,
            &symbols,
            "H100",
        ),
        tune_key("src", Some("other"), &consts, &options, &symbols, "H100"),
        tune_key(
            "src",
            Some("attention"),
            &consts[..1],
            &options,
            &symbols,
            "H100",
        ),
        tune_key("src", Some("attention"), &consts, &warps, &symbols, "H100"),
        tune_key(
            "src",
            Some("attention"),
            &consts,
            &options,
            &other_symbols,
            "H100",
        ),
        tune_key(
            "src",
            Some("attention"),
            &consts,
            &options,
            &symbols,
            "H200",
        ),
    ];
    for (i, v) in variants.iter().enumerate() {
        assert_ne!(&base, v, "variant {i} must change the key");
    }
}

#[test]
fn shape_symbols_come_from_the_arguments() {
    let sig = tilec_runtime::LaunchSignature {
        kernel: "k".into(),
        params: vec![
            SigParam::Tensor {
                name: "x".into(),
                dtype: tilec::ir::DType::F16.into(),
                dims: vec![SigDim::Sym(1), SigDim::Const(64)],
                mutable: false,
            },
            SigParam::Scalar {
                name: "scale".into(),
                dtype: tilec::ir::DType::F32.into(),
            },
            SigParam::Tensor {
                name: "y".into(),
                dtype: tilec::ir::DType::F16.into(),
                dims: vec![SigDim::Sym(0), SigDim::Sym(1)],
                mutable: true,
            },
        ],
        symbols: vec!["B".into(), "S".into(), "UNUSED".into()],
        grid: vec![],
    };
    let tensor = |shape: Vec<usize>| {
        ArgDesc::Tensor(TensorArg {
            dtype: tilec::ir::DType::F16,
            strides: contiguous_strides(&shape),
            shape,
            address: 1 << 32,
            allocation_bytes: 1 << 20,
        })
    };
    let args = [
        tensor(vec![300, 64]),
        ArgDesc::Float(1.0),
        tensor(vec![2, 300]),
    ];
    assert_eq!(
        shape_symbols(&sig, &args),
        vec![("B".to_string(), 2), ("S".to_string(), 300)]
    );
}

fn timed(block_m: i64, us: f64) -> TuneEntry {
    TuneEntry {
        config: TuneConfig {
            consts: vec![("BLOCK_M".into(), int(block_m))],
            num_warps: Some(4),
        },
        outcome: TuneOutcome::Timed {
            graph_median_us: us,
            single_median_us: us + 2.0,
        },
    }
}

fn skipped(block_m: i64, reason: &str) -> TuneEntry {
    TuneEntry {
        config: TuneConfig {
            consts: vec![("BLOCK_M".into(), int(block_m))],
            num_warps: Some(8),
        },
        outcome: TuneOutcome::Skipped {
            reason: reason.into(),
        },
    }
}

#[test]
fn the_best_is_the_fastest_timed_configuration() {
    let entries = [
        skipped(256, "too big"),
        timed(64, 20.0),
        timed(128, f64::NAN),
        timed(32, 10.0),
        timed(16, 10.0),
    ];
    assert_eq!(choose_best(&entries), Some(3), "the first of equals");
    assert_eq!(choose_best(&entries[..3]), Some(1));
    assert_eq!(choose_best(&entries[..1]), None, "everything skipped");
    assert_eq!(choose_best(&[]), None);
}

#[test]
fn report_lines_show_time_rate_or_reason() {
    let best = format_entry(&timed(128, 500.0), Some(1e11), true);
    assert_eq!(
        best,
        format!(
            "* {:<40} {:>10} µs {:>8} TFLOP/s",
            "BLOCK_M=128 num_warps=4", "500.00", "200.0"
        )
    );
    let no_flops = format_entry(&timed(64, 12.345), None, false);
    assert!(
        no_flops.starts_with("  BLOCK_M=64 num_warps=4"),
        "{no_flops}"
    );
    assert!(
        no_flops.contains("12.35 µs") && no_flops.contains(" - TFLOP/s"),
        "{no_flops}"
    );
    let skip = format_entry(&skipped(256, "needs ~360 registers"), Some(1e11), false);
    assert_eq!(
        skip,
        format!(
            "  {:<40} skipped: needs ~360 registers",
            "BLOCK_M=256 num_warps=8"
        )
    );
}

#[test]
fn compile_and_launch_refusals_are_skips_other_errors_are_not() {
    let rendered = "tilec::register_budget\n\n  × kernel `attention` needs ~360 registers per \
                    thread, the limit is 255\n    ╭─[attention.tile:8:8]\n";
    assert_eq!(
        skip_reason(&RuntimeError::Compile(rendered.into())).as_deref(),
        Some("kernel `attention` needs ~360 registers per thread, the limit is 255")
    );
    let codegen = "error[tilec::shared_memory]: the kernel needs 300 KiB of shared memory\n  \
                   help: lower BLOCK_N\n";
    assert_eq!(
        skip_reason(&RuntimeError::Compile(codegen.into())).as_deref(),
        Some("the kernel needs 300 KiB of shared memory")
    );
    let out_of_resources = RuntimeError::Driver {
        call: "cuLaunchKernel",
        name: "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES".into(),
        code: 701,
    };
    assert!(skip_reason(&out_of_resources).is_some());
    let jit = RuntimeError::JitFailed {
        code: "CUDA_ERROR_INVALID_PTX".into(),
        log: "ptxas error   : Entry function uses too much shared data\n".into(),
    };
    assert!(skip_reason(&jit)
        .is_some_and(|r| r.contains("too much shared data") && r.contains("INVALID_PTX")));
    let fatal = [
        RuntimeError::NoDriver,
        RuntimeError::OutOfMemory { bytes: 1 },
        RuntimeError::BadArguments("kernel `k` takes 3 arguments".into()),
        RuntimeError::Driver {
            call: "cuLaunchKernel",
            name: "CUDA_ERROR_ILLEGAL_ADDRESS".into(),
            code: 700,
        },
    ];
    for e in fatal {
        assert_eq!(skip_reason(&e), None, "{e}");
    }
}

fn report(key: &str, entries: Vec<TuneEntry>) -> TuneReport {
    TuneReport {
        kernel: "attention".into(),
        device: "NVIDIA H100".into(),
        key: key.into(),
        shape_symbols: vec![("S".into(), 4096)],
        notes: vec!["a note".into()],
        best: choose_best(&entries),
        entries,
        from_cache: false,
    }
}

#[test]
fn the_tuning_cache_reads_back_what_it_stored() {
    let dir = std::env::temp_dir().join(format!("tilec-autotune-test-{}", std::process::id()));
    let path = cache_path(&dir, "attention", "0123abcd");
    assert_eq!(path, dir.join("autotune").join("attention-0123abcd.json"));
    let mut entry = timed(64, 10.0);
    entry
        .config
        .consts
        .push(("CAUSAL".into(), ConstValue::Bool(true)));
    entry
        .config
        .consts
        .push(("EPS".into(), ConstValue::Float(0.5)));
    entry
        .config
        .consts
        .push(("TWO".into(), ConstValue::Float(2.0)));
    let stored = report("0123abcd", vec![skipped(128, "too many registers"), entry]);
    store_cached(&path, &stored).expect("stores");
    assert_eq!(load_cached(&path, "0123abcd"), Some(stored.clone()));
    assert_eq!(load_cached(&path, "another key"), None);

    let all_skipped = report("0123abcd", vec![skipped(128, "too many registers")]);
    store_cached(&path, &all_skipped).expect("stores");
    assert_eq!(load_cached(&path, "0123abcd"), None, "no winner: a miss");

    std::fs::write(&path, "{ not json").expect("writes");
    assert_eq!(
        load_cached(&path, "0123abcd"),
        None,
        "a damaged file is a miss"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn const_values_round_trip_through_json() {
    for v in [
        int(-3),
        ConstValue::Float(0.25),
        ConstValue::Float(2.0),
        ConstValue::Bool(true),
    ] {
        let json = autotune::const_to_json(v);
        assert_eq!(autotune::const_from_json(&json), Some(v), "{json}");
    }
    assert_eq!(autotune::const_from_json(&serde_json::json!("x")), None);
}

/// Every configuration of attention.tile's space compiles or is refused with a diagnostic;
/// the compiled ones launch with the configuration's warps and a grid of cdiv(S, BLOCK_M).
#[test]
fn every_attention_configuration_compiles_or_is_a_skip() {
    let request = TuneRequest {
        source: Source::file(format!(
            "{}/../dsl-examples/attention.tile",
            env!("CARGO_MANIFEST_DIR")
        )),
        kernel: None,
        consts: vec![("HEAD_DIM".into(), int(64))],
        options: CompileOptions {
            use_cache: false,
            ..CompileOptions::default()
        },
    };
    let (_, space) = autotune::tune_space(&request).expect("attention lowers");
    assert_eq!(space.configs.len(), 12);
    let (s, b, h) = (1000usize, 2usize, 3usize);
    let mut outcomes = Vec::new();
    for config in &space.configs {
        let outcome = match autotune::compile_config(&request, config) {
            Ok(artifacts) => {
                assert_eq!(Some(artifacts.abi.num_warps), config.num_warps);
                let shape = vec![b, h, s, 64];
                let tensor = |i: u64| {
                    ArgDesc::Tensor(TensorArg {
                        dtype: tilec::ir::DType::F16,
                        strides: contiguous_strides(&shape),
                        shape: shape.clone(),
                        address: (i + 1) << 32,
                        allocation_bytes: b * h * s * 64 * 2,
                    })
                };
                let args = [
                    tensor(0),
                    tensor(1),
                    tensor(2),
                    tensor(3),
                    ArgDesc::Float(0.125),
                ];
                let plan = plan_launch(&artifacts.signature, &artifacts.abi, &args)
                    .expect("the arguments fit every configuration");
                let block_m = config.consts[0].1.as_i64() as usize;
                assert_eq!(plan.grid, [s.div_ceil(block_m) as u32, (b * h) as u32, 1]);
                "compiled".to_string()
            }
            Err(e) => format!(
                "skipped: {}",
                skip_reason(&e).unwrap_or_else(|| panic!("not a skip: {e}"))
            ),
        };
        println!("{:<40} {outcome}", config.describe());
        outcomes.push((config.describe(), outcome));
    }
    let refused = outcomes
        .iter()
        .find(|(c, _)| c == "BLOCK_M=128 BLOCK_N=128 num_warps=4")
        .map(|(_, o)| o.as_str());
    assert!(
        refused.is_some_and(|o| o.contains("registers per thread")),
        "the register budget refuses BLOCK_M=BLOCK_N=128 on 4 warps: {refused:?}"
    );
    let default = outcomes
        .iter()
        .find(|(c, _)| c == "BLOCK_M=64 BLOCK_N=64 num_warps=4")
        .map(|(_, o)| o.as_str());
    assert_eq!(default, Some("compiled"));
}
