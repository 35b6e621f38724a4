//! Data movement between layouts: `convert_layout`, `broadcast`, `expand_dims`, `transpose`.
//!
//! Each of these reads, for every element of its result, one element of its operand
//! ([`source_coord`]). Between distributed layouts that is a register renaming when one
//! register index works in every thread ([`ThreadMap::gather_plan`]; an mma accumulator
//! becoming operand A of the next `dot` is planned in closed form by
//! [`accumulator_as_operand_a`], which the tests check against the brute force); otherwise
//! the operand
//! goes through the shared-memory scratch area (row-major, unswizzled): barrier, every
//! thread stores its registers, barrier, every thread loads what it needs.
//!
//! `convert_layout` into a shared layout stores the tile into its own buffer (barrier
//! before, so earlier readers are done; barrier after); out of a shared layout it loads,
//! except that dot operands `ldmatrix` can load stay in shared memory until `dot` loads them
//! (see `mma.rs`).

use super::index::IndexArith;
use super::mma::{accumulator_as_operand_a, ldmatrix_plan, SharedOperand};
use super::shared_layout;
use super::thread_map::ThreadMap;
use super::values::Lowered;
use super::{Cg, CodegenError};
use crate::ir::layout::Layout;
use crate::ir::{Inst, InstData, Kernel, Value};

/// The operand coordinate a data-movement instruction reads for result coordinate `coord`.
pub fn source_coord<A: IndexArith>(
    ia: &mut A,
    data: &InstData,
    src_shape: &[u32],
    coord: &[A::V],
) -> Vec<A::V> {
    match data {
        InstData::Broadcast { .. } => coord
            .iter()
            .zip(src_shape)
            .map(|(&c, &s)| if s == 1 { ia.konst(0) } else { c })
            .collect(),
        InstData::ExpandDims { axis, .. } => {
            let mut c = coord.to_vec();
            c.remove(*axis as usize);
            c
        }
        InstData::Transpose { .. } => coord.iter().rev().copied().collect(),
        _ => coord.to_vec(),
    }
}

/// How a data-movement instruction between distributed layouts is lowered.
pub enum MovePlan {
    /// Result register `i` is operand register `plan[i]`.
    Rename(Vec<usize>),
    /// Through the scratch area, which must hold `bytes` bytes.
    ViaScratch { bytes: u32 },
}

/// Plans a move between two distributed tiles (shared by codegen and the memory plan).
pub fn plan_move(kernel: &Kernel, inst: Inst, num_warps: u32) -> Result<MovePlan, String> {
    let data = &kernel.insts[inst];
    let arg = data.args()[0];
    let result = kernel.result(inst);
    let (src, dst) = (tile(kernel, arg)?, tile(kernel, result)?);
    if let (Layout::Mma(acc), InstData::ConvertLayout { .. }) = (layout(src)?, data) {
        if let Some(plan) = accumulator_as_operand_a(acc, layout(dst)?, &dst.shape, num_warps) {
            return Ok(MovePlan::Rename(plan));
        }
    }
    let src_map = ThreadMap::new(layout(src)?, &src.shape, num_warps)?;
    let dst_map = ThreadMap::new(layout(dst)?, &dst.shape, num_warps)?;
    let f = |c: &[u32]| source_coord(&mut super::index::Concrete, data, &src.shape, c);
    Ok(match src_map.gather_plan(&dst_map, f) {
        Some(plan) => MovePlan::Rename(plan),
        None => MovePlan::ViaScratch {
            bytes: (src.num_elements() as u32) * src.dtype.size_bytes(),
        },
    })
}

fn tile(kernel: &Kernel, v: Value) -> Result<&crate::ir::TileType, String> {
    kernel
        .value_type(v)
        .as_tile()
        .ok_or_else(|| format!("{v} is not a tile"))
}

fn layout(t: &crate::ir::TileType) -> Result<&Layout, String> {
    t.layout
        .as_ref()
        .ok_or_else(|| "tile without a layout".to_string())
}

