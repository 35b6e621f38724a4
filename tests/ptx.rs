//! PTX harness: kernels in IR text through the passes and code generation.
//!
//! Every `dsl-examples/*.tile` (through the front end) and every `tests/ptx/*.tir` kernel is
//! compiled for
//! sm_80 and sm_90a by [`check`]: `tilec::passes::run` (which verifies the IR after each pass),
//! then `tilec::codegen::compile`; the layouts the layout pass chose and the PTX are
//! snapshotted, and ptxas must assemble the PTX (`tilec_tests::ptxas`). A `// num_warps: N`
//! line in a file overrides the default of 4 warps. `tests/ptx/config/*.tir` are
//! configurations that cannot work: their diagnostics are snapshotted.

use tilec::codegen::{self, CodegenError, CodegenOptions, GpuTarget};
use tilec::driver::SourceFile;
use tilec::ir::ConstValue;
use tilec::ir::{InstData, Kernel, Layout, ValueDef};
use tilec::passes::{self, PassOptions};
use tilec::sema::ConstOverrides;

const DEFAULT_NUM_WARPS: u32 = 4;

/// Reads `tests/ptx/<name>.tir` and its `// num_warps: N` line.
fn read(name: &str) -> (Kernel, u32) {
    let path = tilec_tests::workspace_root()
        .join("tests/ptx")
        .join(format!("{name}.tir"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let kernel =
        tilec::ir::parse::parse_kernel(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let num_warps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("// num_warps:"))
        .map(|n| n.trim().parse().expect("num_warps is a number"))
        .unwrap_or(DEFAULT_NUM_WARPS);
    (kernel, num_warps)
}

/// One line per instruction that produces a tile: what it is and the layout it got.
fn layouts(kernel: &Kernel) -> String {
    let mut out = String::new();
    kernel.walk_insts(kernel.entry, &mut |inst| {
        for &r in kernel.inst_results(inst) {
            if let Some(t) = kernel.value_type(r).as_tile() {
                let layout = t
                    .layout
                    .as_ref()
                    .map(|l| l.to_string())
                    .unwrap_or_else(|| "NONE".into());
                let dims: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
                out.push_str(&format!(
                    "{:<15} tile<{}, [{}]> {layout}\n",
                    kernel.insts[inst].opcode(),
                    t.dtype,
                    dims.join(", ")
                ));
            }
        }
    });
    out
}

/// Passes and codegen for `target`; the kernel after the passes and the compiled result.
fn compile(
    kernel: &Kernel,
    target: GpuTarget,
    num_warps: u32,
) -> (Kernel, Result<codegen::CompiledKernel, CodegenError>) {
    let mut k = kernel.clone();
    passes::run(&mut k, &PassOptions { num_warps, target }, &mut |_, _| {})
        .unwrap_or_else(|e| panic!("{e}"));
    let compiled = codegen::compile(&k, &CodegenOptions { target, num_warps });
    (k, compiled)
}

/// Compiles `tests/ptx/<name>.tir` for every target, snapshots its layouts and PTX, and
/// assembles the PTX. Returns the PTX per target.
fn check(name: &str) -> Vec<(GpuTarget, String)> {
    let (kernel, num_warps) = read(name);
    let mut ptxs = Vec::new();
    for target in GpuTarget::ALL {
        let (after, compiled) = compile(&kernel, target, num_warps);
        let compiled = compiled.unwrap_or_else(|e| panic!("{name} for {target}: {e}"));
        if target == GpuTarget::Sm80 {
            insta::assert_snapshot!(format!("{name}_layouts"), layouts(&after));
        }
        insta::assert_snapshot!(format!("{name}_{target}"), compiled.ptx);
        assert_eq!(compiled.abi.target, target.name());
        assert_eq!(compiled.abi.num_warps, num_warps);
        assert_eq!(compiled.abi.entry, kernel.name);
        if let Err(e) = tilec_tests::ptxas::assemble(&compiled.ptx, target.name()) {
            panic!("{name} for {target}:\n{e}");
        }
        ptxs.push((target, compiled.ptx));
    }
    ptxs
}

#[test]
fn vector_add() {
    let ptx = check("vector_add");
    // 1024 f32 over 128 threads: 16-byte vector accesses on the aligned path.
    assert!(ptx[0].1.contains("ld.global.v4.b32"));
    assert!(ptx[0].1.contains("st.global.v4.b32"));
}

#[test]
fn softmax() {
    let ptx = check("softmax");
    assert!(ptx[0].1.contains("shfl.sync.bfly.b32"));
    assert!(ptx[0].1.contains("ex2.approx"));
}

#[test]
fn layernorm() {
    let ptx = check("layernorm");
    assert!(ptx[0].1.contains("rsqrt.approx"));
}

#[test]
fn matmul() {
    for (target, p) in check("matmul") {
        assert!(
            p.contains("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32"),
            "{target}"
        );
        assert!(
            p.contains("ldmatrix.sync.aligned.m8n8.x4.shared.b16"),
            "{target}"
        );
    }
}

/// Q K^T and P V both on mma.sync; Q and K^T (k-contiguous after the transpose) by plain
/// ldmatrix, V (n-contiguous) by ldmatrix.trans, P (in registers) by none.
fn assert_attention_on_tensor_cores(name: &str) {
    for (target, p) in check(name) {
        assert!(
            p.contains("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32"),
            "{target}"
        );
        assert!(
            p.contains("ldmatrix.sync.aligned.m8n8.x4.shared.b16"),
            "{target}"
        );
        assert!(
            p.contains("ldmatrix.sync.aligned.m8n8.x2.shared.b16"),
            "{target}"
        );
        assert!(
            p.contains("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16"),
            "{target}"
        );
        // Each product of 128 x 64 x 64 is 8 x 8 x 4 blocks of 16 x 8 x 16 over the warps
        // along m: at least 2 x 8 x 4 mma.sync per warp, per product.
        let mmas = p.matches("mma.sync.aligned").count();
        assert!(mmas >= 2 * 2 * 8 * 4 / 2, "{target}: only {mmas} mma.sync");
    }
}

/// Whether the layout pass kept attention's `P` in registers: the second `dot`'s operand A
/// is converted straight from the mma accumulator layout, not through shared memory.
fn p_in_registers(after: &Kernel) -> bool {
    let mut dots = Vec::new();
    after.walk_insts(after.entry, &mut |i| {
        if let InstData::Dot { args } = &after.insts[i] {
            dots.push(args[0]);
        }
    });
    assert_eq!(dots.len(), 2, "attention has two products");
    let ValueDef::Result(producer, _) = after.values[dots[1]].def else {
        return false;
    };
    let InstData::ConvertLayout { arg } = after.insts[producer] else {
        return false;
    };
    let from = after.value_type(arg).as_tile().expect("a tile");
    matches!(from.layout, Some(Layout::Mma(_)))
}

#[test]
fn attention() {
    assert_attention_on_tensor_cores("attention");
    let (kernel, num_warps) = read("attention");
    let (after, compiled) = compile(&kernel, GpuTarget::Sm80, num_warps);
    assert!(p_in_registers(&after), "P goes through shared memory");
    // Barriers bracket the stores of Q, K, V and of the output's layout change (2 each); P
    // used to add 2 more per key block.
    let bars = compiled.expect("compiles").ptx.matches("bar.sync").count();
    assert!(bars <= 8, "{bars} bar.sync");
}

#[test]
fn attention_causal_on_8_warps() {
    assert_attention_on_tensor_cores("attention_causal");
    let (kernel, num_warps) = read("attention_causal");
    assert!(p_in_registers(
        &compile(&kernel, GpuTarget::Sm80, num_warps).0
    ));
}

/// bf16 attention: both products on the bf16 mma.sync, P cast to bf16 and kept in
/// registers (packed two per 32-bit operand register like f16).
#[test]
fn attention_bf16() {
    for (target, p) in check("attention_bf16") {
        assert!(
            p.contains("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"),
            "{target}"
        );
        assert!(p.contains("cvt.rn.bf16.f32"), "{target}");
    }
    let (kernel, num_warps) = read("attention_bf16");
    assert!(p_in_registers(
        &compile(&kernel, GpuTarget::Sm80, num_warps).0
    ));
}

/// P stays in registers when the warps split the query rows only (BLOCK_M / 16 >=
/// num_warps), and goes through shared memory otherwise (BLOCK_M = 64 on 8 warps).
#[test]
fn attention_keeps_p_in_registers_when_warps_split_rows_only() {
    for (block_m, num_warps, in_registers) in [(64, 4, true), (128, 8, true), (64, 8, false)] {
        let overrides = ConstOverrides {
            values: vec![("BLOCK_M".to_string(), ConstValue::Int(block_m))],
        };
        let kernel = lower_example("attention", &overrides).ir;
        let (after, compiled) = compile(&kernel, GpuTarget::Sm90a, num_warps);
        compiled.unwrap_or_else(|e| panic!("BLOCK_M = {block_m}, {num_warps} warps: {e}"));
        assert_eq!(
            p_in_registers(&after),
            in_registers,
            "BLOCK_M = {block_m}, {num_warps} warps"
        );
    }
}

#[test]
fn configurations_that_cannot_work_get_diagnostics() {
    let mut out = String::new();
    for name in ["config/matmul_256x256x32", "config/matmul_256x256x256"] {
        let (kernel, num_warps) = read(name);
        match compile(&kernel, GpuTarget::Sm80, num_warps).1 {
            Err(CodegenError::Config(diags)) => {
                out.push_str(&format!("== {name} (num_warps = {num_warps})\n"));
                out.push_str(&tilec::diagnostics::render("matmul.tile", "", &diags));
            }
            Err(e) => panic!("{name}: expected a configuration diagnostic, got {e}"),
            Ok(_) => panic!("{name}: compiled, expected a configuration diagnostic"),
        }
    }
    insta::assert_snapshot!("config_diagnostics", out);
}

#[test]
fn passes_can_be_observed() {
    let (mut kernel, num_warps) = read("matmul");
    let mut seen = Vec::new();
    let options = PassOptions {
        num_warps,
        target: GpuTarget::Sm90a,
    };
    passes::run(&mut kernel, &options, &mut |pass, k| {
        seen.push((pass.to_string(), k.to_string()))
    })
    .expect("passes succeed");
    let names: Vec<&str> = seen.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(names, passes::PASS_NAMES);
    // After the layout pass the IR text shows layouts; hoisting then moves conversions.
    assert!(seen[0].1.contains("#mma<v2"), "{}", seen[0].1);
}

/// The IR tests' kernels (`tests/ir/*.tir`, one kernel per file) compile and assemble too:
/// scalar loads and stores, booleans, i64 indices, if/else, nested loops, reductions to
/// scalars. Not snapshotted (their PTX is not what those files are about).
#[test]
fn ir_test_kernels_compile() {
    let dir = tilec_tests::workspace_root().join("tests/ir");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/ir exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == "tir"))
        .collect();
    files.sort();
    let mut compiled = 0;
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        // Files holding several kernels are for the text format, not for this harness.
        let Ok(kernel) = tilec::ir::parse::parse_kernel(&text) else {
            continue;
        };
        if kernel
            .values
            .values()
            .any(|v| v.ty.as_tile().is_some_and(|t| t.layout.is_some()))
        {
            continue; // Layouts already chosen by hand: not input for the layout pass.
        }
        for target in GpuTarget::ALL {
            // A kernel too big for 4 warps (attention with the causal mask) gets 8.
            let compiled_kernel = match compile(&kernel, target, DEFAULT_NUM_WARPS).1 {
                Err(CodegenError::Config(_)) => compile(&kernel, target, 8).1,
                other => other,
            }
            .unwrap_or_else(|e| panic!("{} for {target}: {e}", path.display()));
            if let Err(e) = tilec_tests::ptxas::assemble(&compiled_kernel.ptx, target.name()) {
                panic!("{} for {target}:\n{e}", path.display());
            }
        }
        compiled += 1;
    }
    assert!(compiled >= 5, "only {compiled} IR test kernels compiled");
}

