//! Reductions along one axis: within a thread, across lanes by butterfly shuffles, across
//! warps through shared memory.
//!
//! The operand's thread map says where the elements of one output element live: registers
//! of one thread with the same coordinates off the axis (combined first, duplicates of a
//! wrapped layout skipped), lanes that differ in the lane bits that step along the axis
//! (`shfl.sync.bfly` over each such bit), and warps that differ in the warp bits that step
//! along the axis (partials written to the scratch area, one slot per such warp, then every
//! thread combines all slots in slot order, so all threads get bit-identical results).
//!
//! The result has the slice layout of the operand's layout (a scalar for a rank-1 operand).
//! f16/bf16 reductions accumulate in f32 and round once at the end.

use super::thread_map::ThreadMap;
use super::values::Lowered;
use super::{Cg, CodegenError};
use crate::ir::{BinaryOp, DType, Inst, Kernel, ReduceOp, Value};
use inkwell::values::BasicValueEnum;
use std::collections::HashMap;

/// Where the partial results of a reduction meet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReducePlan {
    /// For each output register, the operand registers (distinct elements) it combines.
    pub groups: Vec<Vec<usize>>,
    /// Lane masks to butterfly over.
    pub lane_masks: Vec<u32>,
    /// Warp-id bits whose warps hold different parts of the axis.
    pub warp_bits: Vec<u32>,
}

impl ReducePlan {
    /// Scratch bytes for the cross-warp step (0 when the axis stays within warps).
    pub fn scratch_bytes(&self, out_elements: u32, acc_bytes: u32) -> u32 {
        if self.warp_bits.is_empty() {
            0
        } else {
            (1 << self.warp_bits.len()) * out_elements * acc_bytes
        }
    }
}

/// Plans the reduction of a tile with map `src` along `axis` into map `dst` (`None`: a
/// scalar result).
pub fn plan(src: &ThreadMap, axis: usize, dst: Option<&ThreadMap>) -> Result<ReducePlan, String> {
    let off_axis = |c: &[u32]| {
        let mut c = c.to_vec();
        c.remove(axis);
        c
    };
    let out_index: HashMap<Vec<u32>, usize> = match dst {
        Some(d) => d
            .regs
            .iter()
            .enumerate()
            .map(|(i, r)| (r.clone(), i))
            .collect(),
        None => [(Vec::new(), 0)].into_iter().collect(),
    };
    let mut groups = vec![Vec::new(); out_index.len()];
    let mut seen = std::collections::HashSet::new();
    for (r, off) in src.regs.iter().enumerate() {
        if !seen.insert(off.clone()) {
            continue;
        }
        let key = off_axis(off);
        let &o = out_index
            .get(&key)
            .ok_or_else(|| format!("operand register {off:?} has no output register"))?;
        groups[o].push(r);
    }
    let mut lane_masks = Vec::new();
    let mut warp_bits = Vec::new();
    for (b, basis) in src.thread_bases.iter().enumerate() {
        if basis[axis] == 0 {
            continue;
        }
        if off_axis(basis).iter().any(|&x| x != 0) {
            return Err(format!("thread bit {b} steps along the axis and across it"));
        }
        if b < 5 {
            lane_masks.push(1 << b);
        } else {
            warp_bits.push((b - 5) as u32);
        }
    }
    Ok(ReducePlan {
        groups,
        lane_masks,
        warp_bits,
    })
}

