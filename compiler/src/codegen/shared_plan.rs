//! The shared-memory plan: where each staged tile lives and how big the scratch area is.
//!
//! Every value with a shared layout gets its own 16-byte-aligned buffer for the whole
//! kernel (inside a loop, each iteration reuses its instruction's buffer; the store into it
//! waits at a barrier for the previous iteration's readers). After the buffers comes one
//! scratch area, shared by every layout conversion that cannot rename registers and every
//! cross-warp reduction; each use brackets itself with barriers. Its size is the largest
//! use. Limits: no liveness-based reuse between buffers yet.

use super::convert::{plan_move, MovePlan};
use super::CodegenError;
use crate::ir::{Inst, InstData, Kernel, Value};
use std::collections::HashMap;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SharedPlan {
    /// Byte offset of each tile with a shared layout.
    pub buffers: HashMap<Value, u32>,
    pub scratch_offset: u32,
    pub scratch_bytes: u32,
    /// Dynamic shared memory the kernel needs, in bytes.
    pub total_bytes: u32,
    /// What needs the most shared memory: (description, bytes), for diagnostics.
    pub largest: Option<(String, u32)>,
}

impl SharedPlan {
    pub fn buffer(&self, v: Value) -> Result<u32, CodegenError> {
        self.buffers
            .get(&v)
            .copied()
            .ok_or_else(|| CodegenError::Internal(format!("no shared buffer planned for {v}")))
    }
}

fn align16(x: u64) -> u64 {
    x.div_ceil(16) * 16
}

fn describe(kernel: &Kernel, v: Value) -> String {
    match kernel.value_type(v).as_tile() {
        Some(t) => {
            let dims: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
            format!("tile<{}, [{}]>", t.dtype, dims.join(", "))
        }
        None => v.to_string(),
    }
}

pub fn plan(kernel: &Kernel, num_warps: u32) -> Result<SharedPlan, String> {
    let mut insts: Vec<Inst> = Vec::new();
    kernel.walk_insts(kernel.entry, &mut |i| insts.push(i));
    let mut plan = SharedPlan::default();
    let mut offset: u64 = 0;
    let mut scratch: u64 = 0;
    let consider_largest = |what: String, bytes: u64, plan: &mut SharedPlan| {
        if plan
            .largest
            .as_ref()
            .is_none_or(|(_, b)| (*b as u64) < bytes)
        {
            plan.largest = Some((what, bytes.min(u32::MAX as u64) as u32));
        }
    };
    for inst in insts {
        let data = &kernel.insts[inst];
        for &r in kernel.inst_results(inst) {
            if let Some(t) = kernel.value_type(r).as_tile() {
                if t.layout.as_ref().is_some_and(|l| l.is_shared()) {
                    let bytes = t.num_elements() * t.dtype.size_bytes() as u64;
                    plan.buffers.insert(r, offset.min(u32::MAX as u64) as u32);
                    offset = align16(offset + bytes);
                    consider_largest(
                        format!("staging {} in shared memory", describe(kernel, r)),
                        bytes,
                        &mut plan,
                    );
                }
            }
        }
        let need = match data {
            InstData::ConvertLayout { arg }
            | InstData::Broadcast { arg }
            | InstData::ExpandDims { arg, .. }
            | InstData::Transpose { arg } => {
                let r = kernel.result(inst);
                let shared = |v: Value| {
                    kernel
                        .value_type(v)
                        .as_tile()
                        .and_then(|t| t.layout.as_ref())
                        .is_some_and(|l| l.is_shared())
                };
                if shared(*arg) || shared(r) {
                    0
                } else {
                    match plan_move(kernel, inst, num_warps)? {
                        MovePlan::Rename(_) => 0,
                        MovePlan::ViaScratch { bytes } => bytes as u64,
                    }
                }
            }
            InstData::Reduce { .. } => super::reduce::plan_inst(kernel, inst, num_warps)?.1 as u64,
            _ => 0,
        };
        if need > 0 {
            let what = match data {
                InstData::Reduce { .. } => {
                    format!("a reduction to {}", describe(kernel, kernel.result(inst)))
                }
                _ => format!(
                    "converting the layout of {}",
                    describe(kernel, data.args()[0])
                ),
            };
            consider_largest(what, need, &mut plan);
        }
        scratch = scratch.max(need);
    }
    let total = align16(offset + scratch);
    let clamp = |x: u64| x.min(u32::MAX as u64) as u32;
    plan.scratch_offset = clamp(offset);
    plan.scratch_bytes = clamp(scratch);
    plan.total_bytes = clamp(total);
    Ok(plan)
}