/// Lowers `dsl-examples/<name>.tile` with `overrides` through the front end.
fn lower_example(name: &str, overrides: &ConstOverrides) -> tilec::sema::LoweredKernel {
    let path = tilec_tests::workspace_root().join(format!("dsl-examples/{name}.tile"));
    let source = SourceFile::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    tilec::driver::lower(&source, None, overrides).unwrap_or_else(|d| {
        panic!(
            "{}",
            tilec::diagnostics::render(&source.name, &source.text, &d)
        )
    })
}

const EXAMPLES: [&str; 5] = ["vector_add", "softmax", "layernorm", "matmul", "attention"];

/// Every example, with its default consts on 4 warps, for both targets: PTX snapshotted and
/// assembled; attention does both products with ldmatrix and mma.sync.
#[test]
fn examples_compile() {
    for name in EXAMPLES {
        let kernel = lower_example(name, &ConstOverrides::default()).ir;
        for target in GpuTarget::ALL {
            let compiled = compile(&kernel, target, DEFAULT_NUM_WARPS)
                .1
                .unwrap_or_else(|e| panic!("{name} for {target}: {e}"));
            insta::assert_snapshot!(format!("example_{name}_{target}"), compiled.ptx);
            if let Err(e) = tilec_tests::ptxas::assemble(&compiled.ptx, target.name()) {
                panic!("{name} for {target}:\n{e}");
            }
            if name == "attention" {
                let p = &compiled.ptx;
                assert!(p.contains("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32"));
                assert!(p.contains("ldmatrix.sync.aligned.m8n8.x4.shared.b16"));
                assert!(p.contains("ldmatrix.sync.aligned.m8n8.x2.shared.b16"));
                assert!(p.contains("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16"));
            }
        }
    }
}

