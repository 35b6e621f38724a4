//! Entity references: small `u32` handles into the kernel's tables (see `cranelift-entity`).
//!
//! A handle is only meaningful with the [`crate::ir::Kernel`] that made it. Handles print as
//! their text-form prefix and index (`v3`, `inst7`, `block2`); the IR text printer gives values
//! friendlier names, see `crate::ir::print`.

use cranelift_entity::entity_impl;

/// An SSA value: an instruction result or a block parameter.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(u32);
entity_impl!(Value, "v");

/// An instruction.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Inst(u32);
entity_impl!(Inst, "inst");

/// A block: a list of instructions with parameters, ending in `yield` or `return`. Blocks
/// nest: the kernel body is one block, and `for`/`if` instructions own child blocks.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Block(u32);
entity_impl!(Block, "block");
