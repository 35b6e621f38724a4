//! The IR verifier: checks the invariants that every stage after lowering may rely on.
//!
//! Run it after lowering and after every pass. It reports every problem it finds, each naming
//! the instruction at fault as printed text (see `crate::ir::print`), and never panics, even
//! on kernels whose tables are inconsistent. Garbage left in the tables by passes (instructions
//! and values no block reaches) is ignored.
//!
//! # Invariants
//!
//! Signature and header:
//! - the entry block has no parent, and its parameters are exactly the kernel parameters'
//!   values, in order; kernel parameters are tensors or scalars, with distinct names;
//! - shape symbols have distinct names; tensor dims and grid expressions name existing
//!   symbols; the grid has 1 to 3 axes.
//!
//! Structure:
//! - every block reached from the entry is owned by exactly one instruction (the entry by
//!   none), and its `parent` field names that instruction;
//! - every instruction sits in exactly one block, as `inst_block` says; the values tables
//!   agree with where each result and block parameter is defined;
//! - every block ends in exactly one terminator and has none elsewhere; the entry block ends
//!   in `return`, child blocks in `yield`;
//! - every operand is defined before its use and its definition dominates the use: it is a
//!   parameter of the same or an enclosing block, or a result of an earlier instruction of the
//!   same or an enclosing block;
//! - each opcode has its number of results: 0 for `store`, `yield` and `return`, one per
//!   carried value for `for`, any number for `if`, 1 otherwise.
//!
//! Types, per opcode:
//! - operands are never tensors, except the tensor of `load`, `store` and `dim`;
//! - `const`: a scalar result whose dtype fits the constant (`bool` for i1, an int in range
//!   for i32/i64, a float or an int for floats);
//! - `program_id`, `num_programs`: axis < the grid's rank, an i32 scalar result; `dim`: a
//!   tensor operand, index < its rank, an i32 scalar result;
//! - element-wise `unary`, `binary`: operands and result of identical type (shape, dtype and
//!   layout); `neg` and arithmetic on ints and floats, math (`abs exp exp2 log log2 sqrt
//!   rsqrt`) on floats, `not and or` on i1;
//! - `cmp_*`: identical operand types, the result is the same type with dtype i1;
//!   `select`: cond is that i1 type, the other operands and the result identical;
//! - `cast`: scalar to scalar, or tile to tile of the same shape and layout;
//! - `splat`: scalar to a tile of the same dtype; `broadcast`: a tile to a tile of equal rank
//!   and dtype that only stretches size-1 dims; `expand_dims`: inserts a 1 at axis <= rank;
//!   `iota`: an i32 tile, axis < rank; `reduce_*`: an int or float tile, axis < rank, the
//!   result removes the axis (a scalar from rank 1); `transpose`: rank 2, dims swapped;
//!   `convert_layout`: same dtype and shape;
//! - `dot`: a [M, K] and b [K, N] both f16 or both bf16, acc [M, N] f32, the result of acc's type;
//! - `load`/`store`: one slice dim per tensor dim; index and start values are i32 or i64
//!   scalars; the tile has the Range lens as its shape, in order (a scalar if there are
//!   none), and the tensor's dtype; the load fill fits the dtype; stores go to `&mut` tensors;
//! - `for`: lower, upper and step are i32 scalars; the body's parameters are an i32
//!   induction variable and one per carried value; initial values, body parameters, results
//!   and the body's `yield` operands agree in count and type;
//! - `if`: the condition is an i1 scalar; both blocks have no parameters and `yield` values
//!   of the result types.
//!
//! Types, per value (every parameter and result the block tree defines):
//! - tiles have rank >= 1 and power-of-two extents;
//! - layouts are all-or-nothing: every tile has one or none has;
//! - a layout fits its tile: `#blocked` has one entry per dim in each list, `order` is a
//!   permutation, and 32 threads per warp; `#slice` has a parent of rank + 1 and dim <= rank;
//!   `#mma` (v2 or v3) and `#dot_op` (operand 0 or 1 of an `#mma`) are for rank-2 tiles;
//!   `#shared` has a permutation as `order` and positive swizzle parameters;
//! - tensors appear only as kernel parameters.

use super::entities::{Block, Inst, Value};
use super::instructions::{BinaryOp, InstData, SliceDim, UnaryOp};
use super::kernel::{GridExpr, Kernel, ValueDef};
use super::layout::Layout;
use super::print::Printer;
use super::types::{ConstValue, DType, Dim, TensorType, TileType, Type};
use cranelift_entity::{EntitySet, SecondaryMap};
use std::collections::HashSet;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct VerifyError {
    /// The instruction at fault as printed (`%5 = add %3, %4 : i32`), or `kernel @name` with
    /// a part of it (`kernel @name, parameter %x`).
    pub location: String,
    pub message: String,
}

