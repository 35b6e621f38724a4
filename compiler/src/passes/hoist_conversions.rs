//! Hoists loop-invariant layout conversions out of `for` loops.
//!
//! Purpose. The layout pass inserts each `convert_layout` right in front of its consumer; when
//! the consumer is in a loop and the converted value is defined outside it (attention's `Q`,
//! converted to a shared layout and then to a dot-operand layout for every key block), the
//! conversion would run on every iteration. This pass moves such conversions in front of the
//! loop, innermost loops first, so a chain of conversions leaves the loop together.
//!
//! Limits. Only `convert_layout` moves (it has no side effects; a conversion into a shared
//! layout writes its own buffer, which nothing else uses). Only conversions at the top level
//! of a loop body move (not ones nested in an `if` inside the loop).

use crate::ir::{Block, Inst, InstData, Kernel, Value, ValueDef};

pub fn run(kernel: &mut Kernel) {
    let mut loops = Vec::new();
    kernel.walk_insts(kernel.entry, &mut |i| {
        if matches!(kernel.insts[i], InstData::For { .. }) {
            loops.push(i);
        }
    });
    // Pre-order lists a loop before the loops inside it: reversed, inner loops go first.
    for &l in loops.iter().rev() {
        hoist_from(kernel, l);
    }
}

/// Whether `v` is defined in `block` or in a block nested inside it.
fn defined_within(kernel: &Kernel, v: Value, block: Block) -> bool {
    let mut b = match kernel.values[v].def {
        ValueDef::Result(inst, _) => kernel.inst_block[inst],
        ValueDef::Param(b, _) => Some(b),
    };
    while let Some(cur) = b {
        if cur == block {
            return true;
        }
        b = kernel.blocks[cur].parent.and_then(|p| kernel.inst_block[p]);
    }
    false
}

fn hoist_from(kernel: &mut Kernel, for_inst: Inst) {
    let InstData::For { body, .. } = kernel.insts[for_inst] else {
        return;
    };
    let Some(outer) = kernel.inst_block[for_inst] else {
        return;
    };
    let mut moved = Vec::new();
    let mut kept = Vec::new();
    for inst in std::mem::take(&mut kernel.blocks[body].insts) {
        let invariant = match kernel.insts[inst] {
            InstData::ConvertLayout { arg } => !defined_within(kernel, arg, body),
            _ => false,
        };
        if invariant {
            // Now defined outside: conversions of it further down may follow it out.
            kernel.inst_block[inst] = Some(outer);
            moved.push(inst);
        } else {
            kept.push(inst);
        }
    }
    kernel.blocks[body].insts = kept;
    let pos = kernel.blocks[outer]
        .insts
        .iter()
        .position(|&i| i == for_inst)
        .expect("a loop sits in its block");
    kernel.blocks[outer].insts.splice(pos..pos, moved);
}
