//! Checking GPU results against a reference: seeded random inputs, poisoned outputs, and
//! relative errors per output tensor.
//!
//! Used by `tilec run --gpu` and by the GPU test suite. The measure is the relative L2 error
//! `‖out − ref‖ / ‖ref‖` computed in f64 (the absolute norm when the reference is all zeros);
//! any NaN left in an output (a poisoned element the kernel never wrote, or a real NaN where
//! the reference has none) makes the error infinite. Integer and boolean outputs must match
//! exactly: their "error" is the fraction of differing elements.

use crate::device::Stream;
use crate::error::{Result, RuntimeError};
use crate::kernel::Kernel;
use crate::launch::Arg;
use crate::signature::{SigDim, SigParam};
use crate::tensor::DeviceTensor;
use half::{bf16, f16};
use tilec::interp::{ArgValue, HostTensor, TensorData};
use tilec::ir::DType;

/// The accepted relative error for outputs of `dtype`.
pub fn tolerance(dtype: DType) -> f64 {
    match dtype {
        DType::F16 => 1e-3,
        DType::BF16 => 8e-3,
        DType::F32 => 1e-5,
        DType::I1 | DType::I32 | DType::I64 => 0.0,
    }
}

/// The seeded generator shared with the interpreter's tests and the CLI (SplitMix64): test
/// inputs are the same on every machine for a given seed.
pub use tilec::reference::Rng;

/// A tensor of `shape` with random elements: floats uniform in [-1, 1), integers in
/// [-8, 8), booleans fair coin flips.
pub fn random_tensor(rng: &mut Rng, dtype: DType, shape: &[usize]) -> HostTensor {
    let n: usize = shape.iter().product();
    let mut floats = || (0..n).map(|_| rng.uniform()).collect::<Vec<f64>>();
    let data = match dtype {
        DType::F32 => TensorData::F32(floats().into_iter().map(|x| x as f32).collect()),
        DType::F16 => TensorData::F16(floats().into_iter().map(f16::from_f64).collect()),
        DType::BF16 => TensorData::BF16(floats().into_iter().map(bf16::from_f64).collect()),
        DType::I32 => TensorData::I32(
            floats()
                .into_iter()
                .map(|x| (x * 8.0).floor() as i32)
                .collect(),
        ),
        DType::I64 => TensorData::I64(
            floats()
                .into_iter()
                .map(|x| (x * 8.0).floor() as i64)
                .collect(),
        ),
        DType::I1 => TensorData::I1(floats().into_iter().map(|x| x >= 0.0).collect()),
    };
    HostTensor {
        shape: shape.to_vec(),
        data,
    }
}

/// A zero-filled host tensor.
pub fn zero_tensor(dtype: DType, shape: &[usize]) -> HostTensor {
    let n: usize = shape.iter().product();
    let data = match dtype {
        DType::F32 => TensorData::F32(vec![0.0; n]),
        DType::F16 => TensorData::F16(vec![f16::ZERO; n]),
        DType::BF16 => TensorData::BF16(vec![bf16::ZERO; n]),
        DType::I32 => TensorData::I32(vec![0; n]),
        DType::I64 => TensorData::I64(vec![0; n]),
        DType::I1 => TensorData::I1(vec![false; n]),
    };
    HostTensor {
        shape: shape.to_vec(),
        data,
    }
}

/// The elements as f64.
pub fn to_f64(t: &HostTensor) -> Vec<f64> {
    t.data.to_f64()
}

/// How far `out` is from `reference` (see the module doc), and how many of its elements are
/// NaN where the reference is not (unwritten, poisoned elements show up here).
pub fn relative_error(out: &[f64], reference: &[f64], exact: bool) -> Result<(f64, usize)> {
    if out.len() != reference.len() {
        return Err(RuntimeError::Transfer(format!(
            "output has {} elements, the reference {}",
            out.len(),
            reference.len()
        )));
    }
    let stray_nans = out
        .iter()
        .zip(reference)
        .filter(|(o, r)| o.is_nan() && !r.is_nan())
        .count();
    if exact {
        let differing = out.iter().zip(reference).filter(|(o, r)| o != r).count();
        return Ok((differing as f64 / out.len().max(1) as f64, stray_nans));
    }
    if stray_nans > 0 {
        return Ok((f64::INFINITY, stray_nans));
    }
    let (mut diff, mut norm) = (0.0f64, 0.0f64);
    for (o, r) in out.iter().zip(reference) {
        // Both NaN (or both the same infinity) count as agreement.
        if o.is_nan() && r.is_nan() || o == r {
            norm += if r.is_finite() { r * r } else { 0.0 };
            continue;
        }
        diff += (o - r) * (o - r);
        norm += r * r;
    }
    let err = if norm > 0.0 {
        (diff / norm).sqrt()
    } else {
        diff.sqrt()
    };
    Ok((if err.is_nan() { f64::INFINITY } else { err }, 0))
}

/// The comparison of one output tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub param: String,
    pub dtype: DType,
    pub rel_error: f64,
    pub tolerance: f64,
    /// Elements that are NaN on the GPU but not in the reference.
    pub stray_nans: usize,
}

impl Comparison {
    pub fn passed(&self) -> bool {
        self.stray_nans == 0 && self.rel_error <= self.tolerance
    }
}

