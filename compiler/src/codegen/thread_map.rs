//! Which thread holds which element: the function a distributed layout stands for.
//!
//! Every distributed layout of `crate::ir::layout` (blocked, mma, dot operand, slice) is,
//! for a given tile shape and number of warps, a [`ThreadMap`]:
//!
//! ```text
//! coord(thread, r)[d] = ( Σ_b bit_b(thread) · thread_bases[b][d]  +  regs[r][d] )  mod shape[d]
//! ```
//!
//! where `thread = 32 · warp + lane`, bits 0..5 of the thread id are the lane and the bits
//! above are the warp. Each thread keeps `regs.len()` elements in registers, register `r`
//! holding `coord(thread, r)`. Because every extent is a power of two the sum never needs
//! carries between a layout's bit groups, and `mod` is a mask; a layout that covers more
//! than the tile wraps around, so several threads (or registers) hold the same element.
//! Registers are deduplicated: two registers of one thread never hold the same element.
//!
//! Register order is part of the contract with code generation:
//! * blocked: the `size_per_thread` elements (fastest dim first) of repetition 0, then of
//!   repetition 1, ... (repetitions also fastest dim first);
//! * mma v2 accumulator `[M, N]`: per (rep_m, rep_n), the 4 floats `c0..c3` of
//!   `mma.m16n8k16` (row `g` or `g + 8`, column `2t + (i & 1)`, `g = lane / 4`, `t = lane % 4`);
//! * dot operand A `[M, K]`: per (rep_m, rep_k), the 8 halves `a0..a7`; operand B `[K, N]`:
//!   per (rep_n, rep_k), the 4 halves `b0..b3`, in the PTX ISA's fragment order;
//! * slice: the parent's registers with the sliced dim dropped, first occurrence kept.
//!
//! In mma layouts warp `w` sits at `(w % wpc[0], w / wpc[0])` of the warp grid.

use super::index::IndexArith;
use crate::ir::layout::{BlockedLayout, Layout, MmaLayout};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadMap {
    pub shape: Vec<u32>,
    pub num_warps: u32,
    /// The contribution of thread-id bit `b` to each coordinate (lane bits 0..5, then warps).
    pub thread_bases: Vec<Vec<u32>>,
    /// The (unreduced) offset of each register.
    pub regs: Vec<Vec<u32>>,
}

pub const WARP_SIZE: u32 = 32;

fn log2(x: u32) -> usize {
    x.trailing_zeros() as usize
}

impl ThreadMap {
    /// The map of `layout` on a tile of `shape`, or why the layout does not fit the tile.
    pub fn new(layout: &Layout, shape: &[u32], num_warps: u32) -> Result<ThreadMap, String> {
        if !num_warps.is_power_of_two() {
            return Err(format!("num_warps = {num_warps} is not a power of two"));
        }
        if let Some(d) = shape.iter().find(|d| !d.is_power_of_two()) {
            return Err(format!("tile extent {d} is not a power of two"));
        }
        let mut map = match layout {
            Layout::Blocked(b) => blocked(b, shape, num_warps)?,
            Layout::Mma(m) => mma_accumulator(m, shape, num_warps)?,
            Layout::DotOperand {
                op_idx,
                parent,
                k_width,
            } => {
                let Layout::Mma(m) = parent.as_ref() else {
                    return Err(format!("dot operand of a non-mma parent {parent}"));
                };
                if *k_width != 2 {
                    return Err(format!(
                        "dot operand with k_width {k_width}: only 2 (16-bit) is supported"
                    ));
                }
                dot_operand(*op_idx, m, shape, num_warps)?
            }
            Layout::Slice { dim, parent } => {
                let dim = *dim as usize;
                if dim > shape.len() {
                    return Err(format!(
                        "slice dim {dim} out of range for rank {}",
                        shape.len()
                    ));
                }
                let mut parent_shape = shape.to_vec();
                parent_shape.insert(dim, 1);
                let p = ThreadMap::new(parent, &parent_shape, num_warps)?;
                let drop = |v: &Vec<u32>| {
                    let mut v = v.clone();
                    v.remove(dim);
                    v
                };
                ThreadMap {
                    shape: shape.to_vec(),
                    num_warps,
                    thread_bases: p.thread_bases.iter().map(drop).collect(),
                    regs: p.regs.iter().map(drop).collect(),
                }
            }
            Layout::Shared(_) => {
                return Err("a shared layout is not distributed over threads".into())
            }
        };
        map.reduce_and_dedup();
        Ok(map)
    }