/// The reduction plan for a `reduce` instruction of `kernel`.
pub fn plan_inst(kernel: &Kernel, inst: Inst, num_warps: u32) -> Result<(ReducePlan, u32), String> {
    let crate::ir::InstData::Reduce { arg, axis, .. } = &kernel.insts[inst] else {
        return Err("not a reduce".into());
    };
    let result = kernel.result(inst);
    let src = kernel
        .value_type(*arg)
        .as_tile()
        .ok_or("reduce of a non-tile")?;
    let src_map = ThreadMap::new(
        src.layout.as_ref().ok_or("operand without layout")?,
        &src.shape,
        num_warps,
    )?;
    let (dst_map, out_elements) = match kernel.value_type(result).as_tile() {
        Some(t) => (
            Some(ThreadMap::new(
                t.layout.as_ref().ok_or("result without layout")?,
                &t.shape,
                num_warps,
            )?),
            t.num_elements() as u32,
        ),
        None => (None, 1),
    };
    let plan = plan(&src_map, *axis as usize, dst_map.as_ref())?;
    let acc_bytes = if src.dtype == DType::I64 { 8 } else { 4 };
    let bytes = plan.scratch_bytes(out_elements, acc_bytes);
    Ok((plan, bytes))
}

fn combine_op(op: ReduceOp) -> BinaryOp {
    match op {
        ReduceOp::Sum => BinaryOp::Add,
        ReduceOp::Max => BinaryOp::Max,
        ReduceOp::Min => BinaryOp::Min,
    }
}

