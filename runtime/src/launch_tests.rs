//! Unit tests of argument checking and parameter packing: no GPU involved.
//!
//! One signature shaped like the attention example (`q`, `out`: f16[B, H, S, 64], `scale`:
//! f32, grid `[cdiv(S, 128), B * H]`) and a table of argument lists, each with the error it
//! must produce.

use super::*;
use crate::signature::SigGrid;

fn attention_like() -> (LaunchSignature, KernelAbi) {
    use tilec::codegen::abi::AbiParam;
    let dims = vec![
        SigDim::Sym(0),
        SigDim::Sym(1),
        SigDim::Sym(2),
        SigDim::Const(64),
    ];
    let sig = LaunchSignature {
        kernel: "attention".into(),
        params: vec![
            SigParam::Tensor {
                name: "q".into(),
                dtype: AbiDType::F16,
                dims: dims.clone(),
                mutable: false,
            },
            SigParam::Tensor {
                name: "out".into(),
                dtype: AbiDType::F16,
                dims,
                mutable: true,
            },
            SigParam::Scalar {
                name: "scale".into(),
                dtype: AbiDType::F32,
            },
            SigParam::Scalar {
                name: "n".into(),
                dtype: AbiDType::I32,
            },
            SigParam::Scalar {
                name: "flag".into(),
                dtype: AbiDType::I1,
            },
        ],
        symbols: vec!["B".into(), "H".into(), "S".into()],
        grid: vec![
            SigGrid::CeilDiv(Box::new(SigGrid::Sym(2)), Box::new(SigGrid::Const(128))),
            SigGrid::Mul(Box::new(SigGrid::Sym(0)), Box::new(SigGrid::Sym(1))),
        ],
    };
    let abi = KernelAbi {
        entry: "attention".into(),
        params: vec![
            AbiParam::Tensor {
                name: "q".into(),
                dtype: AbiDType::F16,
                rank: 4,
                mutable: false,
            },
            AbiParam::Tensor {
                name: "out".into(),
                dtype: AbiDType::F16,
                rank: 4,
                mutable: true,
            },
            AbiParam::Scalar {
                name: "scale".into(),
                dtype: AbiDType::F32,
            },
            AbiParam::Scalar {
                name: "n".into(),
                dtype: AbiDType::I32,
            },
            AbiParam::Scalar {
                name: "flag".into(),
                dtype: AbiDType::I1,
            },
        ],
        num_warps: 4,
        shared_bytes: 64 * 1024,
        target: "sm_90a".into(),
    };
    (sig, abi)
}

fn tensor(dtype: DType, shape: &[usize], address: u64) -> TensorArg {
    let strides = crate::tensor::contiguous_strides(shape);
    let bytes = shape.iter().product::<usize>() * dtype.size_bytes() as usize;
    TensorArg {
        dtype,
        shape: shape.to_vec(),
        strides,
        address,
        allocation_bytes: bytes,
    }
}

fn good_args() -> Vec<ArgDesc> {
    vec![
        ArgDesc::Tensor(tensor(DType::F16, &[2, 3, 300, 64], 0x1000_0000)),
        ArgDesc::Tensor(tensor(DType::F16, &[2, 3, 300, 64], 0x2000_0000)),
        ArgDesc::Float(0.125),
        ArgDesc::Int(7),
        ArgDesc::Bool(true),
    ]
}