/// Compares one GPU output with its reference.
pub fn compare(param: &str, out: &HostTensor, reference: &HostTensor) -> Result<Comparison> {
    let dtype = reference.data.dtype();
    if out.shape != reference.shape || out.data.dtype() != dtype {
        return Err(RuntimeError::Transfer(format!(
            "output `{param}` is {} {:?}, the reference {} {:?}",
            out.data.dtype(),
            out.shape,
            dtype,
            reference.shape
        )));
    }
    let exact = !dtype.is_float();
    let (rel_error, stray_nans) = relative_error(&to_f64(out), &to_f64(reference), exact)?;
    Ok(Comparison {
        param: param.to_string(),
        dtype,
        rel_error,
        tolerance: tolerance(dtype),
        stray_nans,
    })
}

/// Random arguments for `kernel`: every tensor filled at random (outputs zeroed), sized by
/// `sizes` (a value per shape symbol); scalars from `scalars` by name, else 1.0 / 1 / false.
pub fn random_args(
    kernel: &Kernel,
    sizes: &[(String, usize)],
    scalars: &[(String, ArgValue)],
    seed: u64,
) -> Result<Vec<ArgValue>> {
    let sig = kernel.signature();
    let mut rng = Rng::new(seed);
    let size_of = |sym: u32| -> Result<usize> {
        let name = &sig.symbols[sym as usize];
        sizes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                RuntimeError::BadArguments(format!(
                    "no size given for shape symbol {name} (use --shape {name}=N)"
                ))
            })
    };
    sig.params
        .iter()
        .map(|p| match p {
            SigParam::Tensor {
                dtype,
                dims,
                mutable,
                ..
            } => {
                let shape = dims
                    .iter()
                    .map(|d| match d {
                        SigDim::Const(c) => Ok(*c as usize),
                        SigDim::Sym(s) => size_of(*s),
                    })
                    .collect::<Result<Vec<_>>>()?;
                let dtype = DType::from(*dtype);
                Ok(ArgValue::Tensor(if *mutable {
                    zero_tensor(dtype, &shape)
                } else {
                    random_tensor(&mut rng, dtype, &shape)
                }))
            }
            SigParam::Scalar { name, dtype } => Ok(match scalars.iter().find(|(n, _)| n == name) {
                Some((_, v)) => v.clone(),
                None => match DType::from(*dtype) {
                    DType::I1 => ArgValue::Bool(false),
                    DType::I32 | DType::I64 => ArgValue::Int(1),
                    _ => ArgValue::Float(1.0),
                },
            }),
        })
        .collect()
}

/// Uploads `args`, poisons every writable tensor, launches once, and downloads the writable
/// tensors: `(parameter index, result)` for each.
pub fn run_on_gpu(
    kernel: &Kernel,
    stream: &Stream,
    args: &[ArgValue],
) -> Result<Vec<(usize, HostTensor)>> {
    let sig = kernel.signature();
    let mut device_tensors: Vec<Option<DeviceTensor>> = Vec::with_capacity(args.len());
    for (param, arg) in sig.params.iter().zip(args) {
        device_tensors.push(match arg {
            ArgValue::Tensor(h) => {
                let t = DeviceTensor::from_host(stream, h)?;
                if matches!(param, SigParam::Tensor { mutable: true, .. }) {
                    t.fill_poison(stream)?;
                }
                Some(t)
            }
            _ => None,
        });
    }
    let launch_args: Vec<Arg> = args
        .iter()
        .zip(&device_tensors)
        .map(|(a, d)| match (a, d) {
            (_, Some(t)) => Arg::Tensor(t),
            (ArgValue::Float(x), None) => Arg::Float(*x),
            (ArgValue::Int(x), None) => Arg::Int(*x),
            (ArgValue::Bool(x), None) => Arg::Bool(*x),
            (ArgValue::Tensor(_), None) => unreachable!("every host tensor was uploaded"),
        })
        .collect();
    kernel.launch(stream, &launch_args)?;
    stream.synchronize()?;
    sig.params
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p, SigParam::Tensor { mutable: true, .. }))
        .filter_map(|(i, _)| {
            device_tensors
                .get(i)
                .and_then(|t| t.as_ref())
                .map(|t| (i, t))
        })
        .map(|(i, t)| Ok((i, t.to_host(stream)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_error_cases() {
        let close = relative_error(&[1.0, 2.0], &[1.0, 2.001], false).unwrap();
        assert!(close.0 > 0.0 && close.0 < 1e-3);
        assert_eq!(
            relative_error(&[1.0, f64::NAN], &[1.0, 2.0], false).unwrap(),
            (f64::INFINITY, 1)
        );
        assert_eq!(
            relative_error(&[0.0, 0.0], &[0.0, 0.0], false).unwrap(),
            (0.0, 0)
        );
        assert_eq!(
            relative_error(&[1.0, 5.0], &[1.0, 2.0], true).unwrap(),
            (0.5, 0)
        );
        assert!(relative_error(&[1.0], &[1.0, 2.0], false).is_err());
    }

    #[test]
    fn random_tensors_are_reproducible_and_in_range() {
        let a = random_tensor(&mut Rng::new(7), DType::F16, &[4, 8]);
        let b = random_tensor(&mut Rng::new(7), DType::F16, &[4, 8]);
        assert_eq!(a, b);
        assert!(to_f64(&a).iter().all(|x| (-1.0..1.0).contains(x)));
        assert_ne!(a, random_tensor(&mut Rng::new(8), DType::F16, &[4, 8]));
    }

    #[test]
    fn comparison_pass_and_fail() {
        let r = HostTensor {
            shape: vec![2],
            data: TensorData::F32(vec![1.0, 2.0]),
        };
        assert!(compare("x", &r, &r).unwrap().passed());
        let off = HostTensor {
            shape: vec![2],
            data: TensorData::F32(vec![1.0, 2.1]),
        };
        assert!(!compare("x", &off, &r).unwrap().passed());
    }
}
