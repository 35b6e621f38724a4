//! Tensor cores: `ldmatrix` loads of dot operands from shared memory, and `dot` as
//! `mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}.{f16,bf16}.f32`.
//!
//! Register contracts are the dot-operand and mma thread maps (`thread_map.rs`): per
//! 16x16 A block 8 halves `a0..a7`, per 16x8 B block 4 halves `b0..b3`, per 16x8 accumulator
//! block 4 floats; packed two halves per 32-bit register for the instruction.
//!
//! An mma result that feeds the next `dot` as operand A (attention's `P`) becomes that
//! operand by renaming registers when the warps split m only ([`accumulator_as_operand_a`]).
//!
//! Operands stay in shared memory until `dot` runs: it loads, per k-step, the B blocks, then
//! per m-block the A block, and issues the mma.sync of that k-step ([`SharedOperand`]).
//!
//! `ldmatrix.x4` loads the 4 8x8 matrices of an A block (`.x2`: the 2 of a B block). Lane
//! `l` hands over the address of row `l % 8` of matrix `l / 8`; matrix `j` is where the
//! block's registers `2j, 2j+1` live. A matrix row is 8 elements contiguous in shared memory
//! (a swizzle chunk), along k when the tile is k-contiguous (plain `ldmatrix`), along m / n
//! otherwise (`ldmatrix.trans`). Limits: 16-bit types, blocks that divide the tile, a swizzle
//! `vec` of at least 8; other cases load element by element.

use super::index::IndexArith;
use super::shared_layout;
use super::thread_map::ThreadMap;
use super::values::Lowered;
use super::{Cg, CodegenError};
use crate::ir::layout::{Layout, MmaLayout, SharedLayout};
use crate::ir::{DType, Value};
use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicValueEnum, PointerValue};
use std::collections::HashMap;

/// How one warp loads a dot operand with `ldmatrix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LdmatrixPlan {
    pub op_idx: u8,
    /// `.trans`: the shared tile is contiguous along m (A) or n (B), not k.
    pub trans: bool,
    /// Matrices per instruction: 4 for A, 2 for B.
    pub matrices: u32,
    /// Registers (elements) per instruction: 8 for A, 4 for B.
    pub regs_per_block: usize,
    /// Offset of matrix `1 << b` from matrix 0, per bit `b` of the matrix index.
    pub matrix_steps: Vec<Vec<u32>>,
}

/// Whether (and how) a tile with shared layout `sl` and shape `shape` is loaded into the
/// dot-operand map `map` by `ldmatrix`.
pub fn ldmatrix_plan(
    sl: &SharedLayout,
    shape: &[u32],
    dtype: DType,
    layout: &Layout,
    map: &ThreadMap,
) -> Option<LdmatrixPlan> {
    let Layout::DotOperand { op_idx, parent, .. } = layout else {
        return None;
    };
    let Layout::Mma(m) = parent.as_ref() else {
        return None;
    };
    if dtype.size_bytes() != 2 || shape.len() != 2 || shared_layout::check(sl, shape).is_err() {
        return None;
    }
    let (wm, wn) = (m.warps_per_cta[0], m.warps_per_cta[1]);
    let k_dim = if *op_idx == 0 { 1 } else { 0 };
    let fast = sl.order[0] as usize;
    let trans = fast != k_dim;
    // 8 consecutive elements along the fast dim must be one contiguous, aligned chunk.
    if shape[fast] < 8 || (sl.max_phase > 1 && sl.vec < 8) {
        return None;
    }
    let (matrices, regs_per_block, blocks): (u32, usize, u32) = if *op_idx == 0 {
        (4, 8, (shape[0] / (16 * wm)) * (shape[1] / 16))
    } else {
        (2, 4, (shape[0] / 16) * (shape[1] / (8 * wn)))
    };
    if blocks == 0 || map.regs.len() != blocks as usize * regs_per_block {
        return None;
    }
    // Matrix j of block b starts at register b * regs_per_block + 2j; the steps between
    // matrices must be the same in every block.
    let steps: Vec<Vec<u32>> = (0..matrices.trailing_zeros())
        .map(|bit| {
            let r = 2 * (1usize << bit);
            (0..2).map(|d| map.regs[r][d] - map.regs[0][d]).collect()
        })
        .collect();
    for b in 0..blocks as usize {
        let first = b * regs_per_block;
        for j in 0..matrices as usize {
            let mut want = map.regs[first].clone();
            for (bit, step) in steps.iter().enumerate() {
                if j >> bit & 1 == 1 {
                    want[0] += step[0];
                    want[1] += step[1];
                }
            }
            if map.regs[first + 2 * j] != want {
                return None;
            }
        }
    }
    Some(LdmatrixPlan {
        op_idx: *op_idx,
        trans,
        matrices,
        regs_per_block,
        matrix_steps: steps,
    })
}