/// Checks every invariant listed in the module doc; returns all violations, in body order.
pub fn verify(kernel: &Kernel) -> Result<(), Vec<VerifyError>> {
    let mut verifier = Verifier {
        kernel,
        printer: Printer::new(kernel),
        errors: Vec::new(),
        visible: SecondaryMap::new(),
        seen_blocks: EntitySet::new(),
        seen_insts: EntitySet::new(),
        first_with_layout: None,
        first_without_layout: None,
    };
    verifier.check_header();
    verifier.check_block(kernel.entry, None, BlockRole::Entry);
    verifier.check_layouts_all_or_nothing();
    if verifier.errors.is_empty() {
        Ok(())
    } else {
        Err(verifier.errors)
    }
}

/// What a block is to its owner; decides its terminator and how errors name it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BlockRole {
    Entry,
    ForBody,
    Then,
    Else,
}

/// Where a value is defined, for naming it in errors.
#[derive(Clone, Copy)]
enum DefSite {
    KernelParam,
    /// A result of this instruction, or a parameter of a block it owns.
    Inst(Inst),
}

struct Verifier<'k> {
    kernel: &'k Kernel,
    printer: Printer<'k>,
    errors: Vec<VerifyError>,
    /// Values whose definition dominates the point the walk has reached.
    visible: SecondaryMap<Value, bool>,
    seen_blocks: EntitySet<Block>,
    seen_insts: EntitySet<Inst>,
    /// The first tiles found with and without a layout (they must not both exist).
    first_with_layout: Option<Value>,
    first_without_layout: Option<Value>,
}

fn is_power_of_two(x: u32) -> bool {
    x != 0 && x & (x - 1) == 0
}

fn is_permutation(order: &[u32], rank: usize) -> bool {
    let mut seen = vec![false; rank];
    order.len() == rank
        && order.iter().all(|&d| match seen.get_mut(d as usize) {
            Some(slot) if !*slot => {
                *slot = true;
                true
            }
            _ => false,
        })
}

fn shape_text(shape: &[u32]) -> String {
    let dims: Vec<String> = shape.iter().map(u32::to_string).collect();
    format!("[{}]", dims.join(", "))
}

/// Whether a constant can be a value of `dtype`.
fn const_fits(value: ConstValue, dtype: DType) -> bool {
    match (value, dtype) {
        (ConstValue::Bool(_), DType::I1) => true,
        (ConstValue::Int(i), DType::I32) => i32::try_from(i).is_ok(),
        (ConstValue::Int(_), DType::I64) => true,
        (ConstValue::Int(_) | ConstValue::Float(_), d) => d.is_float(),
        _ => false,
    }
}

/// Why `layout` cannot describe a tile of rank `rank`, if it cannot.
fn layout_problem(layout: &Layout, rank: usize) -> Option<String> {
    match layout {
        Layout::Blocked(b) => {
            let lists = [
                ("spt", &b.size_per_thread),
                ("tpw", &b.threads_per_warp),
                ("wpc", &b.warps_per_cta),
                ("order", &b.order),
            ];
            for (name, list) in lists {
                if list.len() != rank {
                    return Some(format!(
                        "#blocked `{name}` is {list:?}, not {rank} entries for a rank-{rank} tile"
                    ));
                }
            }
            if !is_permutation(&b.order, rank) {
                return Some(format!(
                    "#blocked `order` {:?} is not a permutation",
                    b.order
                ));
            }
            let threads: u64 = b
                .threads_per_warp
                .iter()
                .fold(1u64, |acc, &t| acc.saturating_mul(t as u64));
            if threads != 32 {
                return Some(format!(
                    "#blocked `tpw` has {threads} threads per warp, not 32"
                ));
            }
            None
        }
        Layout::Slice { dim, parent } => {
            if *dim as usize > rank {
                return Some(format!(
                    "#slice dim {dim} is out of range for a parent of rank {}",
                    rank + 1
                ));
            }
            layout_problem(parent, rank + 1).map(|p| format!("in the #slice parent, {p}"))
        }
        Layout::Mma(m) => {
            if rank != 2 {
                Some(format!("#mma is for rank-2 tiles, not rank {rank}"))
            } else if !matches!(m.version, 2 | 3) {
                Some(format!("#mma version v{} is not v2 or v3", m.version))
            } else if m.warps_per_cta.len() != 2 {
                Some(format!(
                    "#mma `wpc` has {} entries, not 2",
                    m.warps_per_cta.len()
                ))
            } else {
                None
            }
        }
        Layout::DotOperand {
            op_idx,
            parent,
            k_width,
        } => {
            if rank != 2 {
                Some(format!("#dot_op is for rank-2 tiles, not rank {rank}"))
            } else if *op_idx > 1 {
                Some(format!("#dot_op operand index {op_idx} is not 0 or 1"))
            } else if *k_width == 0 {
                Some("#dot_op `kw` is 0".to_string())
            } else if !matches!(**parent, Layout::Mma(_)) {
                Some("#dot_op's parent is not an #mma layout".to_string())
            } else {
                layout_problem(parent, 2).map(|p| format!("in the #dot_op parent, {p}"))
            }
        }
        Layout::Shared(s) => {
            if !is_permutation(&s.order, rank) {
                Some(format!(
                    "#shared `order` {:?} is not a permutation of {rank} dims",
                    s.order
                ))
            } else if s.vec == 0 || s.per_phase == 0 || s.max_phase == 0 {
                Some("#shared `vec`, `per_phase` and `max_phase` must be positive".to_string())
            } else {
                None
            }
        }
    }
}

