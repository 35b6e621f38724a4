//! The tile IR: the compiler's own SSA intermediate representation.
//!
//! * [`types`]: scalars, tiles (shape, dtype, optional [`layout::Layout`]) and tensors.
//! * [`instructions`]: the instruction set, with structured `for`/`if`.
//! * [`kernel`]: a kernel's tables, built on `cranelift-entity`, and the methods that build it.
//! * [`print`] and [`parse`]: the text form; `parse(print(k))` prints the same text again.
//! * [`verify`]: the invariants every stage may rely on; run after lowering and every pass.

pub mod entities;
pub mod instructions;
pub mod kernel;
pub mod layout;
pub mod parse;
pub mod print;
pub mod types;
pub mod verify;

pub use entities::{Block, Inst, Value};
pub use instructions::{BinaryOp, CmpOp, InstData, ReduceOp, SliceDim, UnaryOp, ValueList};
pub use kernel::{BlockData, GridExpr, GridOp, Kernel, KernelParam, ValueData, ValueDef};
pub use layout::{BlockedLayout, Layout, MmaLayout, SharedLayout};
pub use types::{ConstValue, DType, Dim, TensorType, TileType, Type};