/// The register renaming that makes an mma accumulator tile operand A of the next `dot`
/// (attention's `P`, cast to a 16-bit type), or `None` where the conversion needs memory.
///
/// Why it works: an `m16n8k16` accumulator block gives lane `4g + t` rows `g`, `g + 8` and
/// columns `2t`, `2t + 1` of a 16x8 tile; two such blocks side by side (n-blocks `2k`, `2k +
/// 1`) give it exactly the A fragment of the 16x16 k-block `k`: rows `g`, `g + 8`, columns
/// `2t`, `2t + 1` (`a0..a3`) and `2t + 8`, `2t + 9` (`a4..a7`). So operand register `(rm, rk,
/// i)` is accumulator register `(rm, 2 rk + i / 4, i % 4)`, in the same thread, provided the
/// warps of both layouts sit the same way and none splits n (a warp that owned only some
/// columns of `P` would lack part of its k range): `acc` must be the operand's parent and
/// have `warps_per_cta = [num_warps, 1]`. The tile must be whole blocks (no wrapping), so
/// `m` is a multiple of `16 * num_warps` and `k` of 16. Packing pairs into 32-bit registers
/// is `lower_dot`'s job, as for every operand.
pub fn accumulator_as_operand_a(
    acc: &MmaLayout,
    operand: &Layout,
    shape: &[u32],
    num_warps: u32,
) -> Option<Vec<usize>> {
    let Layout::DotOperand {
        op_idx: 0,
        parent,
        k_width: 2,
    } = operand
    else {
        return None;
    };
    if parent.as_ref() != &Layout::Mma(acc.clone())
        || acc.version != 2
        || acc.warps_per_cta != [num_warps, 1]
        || shape.len() != 2
        || !shape.iter().all(|d| d.is_power_of_two())
        || shape[0] % (16 * num_warps) != 0
        || shape[1] % 16 != 0
    {
        return None;
    }
    let reps_m = (shape[0] / (16 * num_warps)) as usize;
    let reps_k = (shape[1] / 16) as usize;
    let reps_n = 2 * reps_k; // Accumulator n-blocks are 8 wide.
    let mut plan = Vec::with_capacity(reps_m * reps_k * 8);
    for rm in 0..reps_m {
        for rk in 0..reps_k {
            for i in 0..8 {
                plan.push((rm * reps_n + 2 * rk + i / 4) * 4 + i % 4);
            }
        }
    }
    Some(plan)
}