impl<'ctx> Cg<'_, 'ctx> {
    pub fn lower_move(
        &mut self,
        inst: Inst,
        arg: Value,
        result: Value,
    ) -> Result<(), CodegenError> {
        let kernel = self.kernel;
        let data = &kernel.insts[inst];
        let src = self.tile_type(arg)?;
        let dst = self.tile_type(result)?;
        let internal = |m: &str| CodegenError::Internal(format!("{}: {m}", data.opcode()));
        let (src_layout, dst_layout) = (
            src.layout
                .as_ref()
                .ok_or_else(|| internal("operand without layout"))?,
            dst.layout
                .as_ref()
                .ok_or_else(|| internal("result without layout"))?,
        );
        match (src_layout, dst_layout) {
            (Layout::Shared(_), Layout::Shared(_)) => {
                Err(internal("shared to shared is not supported"))
            }
            (_, Layout::Shared(sl)) => {
                if !matches!(data, InstData::ConvertLayout { .. }) {
                    return Err(internal("only convert_layout moves into shared memory"));
                }
                shared_layout::check(sl, &dst.shape).map_err(|e| internal(&e))?;
                let base = self.plan.buffer(result)?;
                let map = self.map_of(arg)?;
                let regs = self.regs(arg)?;
                let max_vec = if sl.max_phase > 1 { sl.vec } else { u32::MAX };
                let shape = dst.shape.clone();
                self.barrier();
                self.store_shared(
                    &regs,
                    &map,
                    src.dtype,
                    base,
                    (sl.order[0] as usize, max_vec),
                    &|ia, c| shared_layout::offset(ia, sl, &shape, c),
                )?;
                self.barrier();
                self.set(result, Lowered::Shared { byte_offset: base });
                Ok(())
            }
            (Layout::Shared(sl), _) => {
                let Lowered::Shared { byte_offset } = *self.get(arg)? else {
                    return Err(internal("shared operand not in shared memory"));
                };
                if !matches!(data, InstData::ConvertLayout { .. }) {
                    return Err(internal("only convert_layout moves out of shared memory"));
                }
                let map = self.map_of(result)?;
                if let Some(plan) = ldmatrix_plan(sl, &src.shape, src.dtype, dst_layout, &map) {
                    // Loaded by `dot`, block by block (see `mma.rs`).
                    let op = SharedOperand {
                        shared: sl.clone(),
                        shape: src.shape.clone(),
                        byte_offset,
                        dtype: src.dtype,
                        plan,
                        map,
                    };
                    self.set(result, Lowered::SharedOperand(Box::new(op)));
                    return Ok(());
                }
                let mut regs = Vec::with_capacity(map.regs.len());
                for c in self.coords(&map) {
                    let elem = shared_layout::offset(&mut self.index(), sl, &src.shape, &c);
                    regs.push(self.load_shared(byte_offset, elem, src.dtype)?);
                }
                self.set(result, Lowered::Tile(regs));
                Ok(())
            }
            _ => {
                let src_regs = self.regs(arg)?;
                match plan_move(kernel, inst, self.num_warps).map_err(|e| internal(&e))? {
                    MovePlan::Rename(plan) => {
                        let regs = plan.into_iter().map(|i| src_regs[i]).collect();
                        self.set(result, Lowered::Tile(regs));
                    }
                    MovePlan::ViaScratch { .. } => {
                        let regs = self.move_via_scratch(data, &src_regs, arg, result)?;
                        self.set(result, Lowered::Tile(regs));
                    }
                }
                Ok(())
            }
        }
    }

    fn move_via_scratch(
        &mut self,
        data: &InstData,
        src_regs: &[inkwell::values::BasicValueEnum<'ctx>],
        arg: Value,
        result: Value,
    ) -> Result<Vec<inkwell::values::BasicValueEnum<'ctx>>, CodegenError> {
        let src = self.tile_type(arg)?;
        let src_map = self.map_of(arg)?;
        let dst_map = self.map_of(result)?;
        let base = self.plan.scratch_offset;
        let shape = src.shape.clone();
        let linear = move |ia: &mut super::values::LlvmIndex<'_, 'ctx>,
                           c: &[inkwell::values::IntValue<'ctx>]| {
            let mut acc = ia.konst(0);
            for (d, &x) in c.iter().enumerate() {
                acc = ia.mul(acc, shape[d]);
                acc = ia.add(acc, x);
            }
            acc
        };
        self.barrier();
        self.store_shared(
            src_regs,
            &src_map,
            src.dtype,
            base,
            (src.rank() - 1, u32::MAX),
            &linear,
        )?;
        self.barrier();
        let mut regs = Vec::with_capacity(dst_map.regs.len());
        for c in self.coords(&dst_map) {
            let mut ia = self.index();
            let s = source_coord(&mut ia, data, &src.shape, &c);
            let elem = linear(&mut ia, &s);
            regs.push(self.load_shared(base, elem, src.dtype)?);
        }
        Ok(regs)
    }
}
