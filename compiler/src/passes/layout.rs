//! The layout pass: gives every tile a layout and makes every change of layout explicit.
//!
//! Purpose. After this pass every tile-typed value has a [`Layout`] in its type, and every
//! instruction's tile operands have exactly the layouts code generation expects of it
//! (documented per instruction in `crate::codegen`). Where a value's layout differs from what
//! a consumer needs, a `convert_layout` is inserted in front of the consumer.
//!
//! How layouts are chosen:
//! * anchors: `load`/`store` tiles get a coalesced blocked layout (16-byte vectors per thread
//!   along the contiguous last dim where the tile allows, warps stacked along dim 0); `dot`
//!   results the mma v2 accumulator layout; `dot` operands are staged through shared memory
//!   (`convert_layout` to a swizzled [`SharedLayout`], then to a dot-operand layout, which
//!   code generation reads with `ldmatrix`), except an operand A that is (a cast or other
//!   element-wise function of) an mma result whose warps split m only: its registers already
//!   are the operand's, so it converts directly (`codegen::mma::accumulator_as_operand_a`);
//!   that is how attention's `P` stays in registers. The mma layout puts warps along m first
//!   ([`mma_layout`]), so both products of attention get `wpc = [num_warps, 1]` whenever
//!   BLOCK_M / 16 >= num_warps; with fewer rows, warps also split n and `P` goes through
//!   shared memory;
//! * reductions produce the slice of their operand's layout; `expand_dims` of a slice gives
//!   back the parent; `broadcast`, unary ops and casts keep their operand's layout;
//! * element-wise ops take the layout of their first *strong* operand (one that derives from
//!   an anchor) and convert the others; `splat` and `iota` are *weak*: a consumer that needs
//!   another layout gets a fresh copy in that layout instead of a conversion (and so do
//!   `broadcast`/`expand_dims` of them, by converting their cheaper operand, and element-wise
//!   work on weak values only);
//! * loop-carried values take the layout their loop body yields (found by a trial run of the
//!   body on a copy), so a loop carrying an mma accumulator converts only its initial value,
//!   once, before the loop; `if` results take the layout of the first strong branch value.
//!
//! Limits. Tiles of rank 1 and 2. No cost model: layouts are not propagated backwards from
//! stores, and the mma layout of a `dot` is chosen from its own shape only (not from how its
//! result is used). Conversions
//! are placed in front of their consumer (`hoist_conversions` then moves loop-invariant ones
//! out of loops); a conversion is shared only within a block and the blocks nested in it.
//! Dead instructions (a splat replaced by its copy in another layout) are left for LLVM.

use crate::codegen::mma::accumulator_as_operand_a;
use crate::codegen::shared_layout::mma_swizzle;
use crate::ir::layout::{BlockedLayout, Layout, MmaLayout};
use crate::ir::{Block, Inst, InstData, Kernel, TileType, Type, Value, ValueDef};
use cranelift_entity::SecondaryMap;
use std::collections::HashMap;

/// Runs the pass on `kernel` for programs of `num_warps` warps.
pub fn run(kernel: &mut Kernel, num_warps: u32) -> Result<(), String> {
    if !num_warps.is_power_of_two() || num_warps > 32 {
        return Err(format!(
            "num_warps = {num_warps} must be a power of two of at most 32"
        ));
    }
    let mut pass = LayoutPass {
        kernel,
        num_warps,
        strong: SecondaryMap::new(),
    };
    let entry = pass.kernel.entry;
    pass.block(entry, &mut HashMap::new())
}

/// Conversions already made in the current block or an enclosing one.
type Cache = HashMap<(Value, Layout), Value>;

struct LayoutPass<'k> {
    kernel: &'k mut Kernel,
    num_warps: u32,
    /// Whether a value's layout derives from an anchor (see the module doc).
    strong: SecondaryMap<Value, bool>,
}