/// The coordinate of the matrix row whose address thread `tid` hands to the `ldmatrix` of
/// block `block`.
pub fn ldmatrix_row<A: IndexArith>(
    ia: &mut A,
    plan: &LdmatrixPlan,
    map: &ThreadMap,
    tid: A::V,
    block: usize,
) -> Vec<A::V> {
    // The block's origin as warp lane 0 sees it.
    let warp = ia.div(tid, 32);
    let warp_tid = ia.mul(warp, 32);
    let base = map.thread_base(ia, warp_tid);
    let mut origin: Vec<A::V> = (0..2)
        .map(|d| ia.add_const(base[d], map.regs[block * plan.regs_per_block][d]))
        .collect();
    // Lane l addresses matrix (l / 8) % matrices, row l % 8.
    let lane = ia.rem(tid, 32);
    let matrix = ia.div(lane, 8);
    for (bit, step) in plan.matrix_steps.iter().enumerate() {
        let b = ia.shr(matrix, bit as u32);
        let b = ia.and(b, 1);
        for d in 0..2 {
            if step[d] != 0 {
                let t = ia.mul(b, step[d]);
                origin[d] = ia.add(origin[d], t);
            }
        }
    }
    let row = ia.rem(lane, 8);
    let k_dim = if plan.op_idx == 0 { 1 } else { 0 };
    let row_dim = if plan.trans { k_dim } else { 1 - k_dim };
    origin[row_dim] = ia.add(origin[row_dim], row);
    (0..2).map(|d| ia.rem(origin[d], map.shape[d])).collect()
}

/// Where block `block`'s `ldmatrix` address is relative to an earlier block's: `(rep,
/// elements)` such that, in every thread, the element offset of `block`'s row is that of
/// `rep`'s plus `elements`. Blocks whose origins differ by whole swizzle periods share one
/// base address (`rep`, computed once) plus a constant that ptxas folds into the load, so a
/// loop keeps a few base addresses live instead of one per block.
pub fn ldmatrix_base(
    plan: &LdmatrixPlan,
    map: &ThreadMap,
    sl: &SharedLayout,
    shape: &[u32],
    block: usize,
) -> (usize, u32) {
    let (fast, slow) = (sl.order[0] as usize, sl.order[1] as usize);
    let (row_period, col_period) = if sl.max_phase > 1 {
        (sl.per_phase * sl.max_phase, sl.vec * sl.max_phase)
    } else {
        (1, 1)
    };
    let origin = |b: usize| &map.regs[b * plan.regs_per_block];
    let o = origin(block);
    for rep in 0..block {
        let r = origin(rep);
        if o[0] < r[0] || o[1] < r[1] {
            continue;
        }
        let (dr, dc) = (o[slow] - r[slow], o[fast] - r[fast]);
        if dr % row_period == 0 && dc % col_period == 0 {
            return (rep, dr * shape[fast] + dc);
        }
    }
    (block, 0)
}

/// A dot operand left in shared memory, loaded by `ldmatrix` one block at a time where
/// `dot` needs it (so only one k-step of it occupies registers).
#[derive(Clone, Debug)]
pub struct SharedOperand {
    pub shared: SharedLayout,
    pub shape: Vec<u32>,
    pub byte_offset: u32,
    pub dtype: DType,
    pub plan: LdmatrixPlan,
    pub map: ThreadMap,
}

