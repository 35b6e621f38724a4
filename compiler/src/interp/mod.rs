//! The CPU interpreter of the tile IR: the reference semantics of the language.

use crate::ir::{DType, Kernel};

/// A host tensor: contiguous, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub data: TensorData,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    I1(Vec<bool>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F16(Vec<half::f16>),
    BF16(Vec<half::bf16>),
    F32(Vec<f32>),
}

impl TensorData {
    pub fn dtype(&self) -> DType {
        match self {
            TensorData::I1(_) => DType::I1,
            TensorData::I32(_) => DType::I32,
            TensorData::I64(_) => DType::I64,
            TensorData::F16(_) => DType::F16,
            TensorData::BF16(_) => DType::BF16,
            TensorData::F32(_) => DType::F32,
        }
    }
}

/// A kernel argument, in the order of [`Kernel::params`].
#[derive(Clone, Debug, PartialEq)]
pub enum ArgValue {
    Tensor(HostTensor),
    /// A scalar argument; stored as f64 or i64 and converted to the parameter's dtype.
    Float(f64),
    Int(i64),
    Bool(bool),
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum InterpError {
    #[error("{0}")]
    BadArguments(String),
    #[error("{0}")]
    Runtime(String),
}

/// Runs `kernel` over its whole grid; tensors written by `store` are updated in `args`.
pub fn run(kernel: &Kernel, args: &mut [ArgValue]) -> Result<(), InterpError> {
    let _ = (kernel, args);
    unimplemented!("interpreter: owned by the interpreter work")
}
