//! Configurations that cannot work, caught before LLVM: too many registers per thread, too
//! much shared memory for the target.
//!
//! Registers are estimated from the tiles live at each point of the kernel (in program
//! order, a value live from its definition up to its last use, and through the end of any
//! loop that uses it): a distributed tile costs its registers per thread times its element size
//! in 32-bit words (nothing for splats, iotas and broadcasts, whose registers copy others),
//! plus a fixed allowance for addresses and indices. The estimate is rough
//! (LLVM and ptxas may do better or worse) and only meant to catch hopeless configurations
//! with a message that names the tile and the consts to change, instead of a ptxas spill
//! warning or failure. Shared memory comes from the shared-memory plan, exactly.
//!
//! Diagnostics have no span (the IR carries none); the caller attaches the kernel's.

use super::shared_plan::SharedPlan;
use super::thread_map::ThreadMap;
use super::{CodegenError, CodegenOptions};
use crate::diagnostics::Diagnostic;
use crate::ir::{Block, ConstValue, DType, Inst, InstData, Kernel, TileType, Value, ValueDef};
use crate::syntax::ast::Span;
use std::collections::HashMap;

/// Registers one thread may use (`maxnreg`).
pub const MAX_REGISTERS: u32 = 255;
/// Registers assumed for addresses, indices, predicates and loop counters.
pub const REGISTER_ALLOWANCE: u32 = 24;

/// Checks `kernel` against the target's budgets.
pub fn check(
    kernel: &Kernel,
    options: &CodegenOptions,
    plan: &SharedPlan,
) -> Result<(), CodegenError> {
    let mut diags = Vec::new();
    if let Some(d) = check_registers(kernel, options.num_warps) {
        diags.push(d);
    }
    let limit = options.target.shared_memory_limit();
    if plan.total_bytes > limit {
        let what = plan
            .largest
            .as_ref()
            .map(|(w, b)| format!("; the largest part is {w} ({} KB)", b.div_ceil(1024)))
            .unwrap_or_default();
        diags.push(
            Diagnostic::error(
                "tilec::shared_memory_budget",
                format!(
                    "kernel `{}` needs {} KB of shared memory, the limit on {} is {} KB",
                    kernel.name,
                    plan.total_bytes.div_ceil(1024),
                    options.target,
                    limit / 1024
                ),
                Span::default(),
                "",
            )
            .with_note(format!(
                "shared memory stages dot operands and layout conversions{what}"
            ))
            .with_help(format!("lower {}", const_hint(kernel, &[]))),
        );
    }
    if diags.is_empty() {
        Ok(())
    } else {
        Err(CodegenError::Config(diags))
    }
}

/// 32-bit registers per thread for a tile value (0 for shared tiles).
pub fn tile_registers(t: &TileType, num_warps: u32) -> u32 {
    let Some(layout) = &t.layout else { return 0 };
    if layout.is_shared() {
        return 0;
    }
    let Ok(map) = ThreadMap::new(layout, &t.shape, num_warps) else {
        return 0;
    };
    let mut n = map.regs.len() as u32;
    // Dot operands are loaded one k-step (16 along k) at a time.
    if let crate::ir::layout::Layout::DotOperand { op_idx, .. } = layout {
        let k = if *op_idx == 0 { t.shape[1] } else { t.shape[0] };
        n /= (k / 16).max(1);
    }
    match t.dtype {
        DType::I64 => 2 * n,
        DType::I32 | DType::F32 => n,
        DType::F16 | DType::BF16 => n.div_ceil(2),
        DType::I1 => n.div_ceil(4),
    }
}

/// Whether `v`'s registers are copies of registers counted elsewhere (a splat of a scalar,
/// an iota of the thread's own coordinates, a broadcast or expand_dims of another tile).
fn is_alias(kernel: &Kernel, v: Value) -> bool {
    match kernel.values[v].def {
        ValueDef::Result(inst, _) => matches!(
            kernel.insts[inst],
            InstData::Splat { .. }
                | InstData::Iota { .. }
                | InstData::Broadcast { .. }
                | InstData::ExpandDims { .. }
        ),
        ValueDef::Param(..) => false,
    }
}

/// Positions in program order and the loops enclosing each instruction.
struct Linear {
    pos: HashMap<Inst, usize>,
    /// For each `for` instruction, the last position inside it.
    loop_end: HashMap<Inst, usize>,
    /// For each instruction with child blocks, the last position inside it (its results
    /// exist from there on).
    inst_end: HashMap<Inst, usize>,
    len: usize,
}

fn linearize(kernel: &Kernel) -> Linear {
    fn walk(kernel: &Kernel, block: Block, lin: &mut Linear) {
        for &inst in &kernel.blocks[block].insts {
            lin.pos.insert(inst, lin.len);
            lin.len += 1;
            for child in kernel.insts[inst].child_blocks() {
                walk(kernel, child, lin);
            }
            if matches!(kernel.insts[inst], InstData::For { .. }) {
                lin.loop_end.insert(inst, lin.len - 1);
            }
            if !kernel.insts[inst].child_blocks().is_empty() {
                lin.inst_end.insert(inst, lin.len - 1);
            }
        }
    }
    let mut lin = Linear {
        pos: HashMap::new(),
        loop_end: HashMap::new(),
        inst_end: HashMap::new(),
        len: 0,
    };
    walk(kernel, kernel.entry, &mut lin);
    lin
}