impl<'ctx> Cg<'_, 'ctx> {
    /// Loads block `block` of a dot operand from shared memory: its `regs_per_block`
    /// registers.
    pub fn ldmatrix_block(
        &self,
        op: &SharedOperand,
        block: usize,
        bases: &mut HashMap<usize, PointerValue<'ctx>>,
    ) -> Result<Vec<BasicValueEnum<'ctx>>, CodegenError> {
        let plan = &op.plan;
        let i32t = self.ctx.i32_type();
        let name = format!(
            "llvm.nvvm.ldmatrix.sync.aligned.m8n8.x{}{}.b16.p3",
            plan.matrices,
            if plan.trans { ".trans" } else { "" }
        );
        let fields: Vec<BasicTypeEnum> = (0..plan.matrices).map(|_| i32t.into()).collect();
        let ret: BasicTypeEnum = self.ctx.struct_type(&fields, false).into();
        let shared_ptr = self
            .ctx
            .ptr_type(inkwell::AddressSpace::from(super::signature::SHARED));
        let f = self.intrinsic(&name, Some(ret), &[shared_ptr.into()]);
        let pair_ty = super::values::llvm_type(self.ctx, op.dtype)
            .into_float_type()
            .vec_type(2);
        let (rep, elements) = ldmatrix_base(plan, &op.map, &op.shared, &op.shape, block);
        let base = match bases.get(&rep) {
            Some(&p) => p,
            None => {
                let mut ia = self.index();
                let row = ldmatrix_row(&mut ia, plan, &op.map, self.tid, rep);
                let elem = shared_layout::offset(&mut ia, &op.shared, &op.shape, &row);
                let p = self.shared_elem_ptr(op.byte_offset, elem, op.dtype)?;
                bases.insert(rep, p);
                p
            }
        };
        let bytes = i32t.const_int((elements * op.dtype.size_bytes()) as u64, false);
        // SAFETY: inside the operand's buffer, which the shared-memory plan reserved.
        let ptr = unsafe { self.b.build_gep(self.ctx.i8_type(), base, &[bytes], "")? };
        let out = self
            .call(f, &[ptr.into()])
            .expect("ldmatrix returns registers");
        let mut regs = Vec::with_capacity(plan.regs_per_block);
        for j in 0..plan.matrices {
            let word = self.b.build_extract_value(out.into_struct_value(), j, "")?;
            let pair = self
                .b
                .build_bit_cast(word, pair_ty, "")?
                .into_vector_value();
            for i in 0..2u64 {
                regs.push(
                    self.b
                        .build_extract_element(pair, i32t.const_int(i, false), "")?,
                );
            }
        }
        Ok(regs)
    }

    /// The registers of block `block` (of `per_block` registers) of dot operand `v`.
    fn operand_block(
        &self,
        v: Value,
        block: usize,
        per_block: usize,
        bases: &mut HashMap<usize, PointerValue<'ctx>>,
    ) -> Result<Vec<BasicValueEnum<'ctx>>, CodegenError> {
        match self.get(v)? {
            Lowered::SharedOperand(op) => self.ldmatrix_block(op, block, bases),
            Lowered::Tile(regs) => Ok(regs[block * per_block..(block + 1) * per_block].to_vec()),
            _ => Err(CodegenError::Internal(
                "dot operand is neither registers nor in shared memory".into(),
            )),
        }
    }

    /// `dot(a, b, acc)` with `mma.sync.m16n8k16` per (m, n, k) block.
    pub fn lower_dot(
        &mut self,
        [a, b, acc]: [Value; 3],
        result: Value,
    ) -> Result<(), CodegenError> {
        let at = self.tile_type(a)?;
        let rt = self.tile_type(result)?;
        let Some(Layout::Mma(mma)) = &rt.layout else {
            return Err(CodegenError::Internal(
                "dot result without an mma layout".into(),
            ));
        };
        let (wm, wn) = (mma.warps_per_cta[0], mma.warps_per_cta[1]);
        let (m, n, k) = (rt.shape[0], rt.shape[1], at.shape[1]);
        let reps_m = (m / (16 * wm)).max(1) as usize;
        let reps_n = (n / (8 * wn)).max(1) as usize;
        let reps_k = (k / 16) as usize;
        let cr = self.regs(acc)?;
        if cr.len() != reps_m * reps_n * 4 {
            return Err(CodegenError::Internal(format!(
                "dot [{m}x{k}] x [{k}x{n}] with warps {wm}x{wn}: {} accumulator registers",
                cr.len()
            )));
        }
        let f32t = self.ctx.f32_type();
        let i32t = self.ctx.i32_type();
        let (name, word_ty): (&str, BasicTypeEnum) = match at.dtype {
            DType::F16 => (
                "llvm.nvvm.mma.m16n8k16.row.col.f32.f32",
                self.ctx.f16_type().vec_type(2).into(),
            ),
            DType::BF16 => ("llvm.nvvm.mma.m16n8k16.row.col.bf16", i32t.into()),
            d => return Err(CodegenError::Internal(format!("dot of {d}"))),
        };
        let mut params = vec![word_ty; 6];
        params.extend([BasicTypeEnum::from(f32t); 4]);
        let ret = self.ctx.struct_type(&[f32t.into(); 4], false);
        let f = self.intrinsic(name, Some(ret.into()), &params);
        let elem_pair = super::values::llvm_type(self.ctx, at.dtype)
            .into_float_type()
            .vec_type(2);
        let pack = |cg: &Self,
                    x: BasicValueEnum<'ctx>,
                    y: BasicValueEnum<'ctx>|
         -> Result<BasicValueEnum<'ctx>, CodegenError> {
            let mut v = elem_pair.get_undef();
            v = cg.b.build_insert_element(v, x, i32t.const_zero(), "")?;
            v =
                cg.b.build_insert_element(v, y, i32t.const_int(1, false), "")?;
            Ok(cg.b.build_bit_cast(v, word_ty, "")?)
        };
        let mut out = cr;
        // Base addresses of the operands' ldmatrix rows, made on first use.
        let (mut a_bases, mut b_bases) = (HashMap::new(), HashMap::new());
        // k outermost: one k-step of B and one block of A are in registers at a time.
        for rk in 0..reps_k {
            let mut b_words = Vec::with_capacity(reps_n);
            for rn in 0..reps_n {
                let regs = self.operand_block(b, rn * reps_k + rk, 4, &mut b_bases)?;
                b_words.push([pack(self, regs[0], regs[1])?, pack(self, regs[2], regs[3])?]);
            }
            for rm in 0..reps_m {
                let regs = self.operand_block(a, rm * reps_k + rk, 8, &mut a_bases)?;
                let a_words = (0..4)
                    .map(|i| pack(self, regs[2 * i], regs[2 * i + 1]))
                    .collect::<Result<Vec<_>, _>>()?;
                for (rn, bw) in b_words.iter().enumerate() {
                    let c0 = (rm * reps_n + rn) * 4;
                    let mut args = a_words.clone();
                    args.extend_from_slice(bw);
                    args.extend_from_slice(&out[c0..c0 + 4]);
                    let d = self.call(f, &args).expect("mma returns the accumulator");
                    for i in 0..4 {
                        out[c0 + i] =
                            self.b
                                .build_extract_value(d.into_struct_value(), i as u32, "")?;
                    }
                }
            }
        }
        self.set(result, Lowered::Tile(out));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codegen::index::Concrete;
    use crate::codegen::shared_layout::mma_swizzle;

    fn operand(op_idx: u8, wm: u32, wn: u32) -> Layout {
        Layout::DotOperand {
            op_idx,
            parent: Box::new(Layout::Mma(MmaLayout {
                version: 2,
                warps_per_cta: vec![wm, wn],
            })),
            k_width: 2,
        }
    }

    /// Simulates `ldmatrix` as the PTX ISA describes it, on logical coordinates: for each
    /// thread, the elements it receives, in register order.
    fn simulate(plan: &LdmatrixPlan, map: &ThreadMap, num_warps: u32) -> Vec<Vec<Vec<u32>>> {
        let k_dim = if plan.op_idx == 0 { 1 } else { 0 };
        let fast = if plan.trans { 1 - k_dim } else { k_dim };
        let blocks = map.regs.len() / plan.regs_per_block;
        let mut out = vec![Vec::new(); (32 * num_warps) as usize];
        for warp in 0..num_warps {
            for block in 0..blocks {
                // The row each lane hands over.
                let rows: Vec<Vec<u32>> = (0..32)
                    .map(|lane| ldmatrix_row(&mut Concrete, plan, map, warp * 32 + lane, block))
                    .collect();
                for lane in 0..32u32 {
                    for j in 0..plan.matrices {
                        for i in 0..2u32 {
                            let (row_lane, pos) = if plan.trans {
                                // .trans: element (row 2(l%4)+i, col l/4) of the stored matrix.
                                (8 * j + 2 * (lane % 4) + i, lane / 4)
                            } else {
                                // Row l/4, elements 2(l%4), 2(l%4)+1.
                                (8 * j + lane / 4, 2 * (lane % 4) + i)
                            };
                            let mut e = rows[row_lane as usize].clone();
                            e[fast] += pos;
                            out[(warp * 32 + lane) as usize].push(e);
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn ldmatrix_delivers_the_dot_operand_fragments() {
        let cases = [
            (0u8, [64u32, 64u32], vec![1u32, 0], 4u32, (4u32, 1u32)), // A, k-contiguous
            (0, [128, 32], vec![0, 1], 4, (4, 1)),                    // A, m-contiguous (.trans)
            (1, [64, 64], vec![0, 1], 4, (4, 1)),                     // B = K^T, k-contiguous
            (1, [64, 64], vec![1, 0], 4, (4, 1)), // B = V, n-contiguous (.trans)
            (0, [64, 32], vec![1, 0], 4, (2, 2)),
            (1, [32, 64], vec![1, 0], 8, (2, 4)),
        ];
        for (op_idx, shape, order, warps, (wm, wn)) in cases {
            let layout = operand(op_idx, wm, wn);
            let map = ThreadMap::new(&layout, &shape, warps).unwrap();
            let sl = mma_swizzle(shape[order[0] as usize], 2, order.clone());
            let plan = ldmatrix_plan(&sl, &shape, DType::F16, &layout, &map)
                .unwrap_or_else(|| panic!("ldmatrix applies to op {op_idx} {shape:?} {order:?}"));
            assert_eq!(plan.trans, order[0] != if op_idx == 0 { 1 } else { 0 });
            let got = simulate(&plan, &map, warps);
            // Shared base addresses plus constants give every block's own address.
            for block in 0..map.regs.len() / plan.regs_per_block {
                let (rep, elements) = ldmatrix_base(&plan, &map, &sl, &shape, block);
                for t in 0..32 * warps {
                    let at = |b| {
                        let row = ldmatrix_row(&mut Concrete, &plan, &map, t, b);
                        shared_layout::offset(&mut Concrete, &sl, &shape, &row)
                    };
                    assert_eq!(at(block), at(rep) + elements, "block {block} from {rep}");
                }
            }
            for t in 0..32 * warps {
                let want: Vec<Vec<u32>> = (0..map.regs.len()).map(|r| map.element(t, r)).collect();
                assert_eq!(
                    got[t as usize], want,
                    "op {op_idx} {shape:?} {order:?} thread {t}"
                );
            }
        }
    }

    fn mma(wm: u32, wn: u32) -> MmaLayout {
        MmaLayout {
            version: 2,
            warps_per_cta: vec![wm, wn],
        }
    }

    /// Brute force over every thread: the renaming gives each thread, in each 32-bit word
    /// `lower_dot` packs (registers `2w`, `2w + 1`, low half first), exactly the A elements
    /// the PTX ISA's m16n8k16 fragment table assigns to that word; and the accumulator
    /// elements it reads from are where that table puts the C/D fragment. Both tables are
    /// written out here from the ISA, independently of `thread_map.rs`.
    #[test]
    fn accumulators_rename_into_operand_a_fragments() {
        let cases = [
            (1u32, [16u32, 16u32]),
            (1, [32, 64]),
            (2, [32, 16]),
            (4, [64, 64]),
            (4, [128, 64]),
            (4, [64, 32]),
            (4, [128, 128]),
            (8, [128, 64]),
            (8, [256, 32]),
        ];
        for (warps, shape) in cases {
            let acc = mma(warps, 1);
            let operand = operand(0, warps, 1);
            let what = format!("{warps} warps, {shape:?}");
            let plan = accumulator_as_operand_a(&acc, &operand, &shape, warps)
                .unwrap_or_else(|| panic!("{what}: a renaming"));
            let acc_map = ThreadMap::new(&Layout::Mma(acc.clone()), &shape, warps).unwrap();
            let a_map = ThreadMap::new(&operand, &shape, warps).unwrap();
            assert_eq!(plan.len(), a_map.regs.len(), "{what}");
            let (reps_m, reps_k) = (shape[0] / (16 * warps), shape[1] / 16);
            let reps_n = shape[1] / 8;
            for tid in 0..32 * warps {
                let (warp, lane) = (tid / 32, tid % 32);
                let (g, t) = (lane / 4, lane % 4);
                // C/D (f32): c_i at row g (+8 for i >= 2), column 2t + (i & 1) of the 16x8
                // block (rm, rn); warp w holds rows 16 w of every 16 * warps.
                for rm in 0..reps_m {
                    for rn in 0..reps_n {
                        for i in 0..4 {
                            let r = ((rm * reps_n + rn) * 4 + i) as usize;
                            let want = vec![
                                rm * 16 * warps + 16 * warp + g + 8 * (i / 2),
                                rn * 8 + 2 * t + (i & 1),
                            ];
                            assert_eq!(acc_map.element(tid, r), want, "{what} acc {tid} {r}");
                        }
                    }
                }
                // A (f16x2 words): word w holds row g (+8 for odd w), columns 2t, 2t + 1
                // (+8 for w >= 2) of the 16x16 block (rm, rk).
                for rm in 0..reps_m {
                    for rk in 0..reps_k {
                        for w in 0..4 {
                            for half in 0..2 {
                                let r = ((rm * reps_k + rk) * 8 + 2 * w + half) as usize;
                                let want = vec![
                                    rm * 16 * warps + 16 * warp + g + 8 * (w % 2),
                                    rk * 16 + 2 * t + half + 8 * (w / 2),
                                ];
                                assert_eq!(
                                    acc_map.element(tid, plan[r]),
                                    want,
                                    "{what} thread {tid} A word {w} half {half}"
                                );
                                assert_eq!(a_map.element(tid, r), want, "{what} A map");
                            }
                        }
                    }
                }
            }
            // The closed form is the renaming the generic search finds.
            assert_eq!(
                acc_map.gather_plan(&a_map, |c| c.to_vec()),
                Some(plan),
                "{what}"
            );
        }
    }

    #[test]
    fn accumulators_needing_memory_are_not_renamed() {
        let shape = [64u32, 64u32];
        // Warps split n: a warp holds only some columns (k) of each row it needs.
        assert_eq!(
            accumulator_as_operand_a(&mma(2, 2), &operand(0, 2, 2), &shape, 4),
            None
        );
        let a = ThreadMap::new(&operand(0, 2, 2), &shape, 4).unwrap();
        let c = ThreadMap::new(&Layout::Mma(mma(2, 2)), &shape, 4).unwrap();
        assert_eq!(c.gather_plan(&a, |x| x.to_vec()), None);
        // A different parent, operand B, a k of 8, too few rows for the warps.
        assert_eq!(
            accumulator_as_operand_a(&mma(4, 1), &operand(0, 2, 2), &shape, 4),
            None
        );
        assert_eq!(
            accumulator_as_operand_a(&mma(4, 1), &operand(1, 4, 1), &shape, 4),
            None
        );
        assert_eq!(
            accumulator_as_operand_a(&mma(4, 1), &operand(0, 4, 1), &[64, 8], 4),
            None
        );
        assert_eq!(
            accumulator_as_operand_a(&mma(8, 1), &operand(0, 8, 1), &[64, 64], 8),
            None
        );
    }
}
