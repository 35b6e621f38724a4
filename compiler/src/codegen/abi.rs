//! The kernel ABI: how a tile IR kernel's parameters appear in the PTX entry point, and the
//! typed metadata that code generation hands to the runtime alongside the PTX.
//!
//! The runtime never parses PTX text to find out how to launch a kernel: it reads
//! [`KernelAbi`]. Parameters are passed in IR parameter order; each expands as follows:
//!
//! | IR parameter                     | PTX parameters, in order                              |
//! |----------------------------------|-------------------------------------------------------|
//! | tensor of rank r                 | `.u64` global address of element 0;                   |
//! |                                  | r × `.u32` sizes (dims 0..r);                         |
//! |                                  | r−1 × `.u64` strides in elements (dims 0..r−1; the    |
//! |                                  | innermost stride is 1 by contract)                    |
//! | scalar f32 / i32 / i64           | `.f32` / `.u32` / `.u64`                              |
//! | scalar f16 / bf16                | `.b16` (the raw bits)                                 |
//! | scalar bool                      | `.u8` (0 or 1)                                        |
//!
//! The block is `32 * num_warps` threads in x; the grid comes from the IR's grid expressions.
//! Dynamic shared memory of `shared_bytes` must be requested at launch (the runtime raises the
//! kernel's limit above 48 KiB when needed).

use crate::ir::DType;
use serde::{Deserialize, Serialize};

/// One IR parameter as the launcher must supply it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AbiParam {
    Tensor {
        name: String,
        dtype: AbiDType,
        rank: u32,
        mutable: bool,
    },
    Scalar {
        name: String,
        dtype: AbiDType,
    },
}

/// [`DType`] in a serializable form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AbiDType {
    I1,
    I32,
    I64,
    F16,
    BF16,
    F32,
}

impl From<DType> for AbiDType {
    fn from(d: DType) -> Self {
        match d {
            DType::I1 => AbiDType::I1,
            DType::I32 => AbiDType::I32,
            DType::I64 => AbiDType::I64,
            DType::F16 => AbiDType::F16,
            DType::BF16 => AbiDType::BF16,
            DType::F32 => AbiDType::F32,
        }
    }
}

impl From<AbiDType> for DType {
    fn from(d: AbiDType) -> Self {
        match d {
            AbiDType::I1 => DType::I1,
            AbiDType::I32 => DType::I32,
            AbiDType::I64 => DType::I64,
            AbiDType::F16 => DType::F16,
            AbiDType::BF16 => DType::BF16,
            AbiDType::F32 => DType::F32,
        }
    }
}

/// Everything the runtime needs to launch the PTX of one kernel specialization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelAbi {
    /// The `.entry` name in the PTX.
    pub entry: String,
    pub params: Vec<AbiParam>,
    pub num_warps: u32,
    /// Dynamic shared memory per program, in bytes.
    pub shared_bytes: u32,
    /// The target it was compiled for, e.g. `sm_90a`.
    pub target: String,
}
