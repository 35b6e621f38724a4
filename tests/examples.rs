//! Every program in dsl-examples/: it checks clean, its IR is snapshotted and round-trips
//! through the text form, and the interpreter's results match a float64 host reference on
//! fresh random inputs, ragged sizes (not multiples of the blocks) included.

use half::{bf16, f16};
use tilec::driver::{self, SourceFile};
use tilec::interp::{self, ArgValue, HostTensor, TensorData};
use tilec::ir::{self, ConstValue, Dim, Type};
use tilec::reference::{self, rel_error, Rng};
use tilec::sema::{ConstOverrides, LoweredKernel};
use tilec_tests::workspace_root;

const EXAMPLES: [&str; 5] = ["vector_add", "softmax", "matmul", "layernorm", "attention"];

fn source(name: &str) -> SourceFile {
    let path = workspace_root()
        .join("dsl-examples")
        .join(format!("{name}.tile"));
    SourceFile::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn overrides(consts: &[(&str, ConstValue)]) -> ConstOverrides {
    ConstOverrides {
        values: consts.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
    }
}

fn lower(name: &str, consts: &[(&str, ConstValue)]) -> LoweredKernel {
    let src = source(name);
    driver::lower(&src, None, &overrides(consts))
        .unwrap_or_else(|d| panic!("{}", tilec::diagnostics::render(&src.name, &src.text, &d)))
}

/// Checks an example, snapshots its IR under `snapshot`, and reads the IR text back.
fn check_ir(name: &str, snapshot: &str, consts: &[(&str, ConstValue)]) {
    let src = source(name);
    let diags = driver::check(&src, &overrides(consts));
    assert!(
        diags.is_empty(),
        "{}",
        tilec::diagnostics::render(&src.name, &src.text, &diags)
    );
    let text = lower(name, consts).ir.to_string();
    let reread = ir::parse::parse_kernel(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    ir::verify::verify(&reread).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(reread.to_string(), text, "IR text does not round-trip");
    insta::assert_snapshot!(snapshot, text);
}

#[test]
fn ir_of_every_example() {
    for name in EXAMPLES {
        check_ir(name, &format!("ir_{name}"), &[]);
    }
    let t = ConstValue::Bool(true);
    check_ir(
        "attention",
        "ir_attention_causal_d128",
        &[("CAUSAL", t), ("HEAD_DIM", ConstValue::Int(128))],
    );
    check_ir(
        "attention",
        "ir_attention_bf16",
        &[("DTYPE", ConstValue::DType(ir::DType::BF16))],
    );
}

/// Arguments for a kernel: random read-only tensors, NaN-poisoned writable ones, and the
/// given scalars; tensor sizes come from `symbols`.
fn make_args(
    lowered: &LoweredKernel,
    symbols: &[(&str, usize)],
    scalars: &[(&str, f64)],
    seed: u64,
) -> Vec<ArgValue> {
    let kernel = &lowered.ir;
    let mut rng = Rng::new(seed);
    kernel
        .params
        .iter()
        .map(|p| match kernel.value_type(p.value) {
            Type::Tensor(t) => {
                let shape: Vec<usize> = t
                    .dims
                    .iter()
                    .map(|d| match d {
                        Dim::Const(n) => *n as usize,
                        Dim::Sym(i) => {
                            let sym = &kernel.symbols[*i as usize];
                            symbols
                                .iter()
                                .find(|(n, _)| n == sym)
                                .expect("size given")
                                .1
                        }
                    })
                    .collect();
                let len = shape.iter().product();
                let data = match (t.dtype, t.mutable) {
                    (ir::DType::F16, true) => TensorData::F16(vec![f16::NAN; len]),
                    (ir::DType::BF16, true) => TensorData::BF16(vec![bf16::NAN; len]),
                    (ir::DType::F32, true) => TensorData::F32(vec![f32::NAN; len]),
                    (ir::DType::F16, false) => return ArgValue::Tensor(rng.f16_tensor(&shape)),
                    (ir::DType::BF16, false) => return ArgValue::Tensor(rng.bf16_tensor(&shape)),
                    (ir::DType::F32, false) => return ArgValue::Tensor(rng.f32_tensor(&shape)),
                    (other, _) => panic!("no generator for {other}"),
                };
                ArgValue::Tensor(HostTensor::new(shape, data))
            }
            Type::Scalar(_) => ArgValue::Float(
                scalars
                    .iter()
                    .find(|(n, _)| *n == p.name)
                    .expect("scalar given")
                    .1,
            ),
            Type::Tile(_) => unreachable!("tiles are not parameters"),
        })
        .collect()
}

fn tensor_f64(args: &[ArgValue], lowered: &LoweredKernel, name: &str) -> Vec<f64> {
    let i = lowered
        .ir
        .params
        .iter()
        .position(|p| p.name == name)
        .expect("param exists");
    match &args[i] {
        ArgValue::Tensor(t) => t.data.to_f64(),
        _ => panic!("{name} is not a tensor"),
    }
}

/// Runs example `name` on the interpreter and returns its output next to the reference that
/// `reference` computes from the inputs.
fn check_numerics(
    name: &str,
    consts: &[(&str, ConstValue)],
    symbols: &[(&str, usize)],
    scalars: &[(&str, f64)],
    output: &str,
    tolerance: f64,
    reference: impl Fn(&dyn Fn(&str) -> Vec<f64>) -> Vec<f64>,
) {
    let lowered = lower(name, consts);
    // A fresh seed per case: the same function must hold on any valid input.
    let seed = symbols.iter().fold(17u64, |h, (_, n)| {
        h.wrapping_mul(31).wrapping_add(*n as u64)
    });
    let mut args = make_args(&lowered, symbols, scalars, seed);
    let expected = reference(&|p| tensor_f64(&args, &lowered, p));
    interp::run(&lowered.ir, &mut args).unwrap_or_else(|e| panic!("{name}: {e}"));
    let out = tensor_f64(&args, &lowered, output);
    let error = rel_error(&out, &expected);
    println!("{name} {consts:?} {symbols:?}: rel error {error:.2e}");
    assert!(
        error <= tolerance,
        "{name} {consts:?} {symbols:?}: ‖out − ref‖/‖ref‖ = {error:e} > {tolerance:e}"
    );
}

#[test]
fn vector_add_matches_reference() {
    for n in [1, 1000, 3000] {
        check_numerics("vector_add", &[], &[("N", n)], &[], "out", 1e-7, |t| {
            reference::vector_add(&t("x"), &t("y"))
        });
    }
}

#[test]
fn softmax_matches_reference() {
    for (m, n) in [(1, 1), (7, 300), (9, 1000)] {
        check_numerics(
            "softmax",
            &[],
            &[("M", m), ("N", n)],
            &[],
            "out",
            2e-3,
            |t| reference::softmax(&t("x"), m, n),
        );
    }
}

#[test]
fn matmul_matches_reference() {
    for (m, k, n) in [(100, 70, 90), (64, 64, 64), (1, 17, 5)] {
        check_numerics(
            "matmul",
            &[],
            &[("M", m), ("K", k), ("N", n)],
            &[],
            "c",
            2e-3,
            |t| reference::matmul(&t("a"), &t("b"), m, k, n),
        );
    }
}

#[test]
fn layernorm_matches_reference() {
    for (m, n) in [(5, 300), (3, 1024), (1, 1)] {
        let eps = 1e-5;
        check_numerics(
            "layernorm",
            &[],
            &[("M", m), ("N", n)],
            &[("eps", eps)],
            "out",
            2e-3,
            |t| reference::layernorm(&t("x"), &t("weight"), &t("bias"), m, n, eps),
        );
    }
}

#[test]
fn attention_matches_reference() {
    // (batch, heads, seq, head dim): ragged sequence lengths, both head dims, both masks,
    // both element types. bf16 keeps 8 significant bits to f16's 11, so its errors are about
    // 8x f16's (measured: at most 2.9e-4 for f16, 2.4e-3 for bf16).
    let cases = [
        (1, 2, 100, 64),
        (2, 1, 77, 128),
        (1, 1, 1, 64),
        (1, 2, 257, 64),
    ];
    let dtypes = [(ir::DType::F16, 3e-3), (ir::DType::BF16, 6e-3)];
    for (b, h, s, d) in cases {
        for causal in [false, true] {
            for (dtype, tolerance) in dtypes {
                let scale = 1.0 / (d as f64).sqrt();
                check_numerics(
                    "attention",
                    &[
                        ("HEAD_DIM", ConstValue::Int(d as i64)),
                        ("CAUSAL", ConstValue::Bool(causal)),
                        ("DTYPE", ConstValue::DType(dtype)),
                    ],
                    &[("B", b), ("H", h), ("S", s)],
                    &[("scale", scale)],
                    "out",
                    tolerance,
                    |t| reference::attention(&t("q"), &t("k"), &t("v"), b, h, s, d, scale, causal),
                );
            }
        }
    }
}
