//! The part of a kernel's IR that launching needs: parameter types, shape symbols and grid.
//!
//! The launcher checks arguments against a [`LaunchSignature`] and computes the grid from it.
//! It is derived from a [`tilec::ir::Kernel`] right after lowering and is serializable, so a
//! cached kernel (PTX + ABI + signature) launches without running the front end again.

use crate::error::{Result, RuntimeError};
use serde::{Deserialize, Serialize};
use tilec::codegen::abi::{AbiDType, AbiParam, KernelAbi};
use tilec::ir::{self, DType, GridExpr, GridOp, Type};

/// One dimension of a tensor parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigDim {
    /// Known at compile time.
    Const(u32),
    /// Index into [`LaunchSignature::symbols`].
    Sym(u32),
}

/// A kernel parameter as the caller must supply it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigParam {
    Tensor {
        name: String,
        dtype: AbiDType,
        dims: Vec<SigDim>,
        mutable: bool,
    },
    Scalar {
        name: String,
        dtype: AbiDType,
    },
}

impl SigParam {
    pub fn name(&self) -> &str {
        match self {
            SigParam::Tensor { name, .. } | SigParam::Scalar { name, .. } => name,
        }
    }
}

/// A grid expression over shape symbols (a serializable mirror of [`GridExpr`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigGrid {
    Const(i64),
    Sym(u32),
    Add(Box<SigGrid>, Box<SigGrid>),
    Sub(Box<SigGrid>, Box<SigGrid>),
    Mul(Box<SigGrid>, Box<SigGrid>),
    Div(Box<SigGrid>, Box<SigGrid>),
    CeilDiv(Box<SigGrid>, Box<SigGrid>),
    Min(Box<SigGrid>, Box<SigGrid>),
    Max(Box<SigGrid>, Box<SigGrid>),
}

impl SigGrid {
    fn from_ir(e: &GridExpr) -> SigGrid {
        match e {
            GridExpr::Const(c) => SigGrid::Const(*c),
            GridExpr::Sym(s) => SigGrid::Sym(*s),
            GridExpr::Binary(op, a, b) => {
                let (a, b) = (Box::new(SigGrid::from_ir(a)), Box::new(SigGrid::from_ir(b)));
                match op {
                    GridOp::Add => SigGrid::Add(a, b),
                    GridOp::Sub => SigGrid::Sub(a, b),
                    GridOp::Mul => SigGrid::Mul(a, b),
                    GridOp::Div => SigGrid::Div(a, b),
                    GridOp::CeilDiv => SigGrid::CeilDiv(a, b),
                    GridOp::Min => SigGrid::Min(a, b),
                    GridOp::Max => SigGrid::Max(a, b),
                }
            }
        }
    }

    /// Back to the IR form, whose `eval` defines the arithmetic (checked, ceil division).
    fn to_ir(&self) -> GridExpr {
        let bin = |op, a: &SigGrid, b: &SigGrid| {
            GridExpr::Binary(op, Box::new(a.to_ir()), Box::new(b.to_ir()))
        };
        match self {
            SigGrid::Const(c) => GridExpr::Const(*c),
            SigGrid::Sym(s) => GridExpr::Sym(*s),
            SigGrid::Add(a, b) => bin(GridOp::Add, a, b),
            SigGrid::Sub(a, b) => bin(GridOp::Sub, a, b),
            SigGrid::Mul(a, b) => bin(GridOp::Mul, a, b),
            SigGrid::Div(a, b) => bin(GridOp::Div, a, b),
            SigGrid::CeilDiv(a, b) => bin(GridOp::CeilDiv, a, b),
            SigGrid::Min(a, b) => bin(GridOp::Min, a, b),
            SigGrid::Max(a, b) => bin(GridOp::Max, a, b),
        }
    }

    /// Evaluates with `sym_values[i]` for symbol `i`; `None` on overflow or division by zero.
    pub fn eval(&self, sym_values: &[i64]) -> Option<i64> {
        self.to_ir().eval(sym_values)
    }
}

/// What the launcher needs to know about one kernel specialization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchSignature {
    pub kernel: String,
    pub params: Vec<SigParam>,
    /// Shape symbol names, indexed by [`SigDim::Sym`] and [`SigGrid::Sym`].
    pub symbols: Vec<String>,
    /// One expression per grid axis (1 to 3).
    pub grid: Vec<SigGrid>,
}

impl LaunchSignature {
    /// Extracts the signature from lowered IR.
    pub fn from_ir(kernel: &ir::Kernel) -> Result<LaunchSignature> {
        let params = kernel
            .params
            .iter()
            .map(|p| match kernel.value_type(p.value) {
                Type::Tensor(t) => Ok(SigParam::Tensor {
                    name: p.name.clone(),
                    dtype: t.dtype.into(),
                    dims: t
                        .dims
                        .iter()
                        .map(|d| match d {
                            ir::Dim::Const(c) => SigDim::Const(*c),
                            ir::Dim::Sym(s) => SigDim::Sym(*s),
                        })
                        .collect(),
                    mutable: t.mutable,
                }),
                Type::Scalar(d) => Ok(SigParam::Scalar {
                    name: p.name.clone(),
                    dtype: (*d).into(),
                }),
                Type::Tile(_) => Err(RuntimeError::AbiMismatch(format!(
                    "kernel parameter `{}` is a tile; parameters are tensors or scalars",
                    p.name
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(LaunchSignature {
            kernel: kernel.name.clone(),
            params,
            symbols: kernel.symbols.clone(),
            grid: kernel.grid.iter().map(SigGrid::from_ir).collect(),
        })
    }

    /// Checks that `abi` describes the same parameters, in the same order. A mismatch means
    /// the two files of a cache entry disagree or codegen broke its contract.
    pub fn check_abi(&self, abi: &KernelAbi) -> Result<()> {
        if abi.params.len() != self.params.len() {
            return Err(RuntimeError::AbiMismatch(format!(
                "the ABI lists {} parameters, the kernel has {}",
                abi.params.len(),
                self.params.len()
            )));
        }
        for (sig, abi_p) in self.params.iter().zip(&abi.params) {
            let same = match (sig, abi_p) {
                (
                    SigParam::Tensor {
                        name,
                        dtype,
                        dims,
                        mutable,
                    },
                    AbiParam::Tensor {
                        name: n2,
                        dtype: d2,
                        rank,
                        mutable: m2,
                    },
                ) => name == n2 && dtype == d2 && dims.len() == *rank as usize && mutable == m2,
                (
                    SigParam::Scalar { name, dtype },
                    AbiParam::Scalar {
                        name: n2,
                        dtype: d2,
                    },
                ) => name == n2 && dtype == d2,
                _ => false,
            };
            if !same {
                return Err(RuntimeError::AbiMismatch(format!(
                    "parameter `{}` differs between the kernel ({sig:?}) and the ABI ({abi_p:?})",
                    sig.name()
                )));
            }
        }
        if self.grid.is_empty() || self.grid.len() > 3 {
            return Err(RuntimeError::AbiMismatch(format!(
                "the grid has {} axes; 1 to 3 are launchable",
                self.grid.len()
            )));
        }
        if abi.num_warps == 0 || abi.num_warps > 32 {
            return Err(RuntimeError::AbiMismatch(format!(
                "num_warps = {} is not launchable (1 to 32)",
                abi.num_warps
            )));
        }
        Ok(())
    }
}

/// The dtype name used in messages.
pub(crate) fn abi_dtype_name(d: AbiDType) -> &'static str {
    DType::from(d).name()
}