/// Coalesced blocked layout for a tile of `shape` with `elem_bytes`-byte elements.
pub fn coalesced_blocked(shape: &[u32], elem_bytes: u32, num_warps: u32) -> Layout {
    let max_vec = (16 / elem_bytes).max(1);
    let b = match *shape {
        [s] => {
            let vec = (s / (32 * num_warps)).clamp(1, max_vec);
            BlockedLayout {
                size_per_thread: vec![vec],
                threads_per_warp: vec![32],
                warps_per_cta: vec![num_warps],
                order: vec![0],
            }
        }
        [rows, cols] => {
            let vec = max_vec.min(cols);
            let tpw1 = (cols / vec).min(32);
            let tpw0 = 32 / tpw1;
            let wpc0 = (rows / tpw0).clamp(1, num_warps);
            BlockedLayout {
                size_per_thread: vec![1, vec],
                threads_per_warp: vec![tpw0, tpw1],
                warps_per_cta: vec![wpc0, num_warps / wpc0],
                order: vec![1, 0],
            }
        }
        _ => unreachable!("tiles have rank 1 or 2 (checked by the verifier)"),
    };
    Layout::Blocked(b)
}

/// The mma v2 accumulator layout for an `[m, n]` result: warps along m first, as many as
/// m has 16-row blocks, then along n. Depending on m only, it is the same for attention's two
/// products, and is `[num_warps, 1]` when m / 16 >= num_warps: each warp owns whole rows of
/// `P`, which is what keeps `P` in registers (see the module doc).
pub fn mma_layout(m: u32, n: u32, num_warps: u32) -> Layout {
    let wm = (m / 16).clamp(1, num_warps);
    let _ = n;
    Layout::Mma(MmaLayout {
        version: 2,
        warps_per_cta: vec![wm, num_warps / wm],
    })
}

fn is_distributed(l: &Layout) -> bool {
    matches!(
        l,
        Layout::Blocked(_) | Layout::Mma(_) | Layout::Slice { .. }
    )
}

/// `layout` with a size-1 dim inserted at `axis` (the slowest dim).
fn expand_blocked(b: &BlockedLayout, axis: usize) -> BlockedLayout {
    let ins = |v: &Vec<u32>| {
        let mut v = v.clone();
        v.insert(axis, 1);
        v
    };
    let mut order: Vec<u32> = b
        .order
        .iter()
        .map(|&d| if d as usize >= axis { d + 1 } else { d })
        .collect();
    order.push(axis as u32);
    BlockedLayout {
        size_per_thread: ins(&b.size_per_thread),
        threads_per_warp: ins(&b.threads_per_warp),
        warps_per_cta: ins(&b.warps_per_cta),
        order,
    }
}

fn transpose_blocked(b: &BlockedLayout) -> BlockedLayout {
    let rev = |v: &Vec<u32>| v.iter().rev().copied().collect();
    BlockedLayout {
        size_per_thread: rev(&b.size_per_thread),
        threads_per_warp: rev(&b.threads_per_warp),
        warps_per_cta: rev(&b.warps_per_cta),
        order: b.order.iter().map(|&d| 1 - d).collect(),
    }
}

