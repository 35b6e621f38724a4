//! The CPU interpreter of the tile IR: the reference semantics of the language.
//!
//! [`run`] checks the arguments against the kernel's parameters (`args.rs`), evaluates the
//! grid from the tensors' shapes, and runs every program (`exec.rs`), in parallel with rayon.
//! The rules of arithmetic are in `math.rs` and `ops.rs`, loads and stores in `memory.rs`,
//! runtime values in `value.rs`.
//!
//! Programs are numbered with grid axis 0 fastest: `id = x + gx * (y + gy * z)`.
//!
//! Semantics where the language leaves the reference a choice (details in `ops.rs`):
//! * f16/bf16 element-wise results are computed in f32 and rounded once to the dtype; ints
//!   wrap; integer `div`/`rem` by zero is [`InterpError::Runtime`].
//! * `dot`: exact products summed in f64 with `acc`, rounded once to f32.
//! * `reduce_sum` of floats accumulates in f32 (f16/bf16: rounded once at the end).
//! * `min`/`max`, element-wise and reduced, return NaN if any operand is NaN.
//! * `load` gives `fill` (rounded to the dtype) to every element with any index, scalar
//!   indices included, outside `[0, size)`; `store` skips such elements.
//! * `for` with `step <= 0` is [`InterpError::Runtime`]; `convert_layout` is the identity.
//!
//! Memory model. Correct kernels have programs write disjoint elements; the interpreter stays
//! deterministic when they do not:
//! * Usually every program reads the tensors as they were when `run` was called, and buffers
//!   its stores; after the whole grid has run, the stores are applied in program order (so on
//!   overlap the highest program id wins). A program does not see its own stores.
//! * If the kernel loads from a tensor that it also stores to (in-place kernels), programs run
//!   one after another in program order and stores are written at once, so a program sees its
//!   own earlier stores and those of lower program ids.
//!
//! On error, the error of the lowest failing program id is returned; tensors are unchanged,
//! except in the in-place mode, where the programs before it have written theirs.

mod args;
mod exec;
mod math;
mod memory;
mod ops;
mod value;

use crate::ir::{DType, InstData, Kernel, Type};
use rayon::prelude::*;
use std::collections::HashSet;
use std::rc::Rc;

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

impl HostTensor {
    pub fn new(shape: Vec<usize>, data: TensorData) -> Self {
        HostTensor { shape, data }
    }

    /// The number of elements in `data` (equal to the product of `shape` when well formed).
    pub fn data_len(&self) -> usize {
        self.data.len()
    }
}

impl TensorData {
    pub fn len(&self) -> usize {
        match self {
            TensorData::I1(v) => v.len(),
            TensorData::I32(v) => v.len(),
            TensorData::I64(v) => v.len(),
            TensorData::F16(v) => v.len(),
            TensorData::BF16(v) => v.len(),
            TensorData::F32(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every element as an f64 (exact for all dtypes but i64 beyond 2^53); bools are 0 or 1.
    pub fn to_f64(&self) -> Vec<f64> {
        match self {
            TensorData::I1(v) => v.iter().map(|&x| x as u8 as f64).collect(),
            TensorData::I32(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::I64(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::F16(v) => v.iter().map(|&x| x.to_f64()).collect(),
            TensorData::BF16(v) => v.iter().map(|&x| x.to_f64()).collect(),
            TensorData::F32(v) => v.iter().map(|&x| x as f64).collect(),
        }
    }

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
    let bound = args::bind(kernel, args)?;
    let grid = eval_grid(kernel, &bound.symbols)?;
    let in_place = check_tensor_uses(kernel)?;
    let program_count = (grid[0] * grid[1] * grid[2]) as usize;
    let run_one = |id: usize, memory: &mut dyn memory::Memory| {
        let id = id as i64;
        let program_id = [
            id % grid[0],
            id / grid[0] % grid[1],
            id / (grid[0] * grid[1]),
        ];
        let params: Vec<value::RtValue> = bound
            .params
            .iter()
            .map(|b| match b {
                args::Binding::Tensor(i) => value::RtValue::Tensor(*i),
                args::Binding::Scalar(t) => value::RtValue::Tile(Rc::new(t.clone())),
            })
            .collect();
        exec::Program::new(kernel, &params, program_id, grid, memory).run()
    };
    if in_place {
        for id in 0..program_count {
            run_one(id, &mut memory::Direct { args: &mut *args })?;
        }
        return Ok(());
    }
    let shared: &[ArgValue] = args;
    // Every program runs to the end even if another fails, so the error reported is always
    // that of the lowest failing program id, whatever the thread timing.
    let per_program: Vec<Result<Vec<memory::StoreRecord>, InterpError>> = (0..program_count)
        .into_par_iter()
        .map(|id| {
            let mut deferred = memory::Deferred {
                args: shared,
                stores: Vec::new(),
            };
            run_one(id, &mut deferred).map(|()| deferred.stores)
        })
        .collect();
    let per_program = per_program.into_iter().collect::<Result<Vec<_>, _>>()?;
    for record in per_program.iter().flatten() {
        memory::apply_store(args, record.arg, &record.offsets, &record.values);
    }
    Ok(())
}

/// The grid extents, padded to three axes with 1.
fn eval_grid(kernel: &Kernel, symbols: &[i64]) -> Result<[i64; 3], InterpError> {
    if kernel.grid.len() > 3 {
        return Err(InterpError::BadArguments(format!(
            "kernel `{}` has a {}-dimensional grid (at most 3)",
            kernel.name,
            kernel.grid.len()
        )));
    }
    let mut grid = [1i64; 3];
    for (axis, expr) in kernel.grid.iter().enumerate() {
        grid[axis] = match expr.eval(symbols) {
            Some(n) if (0..=i32::MAX as i64).contains(&n) => n,
            Some(n) => {
                return Err(InterpError::BadArguments(format!(
                    "grid axis {axis} evaluates to {n} for these shapes"
                )))
            }
            None => {
                return Err(InterpError::BadArguments(format!(
                    "grid axis {axis} divides by zero or overflows for these shapes"
                )))
            }
        };
    }
    // Keep the total program count addressable (each axis is already below 2^31).
    if grid
        .iter()
        .try_fold(1i64, |n, &g| n.checked_mul(g))
        .is_none()
    {
        return Err(InterpError::BadArguments(
            "the grid is too large".to_string(),
        ));
    }
    Ok(grid)
}

/// Rejects stores to read-only tensors, and says whether some tensor is both loaded and
/// stored (which selects the in-place memory mode, see the module doc).
fn check_tensor_uses(kernel: &Kernel) -> Result<bool, InterpError> {
    let mut loaded = HashSet::new();
    let mut stored = HashSet::new();
    let mut read_only_store = None;
    kernel.walk_insts(kernel.entry, &mut |inst| match &kernel.insts[inst] {
        InstData::Load { tensor, .. } => {
            loaded.insert(*tensor);
        }
        InstData::Store { tensor, .. } => {
            stored.insert(*tensor);
            if let Type::Tensor(t) = kernel.value_type(*tensor) {
                if !t.mutable {
                    read_only_store.get_or_insert(inst);
                }
            }
        }
        _ => {}
    });
    if let Some(inst) = read_only_store {
        return Err(InterpError::Runtime(format!(
            "{inst} (store): stores to a read-only tensor"
        )));
    }
    Ok(!loaded.is_disjoint(&stored))
}
