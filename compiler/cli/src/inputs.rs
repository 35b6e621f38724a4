//! Seeded random arguments for running a kernel from the command line.
//!
//! Read-only tensors get values uniform in [-1, 1); writable tensors are poisoned (NaN for
//! floats, `i32::MIN`-like patterns for integers) so that an element the kernel never writes
//! stands out in the summary. Sizes come from `--shape`, scalars from `--arg`.

use crate::options::{ScalarDef, ShapeDef};
use half::{bf16, f16};
use tilec::interp::{ArgValue, HostTensor, TensorData};
use tilec::ir::{ConstValue, DType, Dim, Kernel, Type};
use tilec::reference::Rng;

/// The concrete shape of every tensor parameter, from the symbol sizes given.
pub fn tensor_shape(
    kernel: &Kernel,
    dims: &[Dim],
    shapes: &[ShapeDef],
) -> Result<Vec<usize>, String> {
    dims.iter()
        .map(|d| match d {
            Dim::Const(n) => Ok(*n as usize),
            Dim::Sym(i) => {
                let name = &kernel.symbols[*i as usize];
                shapes
                    .iter()
                    .rev()
                    .find(|s| &s.name == name)
                    .map(|s| s.value)
                    .ok_or_else(|| {
                        format!("missing size of shape symbol `{name}`: pass --shape {name}=<size>")
                    })
            }
        })
        .collect()
}

/// Builds the argument list of `kernel`: random read-only tensors, poisoned writable tensors,
/// and the given scalars.
pub fn make_args(
    kernel: &Kernel,
    shapes: &[ShapeDef],
    scalars: &[ScalarDef],
    seed: u64,
) -> Result<Vec<ArgValue>, String> {
    for s in shapes {
        if !kernel.symbols.contains(&s.name) {
            return Err(format!(
                "`{}` is not a shape symbol of kernel `{}` (its symbols: {})",
                s.name,
                kernel.name,
                list_or_none(&kernel.symbols)
            ));
        }
    }
    let scalar_names: Vec<&str> = kernel
        .params
        .iter()
        .filter(|p| kernel.value_type(p.value).is_scalar())
        .map(|p| p.name.as_str())
        .collect();
    for s in scalars {
        if !scalar_names.contains(&s.name.as_str()) {
            return Err(format!(
                "`{}` is not a scalar parameter of kernel `{}` (its scalars: {})",
                s.name,
                kernel.name,
                list_or_none(&scalar_names)
            ));
        }
    }
    let mut rng = Rng::new(seed);
    let mut args = Vec::new();
    for param in &kernel.params {
        match kernel.value_type(param.value) {
            Type::Tensor(t) => {
                let shape = tensor_shape(kernel, &t.dims, shapes)?;
                let len = shape.iter().product::<usize>();
                let data = if t.mutable {
                    poisoned(t.dtype, len)
                } else {
                    random(t.dtype, len, &mut rng)
                };
                args.push(ArgValue::Tensor(HostTensor { shape, data }));
            }
            Type::Scalar(dtype) => {
                let def = scalars
                    .iter()
                    .rev()
                    .find(|s| s.name == param.name)
                    .ok_or_else(|| {
                        format!(
                            "missing value of scalar parameter `{}: {dtype}`: pass --arg {}=VALUE",
                            param.name, param.name
                        )
                    })?;
                args.push(scalar_arg(*dtype, def.value));
            }
            Type::Tile(_) => return Err(format!("parameter `{}` has a tile type", param.name)),
        }
    }
    Ok(args)
}

fn list_or_none<S: AsRef<str>>(names: &[S]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names
            .iter()
            .map(|n| format!("`{}`", n.as_ref()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn scalar_arg(dtype: DType, value: ConstValue) -> ArgValue {
    match dtype {
        DType::I1 => ArgValue::Bool(value.as_i64() != 0),
        DType::I32 | DType::I64 => ArgValue::Int(value.as_i64()),
        DType::F16 | DType::BF16 | DType::F32 => ArgValue::Float(value.as_f64()),
    }
}

pub fn random(dtype: DType, len: usize, rng: &mut Rng) -> TensorData {
    let mut next = || rng.uniform();
    match dtype {
        DType::F32 => TensorData::F32((0..len).map(|_| next() as f32).collect()),
        DType::F16 => TensorData::F16((0..len).map(|_| f16::from_f64(next())).collect()),
        DType::BF16 => TensorData::BF16((0..len).map(|_| bf16::from_f64(next())).collect()),
        DType::I32 => TensorData::I32((0..len).map(|_| (next() * 1000.0) as i32).collect()),
        DType::I64 => TensorData::I64((0..len).map(|_| (next() * 1000.0) as i64).collect()),
        DType::I1 => TensorData::I1((0..len).map(|_| next() >= 0.0).collect()),
    }
}

pub fn poisoned(dtype: DType, len: usize) -> TensorData {
    match dtype {
        DType::F32 => TensorData::F32(vec![f32::NAN; len]),
        DType::F16 => TensorData::F16(vec![f16::NAN; len]),
        DType::BF16 => TensorData::BF16(vec![bf16::NAN; len]),
        DType::I32 => TensorData::I32(vec![0x7f7f_7f7f; len]),
        DType::I64 => TensorData::I64(vec![0x7f7f_7f7f_7f7f_7f7f; len]),
        DType::I1 => TensorData::I1(vec![true; len]),
    }
}

/// The elements of a tensor as f64, for summaries and error norms.
pub fn to_f64(data: &TensorData) -> Vec<f64> {
    data.to_f64()
}