#[test]
fn good_arguments_pack_per_the_abi() {
    let (sig, abi) = attention_like();
    let plan = plan_launch(&sig, &abi, &good_args()).expect("valid arguments");
    assert_eq!(plan.grid, [3, 6, 1]); // cdiv(300, 128), 2 * 3
    assert_eq!(plan.block, [128, 1, 1]);
    assert_eq!(plan.shared_bytes, 64 * 1024);
    assert_eq!(plan.symbol_values, vec![2, 3, 300]);
    let entries: Vec<_> = plan.params.entries().collect();
    let tensor_entries = |addr| {
        vec![
            ("u64", addr),
            ("u32", 2),
            ("u32", 3),
            ("u32", 300),
            ("u32", 64),
            ("u64", 3 * 300 * 64),
            ("u64", 300 * 64),
            ("u64", 64),
        ]
    };
    let mut expected = tensor_entries(0x1000_0000);
    expected.extend(tensor_entries(0x2000_0000));
    expected.push(("f32", 0.125f32.to_bits() as u64));
    expected.push(("u32", 7));
    expected.push(("u8", 1));
    assert_eq!(entries, expected);
    let size = |kind: &str| match kind {
        "u64" => 8,
        "u32" | "f32" => 4,
        "b16" => 2,
        _ => 1,
    };
    let packed_sizes: Vec<u32> = entries.iter().map(|(k, _)| size(k)).collect();
    assert_eq!(
        packed_sizes,
        abi_param_sizes(&abi),
        "packing and the ABI's sizes agree"
    );
}

#[test]
fn scalars_pack_to_their_ptx_types() {
    use tilec::codegen::abi::AbiParam;
    let cases: Vec<(AbiDType, ArgDesc, (&str, u64))> = vec![
        (AbiDType::F16, ArgDesc::Float(1.0), ("b16", 0x3c00)),
        (AbiDType::BF16, ArgDesc::Float(1.0), ("b16", 0x3f80)),
        (AbiDType::I32, ArgDesc::Int(-1), ("u32", 0xffff_ffff)),
        (AbiDType::I64, ArgDesc::Int(-1), ("u64", u64::MAX)),
        (
            AbiDType::F32,
            ArgDesc::Int(2),
            ("f32", 2.0f32.to_bits() as u64),
        ),
        (AbiDType::I1, ArgDesc::Bool(false), ("u8", 0)),
    ];
    for (dtype, arg, want) in cases {
        let sig = LaunchSignature {
            kernel: "k".into(),
            params: vec![SigParam::Scalar {
                name: "x".into(),
                dtype,
            }],
            symbols: vec![],
            grid: vec![SigGrid::Const(1)],
        };
        let abi = KernelAbi {
            entry: "k".into(),
            params: vec![AbiParam::Scalar {
                name: "x".into(),
                dtype,
            }],
            num_warps: 1,
            shared_bytes: 0,
            target: "sm_90a".into(),
        };
        let plan = plan_launch(&sig, &abi, &[arg]).expect("valid scalar");
        assert_eq!(
            plan.params.entries().collect::<Vec<_>>(),
            vec![want],
            "{dtype:?}"
        );
    }
}