/// The block a value is defined in.
fn def_block(kernel: &Kernel, v: Value) -> Option<Block> {
    match kernel.values[v].def {
        ValueDef::Result(inst, _) => kernel.inst_block[inst],
        ValueDef::Param(b, _) => Some(b),
    }
}

fn check_registers(kernel: &Kernel, num_warps: u32) -> Option<Diagnostic> {
    let lin = linearize(kernel);
    // Live range of each tile: [def, last use], stretched over loops that use it.
    let mut ranges: HashMap<Value, (usize, usize)> = HashMap::new();
    for (&inst, &p) in &lin.pos {
        let defined = lin.inst_end.get(&inst).copied().unwrap_or(p);
        for &r in kernel.inst_results(inst) {
            ranges.entry(r).or_insert((defined, defined));
        }
        // Block parameters (a loop's induction variable and carried values) exist from the
        // owning instruction on, until their last use (a carried value's last use is
        // usually the yield).
        for child in kernel.insts[inst].child_blocks() {
            for &param in &kernel.blocks[child].params {
                ranges.entry(param).or_insert((p, p));
            }
        }
    }
    for (&inst, &p) in &lin.pos {
        for a in kernel.insts[inst].args() {
            let def = def_block(kernel, a);
            // Walk out from the use to the definition's block; every loop crossed keeps the
            // value alive to its end.
            let mut end = p;
            let mut block = kernel.inst_block[inst];
            while let Some(b) = block {
                if Some(b) == def {
                    break;
                }
                let Some(parent) = kernel.blocks[b].parent else {
                    break;
                };
                if let Some(&e) = lin.loop_end.get(&parent) {
                    end = end.max(e);
                }
                block = kernel.inst_block[parent];
            }
            let r = ranges.entry(a).or_insert((0, end));
            r.1 = r.1.max(end);
        }
    }
    let mut live = vec![0u32; lin.len.max(1)];
    let mut biggest_at: Vec<Option<(u32, Value)>> = vec![None; lin.len.max(1)];
    // In value order, so that among equally large tiles the diagnostic always names the same
    // (the first defined) one.
    let mut ordered: Vec<(Value, (usize, usize))> = ranges.into_iter().collect();
    ordered.sort_by_key(|&(v, _)| v);
    for (v, (start, end)) in ordered {
        let Some(t) = kernel.value_type(v).as_tile() else {
            continue;
        };
        if is_alias(kernel, v) {
            continue;
        }
        let regs = tile_registers(t, num_warps);
        // A value dies at its last use: a result defined there (a dot's, over its
        // accumulator) may take its registers.
        let end = end.min(lin.len.saturating_sub(1)).max(start + 1);
        for p in start..end {
            live[p] += regs;
            if biggest_at[p].is_none_or(|(r, _)| r < regs) {
                biggest_at[p] = Some((regs, v));
            }
        }
    }
    let (peak_pos, &peak) = live.iter().enumerate().max_by_key(|(_, &n)| n)?;
    let estimate = peak + REGISTER_ALLOWANCE;
    if estimate <= MAX_REGISTERS {
        return None;
    }
    let (_, big) = biggest_at[peak_pos]?;
    let t = kernel.value_type(big).as_tile()?;
    let dims: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
    let name = kernel.values[big]
        .name
        .as_ref()
        .map(|n| format!("`{n}`, "))
        .unwrap_or_default();
    Some(
        Diagnostic::error(
            "tilec::register_budget",
            format!(
                "kernel `{}` needs ~{estimate} registers per thread, the limit is {MAX_REGISTERS}",
                kernel.name
            ),
            Span::default(),
            "",
        )
        .with_note(format!(
            "the largest live tile is {name}tile<{}, [{}]> over {} threads ({} registers per thread)",
            t.dtype,
            dims.join(", "),
            32 * num_warps,
            tile_registers(t, num_warps)
        ))
        .with_help(format!("lower {}, or raise num_warps (now {num_warps})", const_hint(kernel, &t.shape))),
    )
}

/// "BLOCK_M or BLOCK_N": the int consts whose values are among `dims` (all int consts that
/// look like block sizes when `dims` is empty).
fn const_hint(kernel: &Kernel, dims: &[u32]) -> String {
    let names: Vec<&str> = kernel
        .consts
        .iter()
        .filter(|(_, v)| match v {
            ConstValue::Int(i) => {
                if dims.is_empty() {
                    *i > 1
                } else {
                    dims.iter().any(|&d| d as i64 == *i)
                }
            }
            _ => false,
        })
        .map(|(n, _)| n.as_str())
        .collect();
    match names.as_slice() {
        [] => "the tile sizes".to_string(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
