//! Layouts: which thread of a program holds which element of a tile.
//!
//! Tiles leave lowering without a layout; the layout pass (`crate::passes::layout`) gives one
//! to every tile, and explicit `convert_layout` instructions move data between layouts. The
//! code generator reads layouts and never invents them, so later passes (swizzle, software
//! pipelining, Hopper lowering) change code by changing layouts in the IR.
//!
//! The model follows Triton's distributed layouts:
//!
//! * [`BlockedLayout`]: each thread owns `size_per_thread` contiguous elements, a warp is a
//!   `threads_per_warp` grid of threads, a program is a `warps_per_cta` grid of warps, and the
//!   pattern repeats to cover the tile. `order` lists dimensions fastest-varying first. Used by
//!   loads, stores and element-wise work.
//! * [`Layout::Slice`]: the layout of a tile produced by reducing `dim` away from a tile with
//!   the parent layout (every thread that held a row keeps that row's result).
//! * [`MmaLayout`]: the accumulator layout of `mma.sync.m16n8k16`: warps tile the output in a
//!   `warps_per_cta` grid of 16x8 instruction tiles.
//! * [`Layout::DotOperand`]: operand A (`op_idx` 0) or B (1) of an mma with the parent layout,
//!   `k_width` consecutive k-elements per thread register.
//! * [`SharedLayout`]: a tile staged in shared memory, with the XOR swizzle
//!
//!   ```text
//!   phase(row)  = (row / per_phase) % max_phase
//!   col_vec'    = col_vec XOR phase(row)          (col_vec counts groups of `vec` elements)
//!   ```
//!
//!   which spreads the rows of a column across the 32 banks so `ldmatrix` reads conflict-free.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    Blocked(BlockedLayout),
    Slice {
        dim: u32,
        parent: Box<Layout>,
    },
    Mma(MmaLayout),
    DotOperand {
        op_idx: u8,
        parent: Box<Layout>,
        k_width: u8,
    },
    Shared(SharedLayout),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BlockedLayout {
    pub size_per_thread: Vec<u32>,
    pub threads_per_warp: Vec<u32>,
    pub warps_per_cta: Vec<u32>,
    /// Dimensions from fastest- to slowest-varying.
    pub order: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MmaLayout {
    /// Instruction family: 2 is `mma.sync` (sm_80+), 3 is `wgmma` (sm_90a, a later pass).
    pub version: u8,
    pub warps_per_cta: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SharedLayout {
    /// Elements per swizzled vector.
    pub vec: u32,
    pub per_phase: u32,
    pub max_phase: u32,
    /// Dimensions from fastest- to slowest-varying.
    pub order: Vec<u32>,
}

impl Layout {
    pub fn is_shared(&self) -> bool {
        matches!(self, Layout::Shared(_))
    }
}

fn list(f: &mut fmt::Formatter<'_>, xs: &[u32]) -> fmt::Result {
    f.write_str("[")?;
    for (i, x) in xs.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{x}")?;
    }
    f.write_str("]")
}

/// The IR text form; `crate::ir::parse` reads exactly this back.
impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layout::Blocked(b) => {
                f.write_str("#blocked<spt = ")?;
                list(f, &b.size_per_thread)?;
                f.write_str(", tpw = ")?;
                list(f, &b.threads_per_warp)?;
                f.write_str(", wpc = ")?;
                list(f, &b.warps_per_cta)?;
                f.write_str(", order = ")?;
                list(f, &b.order)?;
                f.write_str(">")
            }
            Layout::Slice { dim, parent } => write!(f, "#slice<dim = {dim}, {parent}>"),
            Layout::Mma(m) => {
                write!(f, "#mma<v{}, wpc = ", m.version)?;
                list(f, &m.warps_per_cta)?;
                f.write_str(">")
            }
            Layout::DotOperand {
                op_idx,
                parent,
                k_width,
            } => write!(f, "#dot_op<{op_idx}, {parent}, kw = {k_width}>"),
            Layout::Shared(s) => {
                write!(
                    f,
                    "#shared<vec = {}, per_phase = {}, max_phase = {}, order = ",
                    s.vec, s.per_phase, s.max_phase
                )?;
                list(f, &s.order)?;
                f.write_str(">")
            }
        }
    }
}