/// Each case edits the good argument list and names a fragment of the expected message.
#[test]
fn bad_arguments_are_typed_errors() {
    type Edit = fn(&mut Vec<ArgDesc>);
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "too few",
            |a| {
                a.pop();
            },
            "takes 5 arguments",
        ),
        (
            "wrong dtype",
            |a| a[0] = ArgDesc::Tensor(tensor(DType::BF16, &[2, 3, 300, 64], 0x1000_0000)),
            "expected a f16 tensor, got bf16",
        ),
        (
            "wrong rank",
            |a| a[0] = ArgDesc::Tensor(tensor(DType::F16, &[6, 300, 64], 0x1000_0000)),
            "rank 4",
        ),
        (
            "const dim",
            |a| a[0] = ArgDesc::Tensor(tensor(DType::F16, &[2, 3, 300, 128], 0x1000_0000)),
            "dim 3 must be 64",
        ),
        (
            "symbol disagrees",
            |a| a[1] = ArgDesc::Tensor(tensor(DType::F16, &[2, 3, 301, 64], 0x2000_0000)),
            "S = 301, but `q` has S = 300",
        ),
        (
            "misaligned",
            |a| a[0] = ArgDesc::Tensor(tensor(DType::F16, &[2, 3, 300, 64], 0x1000_0002)),
            "not aligned to 16 bytes",
        ),
        (
            "inner stride",
            |a| {
                let mut t = tensor(DType::F16, &[2, 3, 300, 64], 0x1000_0000);
                t.strides[3] = 2;
                a[0] = ArgDesc::Tensor(t);
            },
            "innermost stride must be 1",
        ),
        (
            "strides beyond allocation",
            |a| {
                let mut t = tensor(DType::F16, &[2, 3, 300, 64], 0x1000_0000);
                t.strides[0] *= 2;
                a[0] = ArgDesc::Tensor(t);
            },
            "but the allocation has",
        ),
        (
            "overlapping output rows",
            |a| {
                let mut t = tensor(DType::F16, &[2, 3, 300, 64], 0x2000_0000);
                t.strides[2] = 32;
                a[1] = ArgDesc::Tensor(t);
            },
            "overlap",
        ),
        (
            "output aliases input",
            |a| a[1] = ArgDesc::Tensor(tensor(DType::F16, &[2, 3, 300, 64], 0x1000_0000)),
            "overlaps tensor `q`",
        ),
        (
            "scalar for tensor",
            |a| a[0] = ArgDesc::Float(1.0),
            "expected a f16 tensor, got the scalar",
        ),
        (
            "tensor for scalar",
            |a| a[2] = ArgDesc::Tensor(tensor(DType::F32, &[1], 0x3000_0000)),
            "expected a f32 scalar",
        ),
        (
            "i32 out of range",
            |a| a[3] = ArgDesc::Int(1 << 40),
            "does not fit in an i32",
        ),
        (
            "bool as int",
            |a| a[4] = ArgDesc::Int(1),
            "expected a i1 scalar",
        ),
        (
            "huge symbol",
            |a| {
                a[0] = ArgDesc::Tensor(TensorArg {
                    dtype: DType::F16,
                    shape: vec![1, 1, 1 << 31, 64],
                    strides: vec![64 << 31, 64 << 31, 64, 1],
                    address: 0x1000_0000,
                    allocation_bytes: usize::MAX,
                });
            },
            "more than the largest shape symbol value",
        ),
        (
            "grid too large",
            |a| {
                let big = |addr| {
                    ArgDesc::Tensor(TensorArg {
                        dtype: DType::F16,
                        shape: vec![70_000, 1, 1, 64],
                        strides: vec![64, 64, 64, 1],
                        address: addr,
                        allocation_bytes: usize::MAX / 4,
                    })
                };
                a[0] = big(0x1000_0000);
                a[1] = big(0x8000_0000_0000);
            },
            "grid axis 1 is 70000",
        ),
    ];
    let (sig, abi) = attention_like();
    for (what, edit, fragment) in cases {
        let mut args = good_args();
        edit(&mut args);
        let err = plan_launch(&sig, &abi, &args).expect_err(what);
        let text = err.to_string();
        assert!(
            text.contains(fragment),
            "{what}: `{text}` lacks `{fragment}`"
        );
    }
}

#[test]
fn empty_sequence_gives_an_empty_grid() {
    let (sig, abi) = attention_like();
    let mut args = good_args();
    args[0] = ArgDesc::Tensor(tensor(DType::F16, &[2, 3, 0, 64], 0x1000_0000));
    args[1] = ArgDesc::Tensor(tensor(DType::F16, &[2, 3, 0, 64], 0x2000_0000));
    let plan = plan_launch(&sig, &abi, &args).expect("empty tensors are valid");
    assert!(plan.is_empty());
}

#[test]
fn abi_that_disagrees_with_the_signature_is_refused() {
    let (sig, mut abi) = attention_like();
    abi.params.swap(0, 1);
    assert!(matches!(
        plan_launch(&sig, &abi, &good_args()),
        Err(RuntimeError::AbiMismatch(_))
    ));
}

#[test]
fn broadcast_reads_are_allowed_but_not_writes() {
    let mut t = tensor(DType::F16, &[2, 3, 300, 64], 0x1000_0000);
    t.strides[0] = 0;
    assert!(!elements_are_distinct(&t));
    let (sig, abi) = attention_like();
    let mut args = good_args();
    args[0] = ArgDesc::Tensor(t);
    assert!(plan_launch(&sig, &abi, &args).is_ok());
}