impl<'ctx> Cg<'_, 'ctx> {
    pub fn lower_reduce(
        &mut self,
        inst: Inst,
        op: ReduceOp,
        arg: Value,
        _axis: u8,
        result: Value,
    ) -> Result<(), CodegenError> {
        let (plan, _) =
            plan_inst(self.kernel, inst, self.num_warps).map_err(CodegenError::Internal)?;
        let dtype = self.tile_type(arg)?.dtype;
        // Accumulate 16-bit floats in f32.
        let acc_dtype = if matches!(dtype, DType::F16 | DType::BF16) {
            DType::F32
        } else {
            dtype
        };
        let bin = combine_op(op);
        let src = self.regs(arg)?;
        let mut partial: Vec<BasicValueEnum<'ctx>> = Vec::with_capacity(plan.groups.len());
        for group in &plan.groups {
            let mut acc: Option<BasicValueEnum> = None;
            for &r in group {
                let x = self.cast_reg(dtype, acc_dtype, src[r])?;
                acc = Some(match acc {
                    None => x,
                    Some(a) => self.binary_reg(bin, acc_dtype, a, x)?,
                });
            }
            partial
                .push(acc.ok_or_else(|| CodegenError::Internal("empty reduction group".into()))?);
        }
        for &mask in &plan.lane_masks {
            for p in partial.iter_mut() {
                let other = self.shuffle_xor(*p, mask)?;
                *p = self.binary_reg(bin, acc_dtype, *p, other)?;
            }
        }
        if !plan.warp_bits.is_empty() {
            partial = self.reduce_across_warps(&plan, partial, acc_dtype, bin, result)?;
        }
        let out = partial
            .into_iter()
            .map(|p| self.cast_reg(acc_dtype, dtype, p))
            .collect::<Result<Vec<_>, _>>()?;
        match self.kernel.value_type(result).as_tile() {
            Some(_) => self.set(result, Lowered::Tile(out)),
            None => self.set(result, Lowered::Scalar(out[0])),
        }
        Ok(())
    }

    fn reduce_across_warps(
        &mut self,
        plan: &ReducePlan,
        partial: Vec<BasicValueEnum<'ctx>>,
        acc_dtype: DType,
        bin: BinaryOp,
        result: Value,
    ) -> Result<Vec<BasicValueEnum<'ctx>>, CodegenError> {
        use super::index::IndexArith;
        let base = self.plan.scratch_offset;
        // The output element's linear index, and the number of output elements.
        let (linear, n_out): (Vec<inkwell::values::IntValue<'ctx>>, u32) =
            match self.kernel.value_type(result).as_tile() {
                Some(t) => {
                    let map = self.map_of(result)?;
                    let coords = self.coords(&map);
                    let mut ia = self.index();
                    let lin = coords
                        .iter()
                        .map(|c| {
                            let mut acc = ia.konst(0);
                            for (d, &x) in c.iter().enumerate() {
                                acc = ia.mul(acc, t.shape[d]);
                                acc = ia.add(acc, x);
                            }
                            acc
                        })
                        .collect();
                    (lin, t.num_elements() as u32)
                }
                None => (vec![self.ctx.i32_type().const_zero()], 1),
            };
        // This warp's slot: its warp-id bits along the axis, packed.
        let mut ia = self.index();
        let warp = ia.div(self.tid, 32);
        let mut slot = ia.konst(0);
        for (i, &bit) in plan.warp_bits.iter().enumerate() {
            let b = ia.shr(warp, bit);
            let b = ia.and(b, 1);
            let b = ia.mul(b, 1 << i);
            slot = ia.add(slot, b);
        }
        let slot_start = ia.mul(slot, n_out);
        self.barrier();
        for (p, &lin) in partial.iter().zip(&linear) {
            let mut ia = self.index();
            let elem = ia.add(slot_start, lin);
            let ptr = self.shared_elem_ptr(base, elem, acc_dtype)?;
            self.b.build_store(ptr, *p)?;
        }
        self.barrier();
        let ty = super::values::llvm_type(self.ctx, acc_dtype);
        let mut out = Vec::with_capacity(partial.len());
        for &lin in &linear {
            let mut acc: Option<BasicValueEnum> = None;
            for s in 0..(1u32 << plan.warp_bits.len()) {
                let mut ia = self.index();
                let elem = ia.add_const(lin, s * n_out);
                let ptr = self.shared_elem_ptr(base, elem, acc_dtype)?;
                let x = self.b.build_load(ty, ptr, "")?;
                acc = Some(match acc {
                    None => x,
                    Some(a) => self.binary_reg(bin, acc_dtype, a, x)?,
                });
            }
            out.push(acc.expect("at least two slots"));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::layout::{BlockedLayout, Layout, MmaLayout};

    /// Every output element combines each element of its row exactly once.
    fn check_covers(layout: Layout, shape: [u32; 2], axis: usize, warps: u32) {
        let src = ThreadMap::new(&layout, &shape, warps).unwrap();
        let slice = Layout::Slice {
            dim: axis as u32,
            parent: Box::new(layout),
        };
        let other = shape[1 - axis];
        let dst = ThreadMap::new(&slice, &[other], warps).unwrap();
        let p = plan(&src, axis, Some(&dst)).unwrap();
        for t in 0..32 * warps {
            for (o, group) in p.groups.iter().enumerate() {
                let mut hit = std::collections::HashMap::new();
                // Lanes and warps reached by the butterflies and the slots.
                let lane_mask: u32 = p.lane_masks.iter().sum();
                let warp_mask: u32 = p.warp_bits.iter().map(|b| 1 << (b + 5)).sum();
                for partner in 0..32 * warps {
                    if (partner ^ t) & !(lane_mask | warp_mask) != 0 {
                        continue;
                    }
                    for &r in group {
                        let e = src.element(partner, r);
                        *hit.entry(e).or_insert(0) += 1;
                    }
                }
                let out = dst.element(t, o);
                assert_eq!(hit.len() as u32, shape[axis], "thread {t} output {o}");
                for (e, n) in hit {
                    assert_eq!(e[1 - axis], out[0]);
                    assert_eq!(n, 1, "element {e:?} combined once");
                }
            }
        }
    }

    #[test]
    fn reductions_combine_each_element_once() {
        let mma = Layout::Mma(MmaLayout {
            version: 2,
            warps_per_cta: vec![4, 1],
        });
        check_covers(mma.clone(), [64, 64], 1, 4);
        check_covers(mma, [64, 64], 0, 4);
        let blocked = Layout::Blocked(BlockedLayout {
            size_per_thread: vec![1, 4],
            threads_per_warp: vec![4, 8],
            warps_per_cta: vec![2, 2],
            order: vec![1, 0],
        });
        check_covers(blocked.clone(), [16, 64], 1, 4);
        check_covers(blocked.clone(), [16, 64], 0, 4);
        // A wrapped layout: 8 rows of a 32-row-wide pattern.
        check_covers(blocked, [8, 128], 1, 4);
    }
}