    fn reduce_and_dedup(&mut self) {
        let shape = self.shape.clone();
        let modulo = |v: &mut Vec<u32>| {
            for (x, s) in v.iter_mut().zip(&shape) {
                *x &= s - 1;
            }
        };
        self.thread_bases.iter_mut().for_each(modulo);
        let mut seen = std::collections::HashSet::new();
        let mut regs = Vec::new();
        for mut r in std::mem::take(&mut self.regs) {
            modulo(&mut r);
            if seen.insert(r.clone()) {
                regs.push(r);
            }
        }
        self.regs = regs;
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    pub fn num_threads(&self) -> u32 {
        self.num_warps * WARP_SIZE
    }

    /// The coordinates thread `thread`'s register `reg` holds, evaluated with `ia`: the one
    /// formula both code generation and the tests use.
    pub fn coords<A: IndexArith>(&self, ia: &mut A, base: &[A::V], reg: usize) -> Vec<A::V> {
        (0..self.rank())
            .map(|d| {
                let v = ia.add_const(base[d], self.regs[reg][d]);
                ia.rem(v, self.shape[d])
            })
            .collect()
    }

    /// The per-thread part of the coordinates (before adding a register's offset).
    pub fn thread_base<A: IndexArith>(&self, ia: &mut A, thread: A::V) -> Vec<A::V> {
        (0..self.rank())
            .map(|d| {
                let mut acc = ia.konst(0);
                for (b, basis) in self.thread_bases.iter().enumerate() {
                    if basis[d] != 0 {
                        let bit = ia.shr(thread, b as u32);
                        let bit = ia.and(bit, 1);
                        let term = ia.mul(bit, basis[d]);
                        acc = ia.add(acc, term);
                    }
                }
                acc
            })
            .collect()
    }

    /// The element `(thread, reg)` holds, computed directly (for planning and tests).
    pub fn element(&self, thread: u32, reg: usize) -> Vec<u32> {
        let mut ia = super::index::Concrete;
        let base = self.thread_base(&mut ia, thread);
        self.coords(&mut ia, &base, reg)
    }

    /// Row-major linear index of `coord` in this map's tile.
    pub fn linear(&self, coord: &[u32]) -> u32 {
        coord
            .iter()
            .zip(&self.shape)
            .fold(0, |acc, (&c, &s)| acc * s + c)
    }

    /// The largest run length `v` (a power of two, at most `max_len`) such that registers
    /// come in groups `[k·v, k·v + v)` holding `v` consecutive elements along `dim` whose
    /// first coordinate along `dim` is a multiple of `v`, for every thread. Code generation
    /// turns each group into one vector memory access.
    pub fn vector_width(&self, dim: usize, max_len: u32) -> u32 {
        let mut v = max_len.min(self.shape[dim]).max(1);
        while v > 1 {
            if self.regs.len() % v as usize == 0 && self.groups_contiguous(dim, v) {
                return v;
            }
            v /= 2;
        }
        1
    }

    fn groups_contiguous(&self, dim: usize, v: u32) -> bool {
        (0..self.num_threads()).all(|t| {
            self.regs.chunks(v as usize).enumerate().all(|(k, _)| {
                let first = self.element(t, k * v as usize);
                first[dim] % v == 0
                    && (1..v as usize).all(|i| {
                        let mut expected = first.clone();
                        expected[dim] += i as u32;
                        self.element(t, k * v as usize + i) == expected
                    })
            })
        })
    }

    /// For every register of `dst`, the register of `self` holding the element `f(dst
    /// element)` in the same thread, if one register index works for every thread: then a
    /// data movement from `self` to `dst` is a register renaming.
    pub fn gather_plan(
        &self,
        dst: &ThreadMap,
        f: impl Fn(&[u32]) -> Vec<u32>,
    ) -> Option<Vec<usize>> {
        if self.num_warps != dst.num_warps {
            return None;
        }
        let mut index = std::collections::HashMap::new();
        let mut plan = Vec::with_capacity(dst.regs.len());
        for t in 0..dst.num_threads() {
            index.clear();
            for r in 0..self.regs.len() {
                index.entry(self.element(t, r)).or_insert(r);
            }
            for r in 0..dst.regs.len() {
                let want = f(&dst.element(t, r));
                let src = *index.get(&want)?;
                if t == 0 {
                    plan.push(src);
                } else if plan[r] != src {
                    return None;
                }
            }
        }
        Some(plan)
    }
}

fn check_product(what: &str, xs: &[u32], want: u32) -> Result<(), String> {
    let p: u32 = xs.iter().product();
    if p != want || xs.iter().any(|x| !x.is_power_of_two()) {
        return Err(format!(
            "{what} {xs:?} must be powers of two multiplying to {want}"
        ));
    }
    Ok(())
}

fn blocked(b: &BlockedLayout, shape: &[u32], num_warps: u32) -> Result<ThreadMap, String> {
    let rank = shape.len();
    let fields = [
        &b.size_per_thread,
        &b.threads_per_warp,
        &b.warps_per_cta,
        &b.order,
    ];
    if fields.iter().any(|f| f.len() != rank) {
        return Err(format!(
            "blocked layout of rank {} on a tile of rank {rank}",
            b.order.len()
        ));
    }
    let mut order_sorted = b.order.clone();
    order_sorted.sort();
    if order_sorted != (0..rank as u32).collect::<Vec<_>>() {
        return Err(format!("blocked order {:?} is not a permutation", b.order));
    }
    check_product("threads_per_warp", &b.threads_per_warp, WARP_SIZE)?;
    check_product("warps_per_cta", &b.warps_per_cta, num_warps)?;
    if b.size_per_thread.iter().any(|x| !x.is_power_of_two()) {
        return Err(format!(
            "size_per_thread {:?} must be powers of two",
            b.size_per_thread
        ));
    }
    let unit = |d: usize, v: u32| {
        let mut e = vec![0; rank];
        e[d] = v;
        e
    };
    let mut thread_bases = Vec::new();
    // Lane bits, then warp bits, each split over dims fastest-first.
    for (count, stride) in [
        (&b.threads_per_warp, vec![1; rank]),
        (&b.warps_per_cta, b.threads_per_warp.clone()),
    ] {
        for &d in &b.order {
            let d = d as usize;
            for k in 0..log2(count[d]) {
                thread_bases.push(unit(d, (1 << k) * b.size_per_thread[d] * stride[d]));
            }
        }
    }
    let cta: Vec<u32> = (0..rank)
        .map(|d| b.size_per_thread[d] * b.threads_per_warp[d] * b.warps_per_cta[d])
        .collect();
    let reps: Vec<u32> = (0..rank).map(|d| (shape[d] / cta[d]).max(1)).collect();
    let mut regs = Vec::new();
    for rep in multi_index(&reps, &b.order) {
        for elem in multi_index(&b.size_per_thread, &b.order) {
            regs.push((0..rank).map(|d| rep[d] * cta[d] + elem[d]).collect());
        }
    }
    Ok(ThreadMap {
        shape: shape.to_vec(),
        num_warps,
        thread_bases,
        regs,
    })
}

/// All multi-indices below `extent`, with `order[0]` varying fastest.
fn multi_index(extent: &[u32], order: &[u32]) -> Vec<Vec<u32>> {
    let total: u32 = extent.iter().product();
    (0..total)
        .map(|mut i| {
            let mut idx = vec![0; extent.len()];
            for &d in order {
                let d = d as usize;
                idx[d] = i % extent[d];
                i /= extent[d];
            }
            idx
        })
        .collect()
}

fn mma_warps(m: &MmaLayout, num_warps: u32) -> Result<(u32, u32), String> {
    if m.version != 2 {
        return Err(format!(
            "mma v{} is not supported (only v2, mma.sync)",
            m.version
        ));
    }
    if m.warps_per_cta.len() != 2 {
        return Err("mma warps_per_cta must have 2 entries".into());
    }
    check_product("mma warps_per_cta", &m.warps_per_cta, num_warps)?;
    Ok((m.warps_per_cta[0], m.warps_per_cta[1]))
}

/// Thread bases shared by the mma accumulator and operands: lane bits 0, 1 step the
/// "thread in group" `t`, bits 2..5 the group `g`; warp bits step warps along m, then n.
fn mma_bases(
    t_dim: usize,
    t_step: u32,
    g_dim: Option<usize>,
    warp_m: Option<usize>,
    warp_n: Option<usize>,
    wm: u32,
    wn: u32,
) -> Vec<Vec<u32>> {
    let unit = |d: Option<usize>, v: u32| {
        let mut e = vec![0, 0];
        if let Some(d) = d {
            e[d] = v;
        }
        e
    };
    let mut bases = vec![unit(Some(t_dim), t_step), unit(Some(t_dim), 2 * t_step)];
    for k in 0..3 {
        bases.push(unit(g_dim, 1 << k));
    }
    for k in 0..log2(wm) {
        bases.push(unit(warp_m, 16 << k));
    }
    for k in 0..log2(wn) {
        bases.push(unit(warp_n, 8 << k));
    }
    bases
}

fn mma_accumulator(m: &MmaLayout, shape: &[u32], num_warps: u32) -> Result<ThreadMap, String> {
    let (wm, wn) = mma_warps(m, num_warps)?;
    if shape.len() != 2 {
        return Err("an mma layout needs a rank-2 tile".into());
    }
    let reps_m = (shape[0] / (16 * wm)).max(1);
    let reps_n = (shape[1] / (8 * wn)).max(1);
    let mut regs = Vec::new();
    for rm in 0..reps_m {
        for rn in 0..reps_n {
            for i in 0..4 {
                regs.push(vec![rm * 16 * wm + 8 * (i / 2), rn * 8 * wn + (i % 2)]);
            }
        }
    }
    Ok(ThreadMap {
        shape: shape.to_vec(),
        num_warps,
        thread_bases: mma_bases(1, 2, Some(0), Some(0), Some(1), wm, wn),
        regs,
    })
}

fn dot_operand(
    op_idx: u8,
    m: &MmaLayout,
    shape: &[u32],
    num_warps: u32,
) -> Result<ThreadMap, String> {
    let (wm, wn) = mma_warps(m, num_warps)?;
    if shape.len() != 2 {
        return Err("a dot operand layout needs a rank-2 tile".into());
    }
    let mut regs = Vec::new();
    let thread_bases = match op_idx {
        0 => {
            let (reps_m, reps_k) = ((shape[0] / (16 * wm)).max(1), (shape[1] / 16).max(1));
            for rm in 0..reps_m {
                for rk in 0..reps_k {
                    for i in 0..8 {
                        regs.push(vec![
                            rm * 16 * wm + 8 * ((i / 2) % 2),
                            rk * 16 + (i % 2) + 8 * (i / 4),
                        ]);
                    }
                }
            }
            // A is replicated across the warps that split n.
            mma_bases(1, 2, Some(0), Some(0), None, wm, wn)
        }
        1 => {
            let (reps_k, reps_n) = ((shape[0] / 16).max(1), (shape[1] / (8 * wn)).max(1));
            for rn in 0..reps_n {
                for rk in 0..reps_k {
                    for i in 0..4 {
                        regs.push(vec![rk * 16 + (i % 2) + 8 * (i / 2), rn * 8 * wn]);
                    }
                }
            }
            // B is replicated across the warps that split m.
            mma_bases(0, 2, Some(1), None, Some(1), wm, wn)
        }
        _ => return Err(format!("dot operand index {op_idx} (must be 0 or 1)")),
    };
    Ok(ThreadMap {
        shape: shape.to_vec(),
        num_warps,
        thread_bases,
        regs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::layout::BlockedLayout;

    fn blocked_layout(spt: &[u32], tpw: &[u32], wpc: &[u32], order: &[u32]) -> Layout {
        Layout::Blocked(BlockedLayout {
            size_per_thread: spt.to_vec(),
            threads_per_warp: tpw.to_vec(),
            warps_per_cta: wpc.to_vec(),
            order: order.to_vec(),
        })
    }

    fn mma(wm: u32, wn: u32) -> Layout {
        Layout::Mma(MmaLayout {
            version: 2,
            warps_per_cta: vec![wm, wn],
        })
    }

    /// How many (thread, register) pairs hold each element, by brute force.
    fn ownership(map: &ThreadMap) -> std::collections::HashMap<Vec<u32>, u32> {
        let mut count = std::collections::HashMap::new();
        for t in 0..map.num_threads() {
            for r in 0..map.regs.len() {
                let e = map.element(t, r);
                assert!(e.iter().zip(&map.shape).all(|(c, s)| c < s));
                *count.entry(e).or_insert(0) += 1;
            }
        }
        count
    }

    fn assert_each_owned(map: &ThreadMap, times: u32) {
        let own = ownership(map);
        let total: u64 = map.shape.iter().map(|&s| s as u64).product();
        assert_eq!(own.len() as u64, total, "every element is held");
        assert!(
            own.values().all(|&c| c == times),
            "each element held {times} times: {own:?}"
        );
    }

    #[test]
    fn blocked_covers_exactly_once_when_the_tile_fits() {
        let l = blocked_layout(&[1, 4], &[4, 8], &[4, 1], &[1, 0]);
        for shape in [[16, 32], [64, 32], [16, 64], [128, 128]] {
            assert_each_owned(&ThreadMap::new(&l, &shape, 4).unwrap(), 1);
        }
        let col_major = blocked_layout(&[4, 1], &[8, 4], &[1, 2], &[0, 1]);
        assert_each_owned(&ThreadMap::new(&col_major, &[64, 16], 2).unwrap(), 1);
    }

    #[test]
    fn blocked_wraps_small_tiles() {
        // 4 warps x 32 threads x 4 = 512 positions over 64 elements: each held 8 times.
        let l = blocked_layout(&[4], &[32], &[4], &[0]);
        assert_each_owned(&ThreadMap::new(&l, &[64], 4).unwrap(), 8);
    }

    #[test]
    fn blocked_registers_are_contiguous_along_the_fast_dim() {
        let l = blocked_layout(&[1, 8], &[8, 4], &[4, 1], &[1, 0]);
        let map = ThreadMap::new(&l, &[64, 64], 4).unwrap();
        assert_eq!(map.vector_width(1, 8), 8);
        assert_eq!(map.element(0, 0), vec![0, 0]);
        assert_eq!(map.element(1, 0), vec![0, 8]);
        assert_eq!(map.element(4, 0), vec![1, 0]);
        assert_eq!(map.element(32, 0), vec![8, 0]);
        // The 32x32 pattern repeats along dim 1 first (the fast dim), then along dim 0.
        assert_eq!(map.element(0, 8), vec![0, 32]);
        assert_eq!(map.element(0, 16), vec![32, 0]);
    }

    #[test]
    fn mma_accumulator_matches_the_ptx_fragment_layout() {
        // PTX ISA, mma.m16n8k16 C/D (f32): row = groupID (+8 for c2, c3),
        // col = threadID_in_group * 2 + (i & 1).
        let map = ThreadMap::new(&mma(1, 1), &[16, 8], 1).unwrap();
        assert_eq!(map.regs.len(), 4);
        for lane in 0..32 {
            let (g, t) = (lane / 4, lane % 4);
            for i in 0..4u32 {
                let row = if i < 2 { g } else { g + 8 };
                assert_eq!(map.element(lane, i as usize), vec![row, 2 * t + (i & 1)]);
            }
        }
        assert_each_owned(&map, 1);
        assert_each_owned(&ThreadMap::new(&mma(4, 2), &[128, 64], 8).unwrap(), 1);
        assert_each_owned(&ThreadMap::new(&mma(4, 1), &[64, 64], 4).unwrap(), 1);
    }

    #[test]
    fn dot_operands_match_the_ptx_fragment_layout() {
        let a = Layout::DotOperand {
            op_idx: 0,
            parent: Box::new(mma(1, 1)),
            k_width: 2,
        };
        let b = Layout::DotOperand {
            op_idx: 1,
            parent: Box::new(mma(1, 1)),
            k_width: 2,
        };
        let amap = ThreadMap::new(&a, &[16, 16], 1).unwrap();
        let bmap = ThreadMap::new(&b, &[16, 8], 1).unwrap();
        for lane in 0..32 {
            let (g, t) = (lane / 4, lane % 4);
            // A (f16): row = groupID for a0, a1, a4, a5, else groupID + 8;
            // col = threadID_in_group * 2 + (i & 1), plus 8 for i >= 4.
            for i in 0..8u32 {
                let row = if i < 2 || (4..6).contains(&i) {
                    g
                } else {
                    g + 8
                };
                let col = 2 * t + (i & 1) + if i >= 4 { 8 } else { 0 };
                assert_eq!(amap.element(lane, i as usize), vec![row, col]);
            }
            // B (f16): row = threadID_in_group * 2 + (i & 1), plus 8 for i >= 2; col = groupID.
            for i in 0..4u32 {
                let row = 2 * t + (i & 1) + if i >= 2 { 8 } else { 0 };
                assert_eq!(bmap.element(lane, i as usize), vec![row, g]);
            }
        }
        // With warps split 2 x 2, A is replicated over the 2 warps along n, B over m.
        let a = Layout::DotOperand {
            op_idx: 0,
            parent: Box::new(mma(2, 2)),
            k_width: 2,
        };
        let b = Layout::DotOperand {
            op_idx: 1,
            parent: Box::new(mma(2, 2)),
            k_width: 2,
        };
        assert_each_owned(&ThreadMap::new(&a, &[64, 32], 4).unwrap(), 2);
        assert_each_owned(&ThreadMap::new(&b, &[32, 32], 4).unwrap(), 2);
    }

    #[test]
    fn slices_keep_the_rows_a_thread_held() {
        let parent = mma(4, 1);
        let slice = Layout::Slice {
            dim: 1,
            parent: Box::new(parent.clone()),
        };
        let pmap = ThreadMap::new(&parent, &[64, 32], 4).unwrap();
        let smap = ThreadMap::new(&slice, &[64], 4).unwrap();
        // Rows g and g + 8 of the warp's 16.
        assert_eq!(smap.regs.len(), 2);
        for t in 0..128 {
            let rows: std::collections::BTreeSet<u32> = (0..pmap.regs.len())
                .map(|r| pmap.element(t, r)[0])
                .collect();
            let srows: std::collections::BTreeSet<u32> = (0..smap.regs.len())
                .map(|r| smap.element(t, r)[0])
                .collect();
            assert_eq!(rows, srows);
        }
        // 4 lanes (t = 0..4) share each row.
        assert_each_owned(&smap, 4);
    }

    #[test]
    fn gather_plans_find_register_renamings() {
        let l = blocked_layout(&[1, 4], &[4, 8], &[4, 1], &[1, 0]);
        let src = ThreadMap::new(&l, &[64, 1], 4).unwrap();
        let dst = ThreadMap::new(&l, &[64, 32], 4).unwrap();
        // Broadcasting [64, 1] to [64, 32] with the same layout: every register reads the
        // one register holding its row.
        let plan = src
            .gather_plan(&dst, |c| vec![c[0], 0])
            .expect("a broadcast renames");
        assert_eq!(plan.len(), dst.regs.len());
        // A different layout is not a renaming.
        let other = blocked_layout(&[4, 1], &[8, 4], &[1, 4], &[0, 1]);
        let dst2 = ThreadMap::new(&other, &[64, 32], 4).unwrap();
        assert!(ThreadMap::new(&l, &[64, 32], 4)
            .unwrap()
            .gather_plan(&dst2, |c| c.to_vec())
            .is_none());
    }
}