/// Every point of every example's tuning space (num_stages aside) on sm_90a either compiles
/// to PTX that ptxas accepts or gets a configuration diagnostic; never an internal error.
/// The outcome of each point is snapshotted.
#[test]
fn example_tuning_spaces_compile_or_are_diagnosed() {
    let mut report = String::new();
    for name in EXAMPLES {
        let tune = lower_example(name, &ConstOverrides::default()).tune;
        let axes: Vec<_> = tune.iter().filter(|a| a.name != "num_stages").collect();
        let mut points: Vec<Vec<(String, ConstValue)>> = vec![Vec::new()];
        for axis in &axes {
            points = points
                .into_iter()
                .flat_map(|p| {
                    axis.values.iter().map(move |v| {
                        let mut p = p.clone();
                        p.push((axis.name.clone(), *v));
                        p
                    })
                })
                .collect();
        }
        for point in points {
            let num_warps = point
                .iter()
                .find(|(n, _)| n == "num_warps")
                .map(|(_, v)| v.as_i64() as u32)
                .unwrap_or(DEFAULT_NUM_WARPS);
            let overrides = ConstOverrides {
                values: point
                    .iter()
                    .filter(|(n, _)| n != "num_warps")
                    .cloned()
                    .collect(),
            };
            let kernel = lower_example(name, &overrides).ir;
            let desc: Vec<String> = point.iter().map(|(n, v)| format!("{n}={v}")).collect();
            let outcome = match compile(&kernel, GpuTarget::Sm90a, num_warps).1 {
                Ok(c) => {
                    if let Err(e) = tilec_tests::ptxas::assemble(&c.ptx, "sm_90a") {
                        panic!("{name} {desc:?}:\n{e}");
                    }
                    format!("ok, {} bytes of shared memory", c.abi.shared_bytes)
                }
                Err(CodegenError::Config(d)) => {
                    d.iter().map(|d| d.code).collect::<Vec<_>>().join(", ")
                }
                Err(e) => panic!("{name} {desc:?}: {e}"),
            };
            report.push_str(&format!("{name} {}: {outcome}\n", desc.join(" ")));
        }
    }
    insta::assert_snapshot!("example_tuning_spaces", report);
}