impl<'k> Verifier<'k> {
    fn kernel_location(&self) -> String {
        format!("kernel @{}", self.kernel.name)
    }

    fn error(&mut self, location: String, message: impl Into<String>) {
        self.errors.push(VerifyError {
            location,
            message: message.into(),
        });
    }

    fn inst_error(&mut self, inst: Inst, message: impl Into<String>) {
        let location = self.printer.inst_text(inst);
        self.error(location, message);
    }

    fn ty(&self, v: Value) -> Option<&'k Type> {
        self.kernel.values.get(v).map(|d| &d.ty)
    }

    fn show(&self, ty: &Type) -> String {
        self.printer.type_text(ty)
    }

    fn name(&self, v: Value) -> String {
        self.printer.value_text(v)
    }

    /// `%x (tile<f32, [64]>)`-style text for messages.
    fn named_type(&self, v: Value) -> String {
        match self.ty(v) {
            Some(ty) => format!("{} ({})", self.name(v), self.show(ty)),
            None => self.name(v),
        }
    }

    // --- header ---

    fn check_header(&mut self) {
        let k = self.kernel;
        let here = self.kernel_location();
        let Some(entry) = k.blocks.get(k.entry) else {
            self.error(here, format!("the entry block {} does not exist", k.entry));
            return;
        };
        if entry.parent.is_some() {
            self.error(here.clone(), "the entry block has a parent instruction");
        }
        let param_values: Vec<Value> = k.params.iter().map(|p| p.value).collect();
        if entry.params != param_values {
            self.error(
                here.clone(),
                "the entry block's parameters are not exactly the kernel parameters",
            );
        }
        let mut names = HashSet::new();
        for param in &k.params {
            let location = format!("{here}, parameter {}", self.name(param.value));
            if !names.insert(param.name.as_str()) {
                self.error(location.clone(), "two kernel parameters have this name");
            }
            match self.ty(param.value) {
                None => self.error(location, "its value does not exist"),
                Some(Type::Tile(_)) => self.error(
                    location,
                    "kernel parameters are tensors or scalars, not tiles",
                ),
                Some(_) => {}
            }
        }
        let mut symbols = HashSet::new();
        for symbol in &k.symbols {
            if !symbols.insert(symbol.as_str()) {
                self.error(
                    here.clone(),
                    format!("shape symbol `{symbol}` is listed twice"),
                );
            }
        }
        if k.grid.is_empty() || k.grid.len() > 3 {
            self.error(
                here.clone(),
                format!("the grid has {} axes; it needs 1 to 3", k.grid.len()),
            );
        }
        for expr in &k.grid {
            if let Some(bad) = Self::missing_grid_symbol(expr, k.symbols.len()) {
                self.error(
                    here.clone(),
                    format!("a grid expression names symbol #{bad}, which does not exist"),
                );
            }
        }
    }

    fn missing_grid_symbol(expr: &GridExpr, symbol_count: usize) -> Option<u32> {
        match expr {
            GridExpr::Const(_) => None,
            GridExpr::Sym(s) => (*s as usize >= symbol_count).then_some(*s),
            GridExpr::Binary(_, a, b) => Self::missing_grid_symbol(a, symbol_count)
                .or_else(|| Self::missing_grid_symbol(b, symbol_count)),
        }
    }

    // --- structure ---

    fn block_location(&self, owner: Option<Inst>, role: BlockRole) -> String {
        match (owner, role) {
            (Some(inst), BlockRole::ForBody) => format!("{}, body", self.printer.inst_text(inst)),
            (Some(inst), BlockRole::Then) => {
                format!("{}, then block", self.printer.inst_text(inst))
            }
            (Some(inst), _) => format!("{}, else block", self.printer.inst_text(inst)),
            (None, _) => format!("{}, entry block", self.kernel_location()),
        }
    }

    fn check_block(&mut self, block: Block, owner: Option<Inst>, role: BlockRole) {
        let k = self.kernel;
        let location = self.block_location(owner, role);
        let Some(data) = k.blocks.get(block) else {
            self.error(location, format!("{block} does not exist"));
            return;
        };
        if self.seen_blocks.contains(block) {
            self.error(
                location,
                format!("{block} is owned by more than one instruction"),
            );
            return;
        }
        self.seen_blocks.insert(block);
        if data.parent != owner {
            self.error(
                location.clone(),
                "the block's `parent` is not the instruction that owns it",
            );
        }

        // Values defined in this block, hidden again when the block ends.
        let mut scope = Vec::new();
        for (i, &param) in data.params.iter().enumerate() {
            match k.values.get(param) {
                None => {
                    self.error(
                        location.clone(),
                        format!("parameter {param} does not exist"),
                    );
                    continue;
                }
                Some(v) if v.def != ValueDef::Param(block, i as u32) => self.error(
                    location.clone(),
                    format!(
                        "the values table says parameter {} is defined elsewhere",
                        self.name(param)
                    ),
                ),
                Some(_) => {}
            }
            self.visible[param] = true;
            scope.push(param);
            let site = owner.map_or(DefSite::KernelParam, DefSite::Inst);
            self.check_value(param, site);
        }

        let terminator = if role == BlockRole::Entry {
            "return"
        } else {
            "yield"
        };
        if data.insts.is_empty() {
            self.error(
                location.clone(),
                format!("the block is empty; it must end in `{terminator}`"),
            );
        }
        for (position, &inst) in data.insts.iter().enumerate() {
            let Some(inst_data) = k.insts.get(inst) else {
                self.error(location.clone(), format!("{inst} does not exist"));
                continue;
            };
            if self.seen_insts.contains(inst) {
                self.inst_error(inst, "the instruction appears in more than one place");
                continue;
            }
            self.seen_insts.insert(inst);
            if k.inst_block[inst] != Some(block) {
                self.inst_error(inst, "`inst_block` does not name the block holding it");
            }
            let is_last = position + 1 == data.insts.len();
            if inst_data.is_terminator() && !is_last {
                self.inst_error(
                    inst,
                    format!("`{}` in the middle of a block", inst_data.opcode()),
                );
            }
            if is_last && inst_data.opcode() != terminator {
                self.error(
                    location.clone(),
                    format!(
                        "the block ends in `{}`; it must end in `{terminator}`",
                        inst_data.opcode()
                    ),
                );
            }

            self.check_operands_visible(inst, inst_data);
            let results_ok = self.check_results(inst, inst_data);
            if results_ok {
                self.check_inst_types(inst, inst_data);
            }
            let child_roles: &[BlockRole] = match inst_data {
                InstData::For { .. } => &[BlockRole::ForBody],
                _ => &[BlockRole::Then, BlockRole::Else],
            };
            for (child, &child_role) in inst_data.child_blocks().into_iter().zip(child_roles) {
                self.check_block(child, Some(inst), child_role);
                if results_ok {
                    self.check_yield(inst, child);
                }
            }
            for &result in &k.results[inst] {
                if !k.values.is_valid(result) {
                    continue;
                }
                self.visible[result] = true;
                scope.push(result);
                self.check_value(result, DefSite::Inst(inst));
            }
        }
        for value in scope {
            self.visible[value] = false;
        }
    }

    fn check_operands_visible(&mut self, inst: Inst, data: &InstData) {
        for arg in data.args() {
            if self.kernel.values.get(arg).is_none() {
                self.inst_error(inst, format!("operand {arg} does not exist"));
            } else if !self.visible[arg] {
                self.inst_error(
                    inst,
                    format!(
                        "{} is not defined before this use in this block or an enclosing one",
                        self.name(arg)
                    ),
                );
            }
        }
    }

    /// Checks the result count and the values table; false if types cannot be checked.
    fn check_results(&mut self, inst: Inst, data: &InstData) -> bool {
        let k = self.kernel;
        let results = &k.results[inst];
        let mut ok = true;
        for (i, &r) in results.iter().enumerate() {
            match k.values.get(r) {
                None => {
                    self.inst_error(inst, format!("result {r} does not exist"));
                    ok = false;
                }
                Some(v) if v.def != ValueDef::Result(inst, i as u32) => {
                    let message = format!(
                        "the values table says result {} is defined elsewhere",
                        self.name(r)
                    );
                    self.inst_error(inst, message);
                }
                Some(_) => {}
            }
        }
        let expected = match data {
            InstData::Store { .. } | InstData::Yield { .. } | InstData::Return => Some(0),
            InstData::For { init, .. } => Some(init.len()),
            InstData::If { .. } => None,
            _ => Some(1),
        };
        if let Some(expected) = expected {
            if results.len() != expected {
                self.inst_error(
                    inst,
                    format!(
                        "`{}` has {expected} result(s) here, not {}",
                        data.opcode(),
                        results.len()
                    ),
                );
                ok = false;
            }
        }
        // Operand types must exist for the type rules too.
        ok && data.args().iter().all(|&a| self.ty(a).is_some())
    }

    // --- types per opcode ---

    fn check_inst_types(&mut self, inst: Inst, data: &InstData) {
        let mut problems = Vec::new();
        self.type_problems(inst, data, &mut problems);
        for problem in problems {
            self.inst_error(inst, problem);
        }
    }

    /// The type rules of one instruction. Operand and result values exist (checked before).
    fn type_problems(&self, inst: Inst, data: &InstData, out: &mut Vec<String>) {
        let k = self.kernel;
        let ty = |v: Value| self.ty(v).expect("operands and results checked to exist");
        let results = &k.results[inst];
        let result_ty = results.first().map(|&r| ty(r));

        // Tensors flow only into the tensor operand of load, store and dim.
        let tensor_slot = match data {
            InstData::Load { tensor, .. }
            | InstData::Store { tensor, .. }
            | InstData::Dim { tensor, .. } => Some(*tensor),
            _ => None,
        };
        let mut reported = Vec::new();
        for (i, arg) in data.args().into_iter().enumerate() {
            let is_tensor_slot = i == 0 && tensor_slot == Some(arg);
            if !is_tensor_slot && matches!(ty(arg), Type::Tensor(_)) && !reported.contains(&arg) {
                reported.push(arg);
                out.push(format!(
                    "operand {} is a tensor; only load, store and dim take tensors",
                    self.name(arg)
                ));
            }
        }

        let i32_scalar = Type::Scalar(DType::I32);
        match data {
            InstData::Const { value } => {
                let r = result_ty.expect("one result");
                match r {
                    Type::Scalar(d) if const_fits(*value, *d) => {}
                    Type::Scalar(_) if value.as_dtype().is_some() => {
                        out.push(format!("the dtype {value} is not a constant value"))
                    }
                    Type::Scalar(d) => out.push(format!("constant {value} does not fit {d}")),
                    other => out.push(format!("a constant is a scalar, not {}", self.show(other))),
                }
            }
            InstData::ProgramId { axis } | InstData::NumPrograms { axis } => {
                if *axis as usize >= k.grid.len() {
                    out.push(format!(
                        "axis {axis} is out of range for a grid of rank {}",
                        k.grid.len()
                    ));
                }
                self.expect_type(result_ty, &i32_scalar, "the result", out);
            }
            InstData::Dim { tensor, dim } => {
                match ty(*tensor) {
                    Type::Tensor(t) if (*dim as usize) < t.dims.len() => {}
                    Type::Tensor(t) => out.push(format!(
                        "dim {dim} is out of range for {}, of rank {}",
                        self.name(*tensor),
                        t.dims.len()
                    )),
                    _ => out.push(format!("{} is not a tensor", self.named_type(*tensor))),
                }
                self.expect_type(result_ty, &i32_scalar, "the result", out);
            }
            InstData::Unary { op, arg } => {
                self.same_type(*arg, result_ty, out);
                let dtype = ty(*arg).dtype();
                let ok = match op {
                    UnaryOp::Neg => dtype.is_int() || dtype.is_float(),
                    UnaryOp::Not => dtype.is_bool(),
                    _ => dtype.is_float(),
                };
                if !ok {
                    out.push(format!("`{op}` does not apply to {dtype}"));
                }
            }
            InstData::Binary { op, args } => {
                self.operands_identical(args, out);
                self.same_type(args[0], result_ty, out);
                let dtype = ty(args[0]).dtype();
                let ok = match op {
                    BinaryOp::And | BinaryOp::Or => dtype.is_bool(),
                    _ => dtype.is_int() || dtype.is_float(),
                };
                if !ok {
                    out.push(format!("`{op}` does not apply to {dtype}"));
                }
            }
            InstData::Cmp { args, .. } => {
                self.operands_identical(args, out);
                let expected = ty(args[0]).with_dtype(DType::I1);
                self.expect_type(result_ty, &expected, "the result", out);
            }
            InstData::Select { args } => {
                let [cond, a, b] = *args;
                self.operands_identical(&[a, b], out);
                self.same_type(a, result_ty, out);
                let expected = ty(a).with_dtype(DType::I1);
                if *ty(cond) != expected {
                    out.push(format!(
                        "the condition {} is not {}",
                        self.named_type(cond),
                        self.show(&expected)
                    ));
                }
            }
            InstData::Cast { arg } => {
                let r = result_ty.expect("one result");
                let same_shape = match (ty(*arg), r) {
                    (Type::Scalar(_), Type::Scalar(_)) => true,
                    (Type::Tile(a), Type::Tile(b)) => a.shape == b.shape && a.layout == b.layout,
                    _ => false,
                };
                if !same_shape {
                    out.push(format!(
                        "a cast keeps the shape and layout: {} to {}",
                        self.show(ty(*arg)),
                        self.show(r)
                    ));
                }
            }
            InstData::Splat { arg } => {
                let r = result_ty.expect("one result");
                match (ty(*arg), r) {
                    (Type::Scalar(a), Type::Tile(t)) if *a == t.dtype => {}
                    (a, r) => out.push(format!(
                        "splat makes a tile from a scalar of its dtype, not {} from {}",
                        self.show(r),
                        self.show(a)
                    )),
                }
            }
            InstData::Broadcast { arg } => {
                let (Some(a), Some(r)) = self.tiles(*arg, result_ty, out) else {
                    return;
                };
                if a.dtype != r.dtype || a.rank() != r.rank() {
                    out.push(format!(
                        "broadcast keeps dtype and rank: {} to {}",
                        tile_text(a),
                        tile_text(r)
                    ));
                } else if a
                    .shape
                    .iter()
                    .zip(&r.shape)
                    .any(|(&x, &y)| x != y && x != 1)
                {
                    out.push(format!(
                        "broadcast only stretches size-1 dims: {} to {}",
                        shape_text(&a.shape),
                        shape_text(&r.shape)
                    ));
                }
            }
            InstData::ExpandDims { arg, axis } => {
                let (Some(a), Some(r)) = self.tiles(*arg, result_ty, out) else {
                    return;
                };
                let axis = *axis as usize;
                if axis > a.rank() {
                    out.push(format!(
                        "axis {axis} is out of range for rank {} (at most {})",
                        a.rank(),
                        a.rank()
                    ));
                    return;
                }
                let mut shape = a.shape.clone();
                shape.insert(axis, 1);
                self.expect_tile(r, a.dtype, &shape, out);
            }
            InstData::Iota { axis } => {
                let r = result_ty.expect("one result");
                match r {
                    Type::Tile(t) if t.dtype == DType::I32 => {
                        if *axis as usize >= t.rank() {
                            out.push(format!("axis {axis} is out of range for rank {}", t.rank()));
                        }
                    }
                    other => out.push(format!("iota makes an i32 tile, not {}", self.show(other))),
                }
            }
            InstData::Reduce { op, arg, axis } => {
                let Type::Tile(a) = ty(*arg) else {
                    out.push(format!(
                        "`{op}` reduces a tile, not {}",
                        self.named_type(*arg)
                    ));
                    return;
                };
                if !(a.dtype.is_int() || a.dtype.is_float()) {
                    out.push(format!("`{op}` does not apply to {}", a.dtype));
                }
                let axis = *axis as usize;
                if axis >= a.rank() {
                    out.push(format!("axis {axis} is out of range for rank {}", a.rank()));
                    return;
                }
                let mut shape = a.shape.clone();
                shape.remove(axis);
                let r = result_ty.expect("one result");
                if shape.is_empty() {
                    self.expect_type(Some(r), &Type::Scalar(a.dtype), "the result", out);
                } else {
                    self.expect_tile_type(r, a.dtype, &shape, out);
                }
            }
            InstData::Dot { args } => self.dot_problems(*args, result_ty, out),
            InstData::Transpose { arg } => {
                let (Some(a), Some(r)) = self.tiles(*arg, result_ty, out) else {
                    return;
                };
                if a.rank() != 2 {
                    out.push(format!(
                        "transpose needs a rank-2 tile, not {}",
                        tile_text(a)
                    ));
                    return;
                }
                self.expect_tile(r, a.dtype, &[a.shape[1], a.shape[0]], out);
            }
            InstData::ConvertLayout { arg } => {
                let (Some(a), Some(r)) = self.tiles(*arg, result_ty, out) else {
                    return;
                };
                self.expect_tile(r, a.dtype, &a.shape, out);
            }
            InstData::Load { tensor, dims, fill } => {
                let Some((t, lens)) = self.slice_problems(*tensor, dims, out) else {
                    return;
                };
                if !const_fits(*fill, t.dtype) {
                    out.push(format!("fill {fill} does not fit {}", t.dtype));
                }
                let r = result_ty.expect("one result");
                if lens.is_empty() {
                    self.expect_type(Some(r), &Type::Scalar(t.dtype), "the result", out);
                } else {
                    self.expect_tile_type(r, t.dtype, &lens, out);
                }
            }
            InstData::Store {
                tensor,
                dims,
                value,
            } => {
                let Some((t, lens)) = self.slice_problems(*tensor, dims, out) else {
                    return;
                };
                if !t.mutable {
                    out.push(format!("{} is not `&mut`", self.name(*tensor)));
                }
                let fits = match ty(*value) {
                    Type::Scalar(d) => lens.is_empty() && *d == t.dtype,
                    Type::Tile(v) => v.dtype == t.dtype && v.shape == lens,
                    Type::Tensor(_) => false,
                };
                if !fits {
                    let expected = if lens.is_empty() {
                        Type::Scalar(t.dtype)
                    } else {
                        Type::tile(t.dtype, lens)
                    };
                    out.push(format!(
                        "the stored value {} does not match the slice's {}",
                        self.named_type(*value),
                        self.show(&expected)
                    ));
                }
            }
            InstData::For {
                lower,
                upper,
                step,
                init,
                body,
            } => {
                for (what, bound) in [
                    ("lower bound", lower),
                    ("upper bound", upper),
                    ("step", step),
                ] {
                    if *ty(*bound) != i32_scalar {
                        out.push(format!(
                            "the {what} {} is not an i32 scalar",
                            self.named_type(*bound)
                        ));
                    }
                }
                let Some(body_data) = k.blocks.get(*body) else {
                    return;
                };
                let params = &body_data.params;
                if params.len() != init.len() + 1 {
                    out.push(format!(
                        "the body has {} parameter(s); it needs the induction variable and {} carried value(s)",
                        params.len(),
                        init.len()
                    ));
                    return;
                }
                if let Some(iv) = self.ty(params[0]) {
                    if *iv != i32_scalar {
                        out.push(format!(
                            "the induction variable {} is not an i32 scalar",
                            self.named_type(params[0])
                        ));
                    }
                }
                for (i, (&start, &result)) in init.iter().zip(results.iter()).enumerate() {
                    let result_type = ty(result);
                    if ty(start) != result_type {
                        out.push(format!(
                            "carried value {i}: the initial value {} does not have the result type {}",
                            self.named_type(start),
                            self.show(result_type)
                        ));
                    }
                    if self.ty(params[i + 1]).is_some_and(|p| p != result_type) {
                        out.push(format!(
                            "carried value {i}: the body parameter {} does not have the result type {}",
                            self.named_type(params[i + 1]),
                            self.show(result_type)
                        ));
                    }
                }
            }
            InstData::If {
                cond,
                then_block,
                else_block,
            } => {
                if *ty(*cond) != Type::Scalar(DType::I1) {
                    out.push(format!(
                        "the condition {} is not an i1 scalar",
                        self.named_type(*cond)
                    ));
                }
                for (what, block) in [("then", then_block), ("else", else_block)] {
                    if k.blocks.get(*block).is_some_and(|b| !b.params.is_empty()) {
                        out.push(format!("the {what} block has parameters"));
                    }
                }
            }
            InstData::Yield { .. } | InstData::Return => {}
        }
    }

    /// Problems with the `yield` ending `block`, against the results of its owner `inst`;
    /// reported at the `yield`.
    fn check_yield(&mut self, inst: Inst, block: Block) {
        let k = self.kernel;
        let Some(&last) = k.blocks.get(block).and_then(|b| b.insts.last()) else {
            return;
        };
        let Some(InstData::Yield { args }) = k.insts.get(last) else {
            return;
        };
        let results = &k.results[inst];
        let owner = k.insts.get(inst).map_or("?", InstData::opcode);
        if args.len() != results.len() {
            let message = format!(
                "yields {} value(s); the enclosing `{owner}` has {} result(s)",
                args.len(),
                results.len()
            );
            self.inst_error(last, message);
            return;
        }
        for (i, (&arg, &result)) in args.iter().zip(results.iter()).enumerate() {
            if let (Some(a), Some(r)) = (self.ty(arg), self.ty(result)) {
                if a != r {
                    let message = format!(
                        "yielded value {i}, {}, does not have the `{owner}` result type {}",
                        self.named_type(arg),
                        self.show(r)
                    );
                    self.inst_error(last, message);
                }
            }
        }
    }

    fn dot_problems(&self, args: [Value; 3], result_ty: Option<&Type>, out: &mut Vec<String>) {
        let tiles: Vec<Option<&TileType>> = args
            .iter()
            .map(|&a| self.ty(a).and_then(Type::as_tile))
            .collect();
        let (Some(a), Some(b), Some(acc)) = (tiles[0], tiles[1], tiles[2]) else {
            out.push("dot operands must be tiles".to_string());
            return;
        };
        if a.rank() != 2 || b.rank() != 2 || acc.rank() != 2 {
            out.push(format!(
                "dot operands must be rank 2: {}, {}, {}",
                tile_text(a),
                tile_text(b),
                tile_text(acc)
            ));
            return;
        }
        if a.dtype != b.dtype || !matches!(a.dtype, DType::F16 | DType::BF16) {
            out.push(format!(
                "dot inputs must be both f16 or both bf16, not {} and {}",
                a.dtype, b.dtype
            ));
        }
        if acc.dtype != DType::F32 {
            out.push(format!("the accumulator must be f32, not {}", acc.dtype));
        }
        let (m, k, k2, n) = (a.shape[0], a.shape[1], b.shape[0], b.shape[1]);
        if k != k2 {
            out.push(format!(
                "inner dims differ: a is {} and b is {}",
                shape_text(&a.shape),
                shape_text(&b.shape)
            ));
        }
        if acc.shape != [m, n] {
            out.push(format!(
                "the accumulator is {}, not [{m}, {n}]",
                shape_text(&acc.shape)
            ));
        }
        self.same_type(args[2], result_ty, out);
    }

    /// Checks the slice of a load or store; returns the tensor type and the tile shape.
    fn slice_problems(
        &self,
        tensor: Value,
        dims: &[SliceDim],
        out: &mut Vec<String>,
    ) -> Option<(&'k TensorType, Vec<u32>)> {
        let Some(Type::Tensor(t)) = self.ty(tensor) else {
            out.push(format!("{} is not a tensor", self.named_type(tensor)));
            return None;
        };
        if dims.len() != t.dims.len() {
            out.push(format!(
                "the slice has {} dim(s) but {} has rank {}",
                dims.len(),
                self.name(tensor),
                t.dims.len()
            ));
        }
        let mut lens = Vec::new();
        for dim in dims {
            let index = dim.value();
            if !matches!(self.ty(index), Some(Type::Scalar(DType::I32 | DType::I64))) {
                out.push(format!(
                    "slice index {} is not an i32 or i64 scalar",
                    self.named_type(index)
                ));
            }
            if let SliceDim::Range { len, .. } = dim {
                lens.push(*len);
            }
        }
        Some((t, lens))
    }

    /// Both values are tiles; reports the one that is not.
    fn tiles<'a>(
        &'a self,
        arg: Value,
        result_ty: Option<&'a Type>,
        out: &mut Vec<String>,
    ) -> (Option<&'a TileType>, Option<&'a TileType>) {
        let a = self.ty(arg).and_then(Type::as_tile);
        if a.is_none() {
            out.push(format!(
                "the operand {} is not a tile",
                self.named_type(arg)
            ));
        }
        let r = result_ty.and_then(Type::as_tile);
        if let (None, Some(ty)) = (r, result_ty) {
            out.push(format!("the result type {} is not a tile", self.show(ty)));
        }
        (a, r)
    }

    /// The result is a tile of this dtype and shape (layout aside).
    fn expect_tile(&self, r: &TileType, dtype: DType, shape: &[u32], out: &mut Vec<String>) {
        if r.dtype != dtype || r.shape != shape {
            out.push(format!(
                "the result type {} is not tile<{dtype}, {}>",
                tile_text(r),
                shape_text(shape)
            ));
        }
    }

    fn expect_tile_type(&self, r: &Type, dtype: DType, shape: &[u32], out: &mut Vec<String>) {
        match r {
            Type::Tile(t) => self.expect_tile(t, dtype, shape, out),
            other => out.push(format!(
                "the result type {} is not tile<{dtype}, {}>",
                self.show(other),
                shape_text(shape)
            )),
        }
    }

    fn expect_type(
        &self,
        actual: Option<&Type>,
        expected: &Type,
        what: &str,
        out: &mut Vec<String>,
    ) {
        if let Some(actual) = actual {
            if actual != expected {
                out.push(format!(
                    "{what} has type {}, not {}",
                    self.show(actual),
                    self.show(expected)
                ));
            }
        }
    }

    /// The result has exactly the type of `operand`.
    fn same_type(&self, operand: Value, result_ty: Option<&Type>, out: &mut Vec<String>) {
        if let (Some(a), Some(r)) = (self.ty(operand), result_ty) {
            if a != r {
                out.push(format!(
                    "the result type {} differs from the operand type {}",
                    self.show(r),
                    self.show(a)
                ));
            }
        }
    }

    fn operands_identical(&self, args: &[Value], out: &mut Vec<String>) {
        let types: Vec<&Type> = args.iter().filter_map(|&a| self.ty(a)).collect();
        if types.windows(2).any(|w| w[0] != w[1]) {
            let texts: Vec<String> = types.iter().map(|t| self.show(t)).collect();
            out.push(format!(
                "operands have different types ({})",
                texts.join(" and ")
            ));
        }
    }

    // --- types per value ---

    fn def_location(&self, value: Value, site: DefSite) -> String {
        match site {
            DefSite::KernelParam => {
                format!("{}, parameter {}", self.kernel_location(), self.name(value))
            }
            DefSite::Inst(inst) => self.printer.inst_text(inst),
        }
    }

    /// The rules every value's type obeys, wherever it is defined.
    fn check_value(&mut self, value: Value, site: DefSite) {
        let k = self.kernel;
        let Some(ty) = self.ty(value) else { return };
        let mut problems = Vec::new();
        match ty {
            Type::Scalar(_) => {}
            Type::Tile(t) => {
                if t.rank() == 0 {
                    problems.push(format!("{} has no dims; use a scalar", tile_text(t)));
                }
                if let Some(&bad) = t.shape.iter().find(|&&d| !is_power_of_two(d)) {
                    problems.push(format!(
                        "extent {bad} of {} is not a power of two",
                        tile_text(t)
                    ));
                }
                match &t.layout {
                    Some(layout) => {
                        self.first_with_layout.get_or_insert(value);
                        if let Some(problem) = layout_problem(layout, t.rank()) {
                            problems.push(format!(
                                "the layout of {} does not fit: {problem}",
                                self.name(value)
                            ));
                        }
                    }
                    None => {
                        self.first_without_layout.get_or_insert(value);
                    }
                }
            }
            Type::Tensor(t) => {
                if !k.params.iter().any(|p| p.value == value) {
                    problems.push(format!(
                        "{} is a tensor; tensors are only kernel parameters",
                        self.named_type(value)
                    ));
                }
                for dim in &t.dims {
                    if let Dim::Sym(s) = dim {
                        if *s as usize >= k.symbols.len() {
                            problems.push(format!(
                                "a tensor dim names symbol #{s}, which does not exist"
                            ));
                        }
                    }
                }
            }
        }
        for problem in problems {
            let location = self.def_location(value, site);
            self.error(location, problem);
        }
    }

    fn check_layouts_all_or_nothing(&mut self) {
        if let (Some(a), Some(b)) = (self.first_with_layout, self.first_without_layout) {
            let location = self.kernel_location();
            let message = format!(
                "tiles must all have layouts or none: {} has one but {} has none",
                self.named_type(a),
                self.named_type(b)
            );
            self.error(location, message);
        }
    }
}

fn tile_text(t: &TileType) -> String {
    super::print::tile_type_text(t)
}