impl LayoutPass<'_> {
    fn tile(&self, v: Value) -> Option<&TileType> {
        self.kernel.value_type(v).as_tile()
    }

    fn layout(&self, v: Value) -> Option<Layout> {
        self.tile(v).and_then(|t| t.layout.clone())
    }

    fn set_layout(&mut self, v: Value, layout: Layout, strong: bool) {
        if let Type::Tile(t) = &mut self.kernel.values[v].ty {
            t.layout = Some(layout);
        }
        self.strong[v] = strong;
    }

    fn producer(&self, v: Value) -> Option<Inst> {
        match self.kernel.values[v].def {
            ValueDef::Result(inst, _) => Some(inst),
            ValueDef::Param(..) => None,
        }
    }

    fn default_layout(&self, v: Value) -> Option<Layout> {
        self.tile(v)
            .map(|t| coalesced_blocked(&t.shape, 4, self.num_warps))
    }

    /// Appends an instruction with one result of type `ty` to `out`; returns the result.
    fn emit(&mut self, data: InstData, ty: Type, block: Block, out: &mut Vec<Inst>) -> Value {
        let inst = self.kernel.create_inst(data, &[ty]);
        self.kernel.inst_block[inst] = Some(block);
        out.push(inst);
        self.kernel.result(inst)
    }

    /// `v` in `target` layout, made in front of the instructions of `out`.
    fn convert(
        &mut self,
        v: Value,
        target: &Layout,
        block: Block,
        out: &mut Vec<Inst>,
        cache: &mut Cache,
    ) -> Value {
        if self.layout(v).as_ref() == Some(target) {
            return v;
        }
        if let Some(&c) = cache.get(&(v, target.clone())) {
            return c;
        }
        let mut ty = self.tile(v).expect("only tiles are converted").clone();
        ty.layout = Some(target.clone());
        let strong = self.strong[v];
        let data = self.producer(v).map(|inst| self.kernel.insts[inst].clone());
        let new_data = match data {
            // Weak producers are recomputed in the wanted layout.
            Some(d @ (InstData::Splat { .. } | InstData::Iota { .. }))
                if is_distributed(target) =>
            {
                d
            }
            Some(InstData::Broadcast { arg })
                if is_distributed(target) && self.layout(arg).is_some() =>
            {
                let arg = self.convert(arg, target, block, out, cache);
                InstData::Broadcast { arg }
            }
            Some(InstData::ExpandDims { arg, axis })
                if is_distributed(target) && self.layout(arg).is_some() =>
            {
                let slice = Layout::Slice {
                    dim: axis as u32,
                    parent: Box::new(target.clone()),
                };
                let arg = self.convert(arg, &slice, block, out, cache);
                InstData::ExpandDims { arg, axis }
            }
            // Element-wise work on weak values (index arithmetic on iotas, masks) is redone
            // in the wanted layout rather than moved through shared memory.
            Some(
                mut d @ (InstData::Unary { .. }
                | InstData::Cast { .. }
                | InstData::Binary { .. }
                | InstData::Cmp { .. }
                | InstData::Select { .. }),
            ) if !strong && is_distributed(target) => {
                for a in d.args() {
                    if self.tile(a).is_some() {
                        let new = self.convert(a, target, block, out, cache);
                        d.map_args(|x| if x == a { new } else { x });
                    }
                }
                d
            }
            _ => InstData::ConvertLayout { arg: v },
        };
        let c = self.emit(new_data, Type::Tile(ty), block, out);
        self.strong[c] = strong;
        cache.insert((v, target.clone()), c);
        c
    }

    /// Replaces operand `old` of `inst` by `new`.
    fn replace_arg(&mut self, inst: Inst, old: Value, new: Value) {
        if old != new {
            self.kernel.insts[inst].map_args(|a| if a == old { new } else { a });
        }
    }

    fn block(&mut self, block: Block, cache: &mut Cache) -> Result<(), String> {
        let insts = std::mem::take(&mut self.kernel.blocks[block].insts);
        let mut out = Vec::with_capacity(insts.len());
        for inst in insts {
            self.inst(inst, block, &mut out, cache)?;
            out.push(inst);
        }
        self.kernel.blocks[block].insts = out;
        Ok(())
    }

    fn inst(
        &mut self,
        inst: Inst,
        block: Block,
        out: &mut Vec<Inst>,
        cache: &mut Cache,
    ) -> Result<(), String> {
        let data = self.kernel.insts[inst].clone();
        let result = self.kernel.inst_results(inst).first().copied();
        let result_is_tile = result.is_some_and(|r| self.tile(r).is_some());
        match data {
            InstData::Load { tensor, .. } => {
                if let (Some(r), true) = (result, result_is_tile) {
                    let bytes = self.kernel.value_type(tensor).dtype().size_bytes();
                    let shape = self.tile(r).expect("tile").shape.clone();
                    self.set_layout(r, coalesced_blocked(&shape, bytes, self.num_warps), true);
                }
            }
            InstData::Store { tensor, value, .. } => {
                if let Some(t) = self.tile(value) {
                    let bytes = self.kernel.value_type(tensor).dtype().size_bytes();
                    let want = coalesced_blocked(&t.shape.clone(), bytes, self.num_warps);
                    let new = self.convert(value, &want, block, out, cache);
                    self.replace_arg(inst, value, new);
                }
            }
            InstData::Splat { .. } | InstData::Iota { .. } => {
                if let (Some(r), true) = (result, result_is_tile) {
                    let l = self.default_layout(r).expect("tile");
                    self.set_layout(r, l, false);
                }
            }
            InstData::Unary { arg, .. } | InstData::Cast { arg } | InstData::Broadcast { arg } => {
                if let (Some(r), Some(l)) = (result, self.layout(arg)) {
                    self.set_layout(r, l, self.strong[arg]);
                }
            }
            InstData::Binary { .. } | InstData::Cmp { .. } | InstData::Select { .. } => {
                self.elementwise(inst, block, out, cache);
            }
            InstData::ExpandDims { arg, axis } => {
                let r = result.expect("expand_dims has a result");
                let l = match self.layout(arg) {
                    Some(Layout::Slice { dim, parent }) if dim == axis as u32 => *parent,
                    Some(Layout::Blocked(b)) => Layout::Blocked(expand_blocked(&b, axis as usize)),
                    _ => {
                        let t = self.tile(arg).expect("expand_dims of a tile");
                        let Layout::Blocked(b) =
                            coalesced_blocked(&t.shape.clone(), 4, self.num_warps)
                        else {
                            unreachable!()
                        };
                        let new = self.convert(arg, &Layout::Blocked(b.clone()), block, out, cache);
                        self.replace_arg(inst, arg, new);
                        Layout::Blocked(expand_blocked(&b, axis as usize))
                    }
                };
                self.set_layout(r, l, self.strong[arg]);
            }
            InstData::Reduce { arg, axis, .. } => {
                let l = self
                    .layout(arg)
                    .ok_or("reduce of a tile without a layout")?;
                if let (Some(r), true) = (result, result_is_tile) {
                    let slice = Layout::Slice {
                        dim: axis as u32,
                        parent: Box::new(l),
                    };
                    self.set_layout(r, slice, self.strong[arg]);
                }
            }
            InstData::Transpose { arg } => {
                let r = result.expect("transpose has a result");
                let b = match self.layout(arg) {
                    Some(Layout::Blocked(b)) => b,
                    _ => {
                        let t = self.tile(arg).expect("transpose of a tile");
                        let Layout::Blocked(b) =
                            coalesced_blocked(&t.shape.clone(), 4, self.num_warps)
                        else {
                            unreachable!()
                        };
                        let new = self.convert(arg, &Layout::Blocked(b.clone()), block, out, cache);
                        self.replace_arg(inst, arg, new);
                        b
                    }
                };
                self.set_layout(r, Layout::Blocked(transpose_blocked(&b)), self.strong[arg]);
            }
            InstData::Dot { args: [a, b, acc] } => {
                self.dot(inst, [a, b, acc], block, out, cache)?
            }
            InstData::ConvertLayout { arg } => {
                let r = result.expect("convert_layout has a result");
                if self.layout(r).is_none() {
                    let l = self
                        .layout(arg)
                        .ok_or("convert_layout of a tile without a layout")?;
                    self.set_layout(r, l, self.strong[arg]);
                } else {
                    self.strong[r] = self.strong[arg];
                }
            }
            InstData::For { init, body, .. } => {
                self.for_loop(inst, &init, body, block, out, cache)?
            }
            InstData::If {
                then_block,
                else_block,
                ..
            } => self.if_else(inst, then_block, else_block, cache)?,
            InstData::Const { .. }
            | InstData::ProgramId { .. }
            | InstData::NumPrograms { .. }
            | InstData::Dim { .. }
            | InstData::Yield { .. }
            | InstData::Return => {}
        }
        Ok(())
    }

    /// Element-wise ops: every tile operand in the layout of the first strong one.
    fn elementwise(&mut self, inst: Inst, block: Block, out: &mut Vec<Inst>, cache: &mut Cache) {
        let args = self.kernel.insts[inst].args();
        let tiles: Vec<Value> = args
            .iter()
            .copied()
            .filter(|&a| self.tile(a).is_some())
            .collect();
        let Some(&first) = tiles.first() else { return };
        let lead = tiles
            .iter()
            .copied()
            .find(|&a| self.strong[a] && self.layout(a).as_ref().is_some_and(is_distributed))
            .unwrap_or(first);
        let target = self
            .layout(lead)
            .or_else(|| self.default_layout(lead))
            .expect("tile");
        let mut strong = false;
        for a in tiles {
            let new = self.convert(a, &target, block, out, cache);
            strong |= self.strong[a];
            self.replace_arg(inst, a, new);
        }
        let r = self.kernel.result(inst);
        self.set_layout(r, target, strong);
    }

    fn dot(
        &mut self,
        inst: Inst,
        [a, b, acc]: [Value; 3],
        block: Block,
        out: &mut Vec<Inst>,
        cache: &mut Cache,
    ) -> Result<(), String> {
        let r = self.kernel.result(inst);
        let shape = self
            .tile(r)
            .ok_or("dot result is not a tile")?
            .shape
            .clone();
        let mma = mma_layout(shape[0], shape[1], self.num_warps);
        let new_acc = self.convert(acc, &mma, block, out, cache);
        self.replace_arg(inst, acc, new_acc);
        for (op_idx, v) in [(0u8, a), (1u8, b)] {
            let t = self.tile(v).ok_or("dot operand is not a tile")?.clone();
            let operand = Layout::DotOperand {
                op_idx,
                parent: Box::new(mma.clone()),
                k_width: 2,
            };
            // An mma result used as operand A (attention's `P`) whose warps split m only is
            // already in the operand's registers: convert directly, no shared memory.
            if let Some(Layout::Mma(acc)) = &t.layout {
                if t.dtype.size_bytes() == 2
                    && accumulator_as_operand_a(acc, &operand, &t.shape, self.num_warps).is_some()
                {
                    let loaded = self.convert(v, &operand, block, out, cache);
                    self.replace_arg(inst, v, loaded);
                    continue;
                }
            }
            // Keep the operand's contiguous dim contiguous in shared memory, so the copy
            // into shared memory vectorizes; ldmatrix transposes when needed.
            let order = match &t.layout {
                Some(Layout::Blocked(b)) => b.order.clone(),
                _ => vec![1, 0],
            };
            let inner = t.shape[order[0] as usize];
            let shared = Layout::Shared(mma_swizzle(inner, t.dtype.size_bytes(), order));
            let staged = self.convert(v, &shared, block, out, cache);
            let loaded = self.convert(staged, &operand, block, out, cache);
            self.replace_arg(inst, v, loaded);
        }
        self.set_layout(r, mma, true);
        Ok(())
    }

    fn yield_args(&self, block: Block) -> (Inst, Vec<Value>) {
        let term = *self.kernel.blocks[block]
            .insts
            .last()
            .expect("blocks end in yield");
        match &self.kernel.insts[term] {
            InstData::Yield { args } => (term, args.to_vec()),
            other => panic!("block {block} ends in {} instead of yield", other.opcode()),
        }
    }

    /// Converts the values `block` yields to `targets` (where given), in front of its yield.
    fn convert_yields(&mut self, block: Block, targets: &[Option<Layout>], cache: &mut Cache) {
        let (term, args) = self.yield_args(block);
        let mut insts = std::mem::take(&mut self.kernel.blocks[block].insts);
        insts.pop();
        for (v, target) in args.into_iter().zip(targets) {
            if let Some(t) = target {
                let new = self.convert(v, t, block, &mut insts, cache);
                self.replace_arg(term, v, new);
            }
        }
        insts.push(term);
        self.kernel.blocks[block].insts = insts;
    }

    fn for_loop(
        &mut self,
        inst: Inst,
        init: &[Value],
        body: Block,
        block: Block,
        out: &mut Vec<Inst>,
        cache: &mut Cache,
    ) -> Result<(), String> {
        let params: Vec<Value> = self.kernel.blocks[body].params[1..].to_vec();
        // Trial run on a copy: with each carried value in its initial layout (weak), which
        // layout does the body yield?
        let natural: Vec<Option<(Layout, bool)>> = {
            let mut copy = self.kernel.clone();
            let mut trial = LayoutPass {
                kernel: &mut copy,
                num_warps: self.num_warps,
                strong: self.strong.clone(),
            };
            for (&p, &i) in params.iter().zip(init) {
                if let Some(l) = trial.layout(i).or_else(|| trial.default_layout(i)) {
                    trial.set_layout(p, l, false);
                }
            }
            trial.block(body, &mut cache.clone())?;
            let (_, yields) = trial.yield_args(body);
            yields
                .iter()
                .map(|&y| {
                    trial
                        .layout(y)
                        .filter(is_distributed)
                        .map(|l| (l, trial.strong[y]))
                })
                .collect()
        };
        let mut targets = Vec::new();
        for ((&p, &i), nat) in params.iter().zip(init).zip(natural) {
            let chosen = match nat {
                Some((l, strong)) => Some((l, strong || self.strong[i])),
                None => self
                    .layout(i)
                    .or_else(|| self.default_layout(i))
                    .map(|l| (l, self.strong[i])),
            };
            match chosen {
                Some((l, strong)) => {
                    let new = self.convert(i, &l, block, out, cache);
                    self.replace_arg(inst, i, new);
                    self.set_layout(p, l.clone(), strong);
                    targets.push(Some(l));
                }
                None => targets.push(None),
            }
        }
        let mut inner = cache.clone();
        self.block(body, &mut inner)?;
        self.convert_yields(body, &targets, &mut inner);
        let results = self.kernel.inst_results(inst).to_vec();
        for ((r, t), p) in results.into_iter().zip(&targets).zip(&params) {
            if let Some(l) = t {
                self.set_layout(r, l.clone(), self.strong[*p]);
            }
        }
        Ok(())
    }

    fn if_else(
        &mut self,
        inst: Inst,
        then_block: Block,
        else_block: Block,
        cache: &mut Cache,
    ) -> Result<(), String> {
        self.block(then_block, &mut cache.clone())?;
        self.block(else_block, &mut cache.clone())?;
        let (_, then_vals) = self.yield_args(then_block);
        let (_, else_vals) = self.yield_args(else_block);
        let mut targets = Vec::new();
        for (&t, &e) in then_vals.iter().zip(&else_vals) {
            let pick = if self.strong[t] || !self.strong[e] {
                t
            } else {
                e
            };
            targets.push(
                self.layout(pick)
                    .filter(is_distributed)
                    .or_else(|| self.default_layout(pick))
                    .map(|l| (l, self.strong[t] || self.strong[e])),
            );
        }
        let layouts: Vec<Option<Layout>> = targets
            .iter()
            .map(|t| t.as_ref().map(|(l, _)| l.clone()))
            .collect();
        self.convert_yields(then_block, &layouts, &mut cache.clone());
        self.convert_yields(else_block, &layouts, &mut cache.clone());
        let results = self.kernel.inst_results(inst).to_vec();
        for (r, t) in results.into_iter().zip(targets) {
            if let Some((l, strong)) = t {
                self.set_layout(r, l, strong);
            }
        }
        Ok(())
    }
}
