//! The IR text printer: turns a [`Kernel`] into its canonical text form.
//!
//! `crate::ir::parse` reads this text back, and `print(parse(print(k))) == print(k)` exactly.
//! The text form, by example:
//!
//! ```text
//! kernel @vector_add(%x: &f16[N], %y: &f16[N], %out: &mut f16[N])
//!     symbols [N]
//!     consts [BLOCK = 1024]
//!     grid [cdiv(N, 1024)]
//! {
//!     %pid = program_id 0 : i32
//!     %c1024 = const 1024 : i32
//!     %start = mul %pid, %c1024 : i32
//!     %xs = load %x[%start ..+ 1024] fill 0.0 : tile<f16, [1024]>
//!     %ys = load %y[%start ..+ 1024] fill 0.0 : tile<f16, [1024]>
//!     %0 = add %xs, %ys : tile<f16, [1024]>
//!     store %out[%start ..+ 1024], %0
//!     return
//! }
//! ```
//!
//! * Header: `kernel @NAME(PARAMS)`, then `symbols [..]` and `consts [NAME = VALUE, ..]` (each
//!   only when non-empty), then `grid [..]` (always), then the entry block in braces.
//! * Types: scalars are dtype names (`i1 i32 i64 f16 bf16 f32`); tiles are
//!   `tile<f32, [128, 64]>` or `tile<f32, [128, 64], LAYOUT>` with `Layout`'s `Display`;
//!   tensors are `&f16[B, H, 64]` or `&mut f16[..]`, whose dims are ints or shape symbols.
//! * Instructions: `RESULTS = OPCODE OPERANDS : TYPE` (`: (T1, T2)` for several results); the
//!   result types of `for` and `if` are their `-> (T, ..)` clause instead. Operands by opcode:
//!   `const 1.5`, `program_id 0`, `num_programs 0`, `dim %t, 0`, `iota axis 1`,
//!   `expand_dims %a, axis 1`, `reduce_sum %a, axis 1`, `load %t[%i, %j ..+ 64] fill 0.0`,
//!   `store %t[%i, %j ..+ 64], %v`, `yield %a, %b` (operands on the `yield` line), `return`,
//!   and a comma-separated value list for every other opcode (`add %a, %b`, `dot %a, %b, %c`).
//! * Control flow: `%r = for %i = %lo to %hi step %st iter(%acc = %init) -> (T) { .. }` (the
//!   `iter`/`->` clauses only with carried values); `%r = if %c -> (T) { .. } else { .. }`.
//!   Blocks print every instruction, including their `yield`/`return` terminator.
//! * Grid expressions: ints, symbols, `+ - * /` with the usual precedence (parentheses only
//!   where needed), and `cdiv(a, b)`, `min(a, b)`, `max(a, b)`.
//! * Constants print with `ConstValue`'s `Display`: `7`, `-1.5`, `1e-7`, `inf`, `-inf`, `nan`,
//!   `true`; the value of a dtype const (only in the `consts [..]` header) is a dtype name:
//!   `consts [DTYPE = bf16]`.
//!
//! Value names: kernel parameters print as `%NAME` with their parameter name. Another value
//! whose `ValueData::name` is `Some(n)` prints as `%n` when no other value has the name `n`,
//! else the values named `n` print as `%n.1`, `%n.2`, ... in order of definition, skipping
//! any name another value already prints with. Unnamed values print as `%0`, `%1`, ... in
//! order of definition. A printed name is `[A-Za-z_][A-Za-z0-9_]*` followed by any number of
//! `.[A-Za-z0-9_]+` segments; other characters in a name become `_`. "Order of definition" is
//! text order: a `for`'s results come before its body's parameters.
//!
//! The printer never panics, even on a malformed kernel (the verifier prints the instructions
//! it complains about): a dangling value prints as `%<v7>`, a dangling block as `<block3>`.
//! Such text does not read back, which is fine: it only describes broken kernels.

use super::entities::{Block, Inst, Value};
use super::instructions::{InstData, SliceDim};
use super::kernel::{GridExpr, GridOp, Kernel};
use super::types::{Dim, TileType, Type};
use cranelift_entity::{EntitySet, SecondaryMap};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

/// Indentation of one block nesting level.
const INDENT: &str = "    ";

/// The canonical text of one kernel, ending in a newline.
pub fn print_kernel(kernel: &Kernel) -> String {
    Printer::new(kernel).kernel_text()
}

/// The text of several kernels, separated by blank lines (`crate::ir::parse::parse_module`
/// reads it back).
pub fn print_module(kernels: &[Kernel]) -> String {
    let texts: Vec<String> = kernels.iter().map(print_kernel).collect();
    texts.join("\n")
}

/// A type as IR text. Tensor dims name `symbols` (the kernel's shape symbols).
pub fn type_text(ty: &Type, symbols: &[String]) -> String {
    match ty {
        Type::Scalar(d) => d.name().to_string(),
        Type::Tile(t) => tile_type_text(t),
        Type::Tensor(t) => {
            let dims: Vec<String> = t
                .dims
                .iter()
                .map(|d| match d {
                    Dim::Const(c) => c.to_string(),
                    Dim::Sym(s) => symbol_text(symbols, *s),
                })
                .collect();
            let mutability = if t.mutable { "mut " } else { "" };
            format!("&{mutability}{}[{}]", t.dtype, dims.join(", "))
        }
    }
}

/// A tile type as IR text: `tile<f32, [128, 64]>` or `tile<f32, [128, 64], #mma<...>>`.
pub fn tile_type_text(tile: &TileType) -> String {
    let shape: Vec<String> = tile.shape.iter().map(u32::to_string).collect();
    match &tile.layout {
        Some(layout) => format!("tile<{}, [{}], {layout}>", tile.dtype, shape.join(", ")),
        None => format!("tile<{}, [{}]>", tile.dtype, shape.join(", ")),
    }
}

/// A grid expression as IR text, with parentheses only where precedence needs them.
pub fn grid_expr_text(expr: &GridExpr, symbols: &[String]) -> String {
    let mut out = String::new();
    write_grid_expr(&mut out, expr, symbols);
    out
}

fn symbol_text(symbols: &[String], index: u32) -> String {
    match symbols.get(index as usize) {
        Some(name) => name.clone(),
        None => format!("<sym{index}>"),
    }
}

/// Binding strength of a grid expression's top operator; calls and atoms bind tightest.
fn grid_precedence(expr: &GridExpr) -> u8 {
    match expr {
        GridExpr::Binary(GridOp::Add | GridOp::Sub, ..) => 1,
        GridExpr::Binary(GridOp::Mul | GridOp::Div, ..) => 2,
        _ => 3,
    }
}

fn write_grid_expr(out: &mut String, expr: &GridExpr, symbols: &[String]) {
    match expr {
        GridExpr::Const(c) => {
            let _ = write!(out, "{c}");
        }
        GridExpr::Sym(s) => out.push_str(&symbol_text(symbols, *s)),
        GridExpr::Binary(op @ (GridOp::CeilDiv | GridOp::Min | GridOp::Max), a, b) => {
            let name = match op {
                GridOp::CeilDiv => "cdiv",
                GridOp::Min => "min",
                _ => "max",
            };
            out.push_str(name);
            out.push('(');
            write_grid_expr(out, a, symbols);
            out.push_str(", ");
            write_grid_expr(out, b, symbols);
            out.push(')');
        }
        GridExpr::Binary(op, a, b) => {
            let symbol = match op {
                GridOp::Add => " + ",
                GridOp::Sub => " - ",
                GridOp::Mul => " * ",
                _ => " / ",
            };
            let own = grid_precedence(expr);
            // Operators associate to the left, so a right operand of equal precedence needs
            // parentheses to keep its tree shape: `a - (b - c)`, `a * (b / c)`.
            write_grid_operand(out, a, symbols, grid_precedence(a) < own);
            out.push_str(symbol);
            write_grid_operand(out, b, symbols, grid_precedence(b) <= own);
        }
    }
}

fn write_grid_operand(out: &mut String, expr: &GridExpr, symbols: &[String], parens: bool) {
    if parens {
        out.push('(');
    }
    write_grid_expr(out, expr, symbols);
    if parens {
        out.push(')');
    }
}

/// Prints one kernel with a fixed naming of its values. The verifier uses it to quote the
/// instructions it reports.
pub struct Printer<'k> {
    kernel: &'k Kernel,
    /// The printed name of every value defined in the kernel's block tree, without `%`.
    names: SecondaryMap<Value, Option<String>>,
}

impl<'k> Printer<'k> {
    pub fn new(kernel: &'k Kernel) -> Self {
        let names = assign_names(kernel);
        Printer { kernel, names }
    }

    /// A value as printed, with its `%`.
    pub fn value_text(&self, v: Value) -> String {
        match &self.names[v] {
            Some(name) => format!("%{name}"),
            None => format!("%<{v}>"),
        }
    }

    pub fn type_text(&self, ty: &Type) -> String {
        type_text(ty, &self.kernel.symbols)
    }

    /// The type of a value as printed (`<v7?>` for a dangling value).
    fn value_type_text(&self, v: Value) -> String {
        match self.kernel.values.get(v) {
            Some(data) => self.type_text(&data.ty),
            None => format!("<{v}?>"),
        }
    }

    /// The kernel's signature line and header clauses, without the body.
    pub fn header_text(&self) -> String {
        let k = self.kernel;
        let params: Vec<String> = k
            .params
            .iter()
            .map(|p| {
                format!(
                    "{}: {}",
                    self.value_text(p.value),
                    self.value_type_text(p.value)
                )
            })
            .collect();
        let mut out = format!("kernel @{}({})\n", k.name, params.join(", "));
        if !k.symbols.is_empty() {
            let _ = writeln!(out, "{INDENT}symbols [{}]", k.symbols.join(", "));
        }
        if !k.consts.is_empty() {
            let consts: Vec<String> = k
                .consts
                .iter()
                .map(|(name, value)| format!("{name} = {value}"))
                .collect();
            let _ = writeln!(out, "{INDENT}consts [{}]", consts.join(", "));
        }
        let grid: Vec<String> = k
            .grid
            .iter()
            .map(|g| grid_expr_text(g, &k.symbols))
            .collect();
        let _ = writeln!(out, "{INDENT}grid [{}]", grid.join(", "));
        out
    }

    /// The whole kernel.
    pub fn kernel_text(&self) -> String {
        let mut out = self.header_text();
        out.push_str("{\n");
        let mut printed = EntitySet::new();
        self.write_block_body(&mut out, self.kernel.entry, 1, &mut printed);
        out.push_str("}\n");
        out
    }

    /// The instructions of `block`, one per line, at nesting `depth`. `printed` guards against
    /// a malformed kernel whose blocks are shared or cyclic.
    fn write_block_body(
        &self,
        out: &mut String,
        block: Block,
        depth: usize,
        printed: &mut EntitySet<Block>,
    ) {
        let indent = INDENT.repeat(depth);
        let Some(data) = self.kernel.blocks.get(block) else {
            let _ = writeln!(out, "{indent}<{block} does not exist>");
            return;
        };
        if printed.contains(block) {
            let _ = writeln!(out, "{indent}<{block} again>");
            return;
        }
        printed.insert(block);
        for &inst in &data.insts {
            let _ = write!(out, "{indent}{}", self.inst_text(inst));
            match self.kernel.insts.get(inst) {
                Some(InstData::For { body, .. }) => {
                    out.push_str(" {\n");
                    self.write_block_body(out, *body, depth + 1, printed);
                    let _ = writeln!(out, "{indent}}}");
                }
                Some(InstData::If {
                    then_block,
                    else_block,
                    ..
                }) => {
                    out.push_str(" {\n");
                    self.write_block_body(out, *then_block, depth + 1, printed);
                    let _ = writeln!(out, "{indent}}} else {{");
                    self.write_block_body(out, *else_block, depth + 1, printed);
                    let _ = writeln!(out, "{indent}}}");
                }
                _ => out.push('\n'),
            }
        }
    }

    /// One instruction on one line; for `for` and `if`, the line that opens their blocks
    /// (without the ` {`).
    pub fn inst_text(&self, inst: Inst) -> String {
        let Some(data) = self.kernel.insts.get(inst) else {
            return format!("<{inst} does not exist>");
        };
        let results = &self.kernel.results[inst];
        let mut out = String::new();
        if !results.is_empty() {
            let names: Vec<String> = results.iter().map(|&r| self.value_text(r)).collect();
            let _ = write!(out, "{} = ", names.join(", "));
        }
        out.push_str(data.opcode());
        let v = |value: Value| self.value_text(value);
        let list = |values: &[Value]| {
            let texts: Vec<String> = values.iter().map(|&x| self.value_text(x)).collect();
            texts.join(", ")
        };
        match data {
            InstData::Const { value } => {
                let _ = write!(out, " {value}");
            }
            InstData::ProgramId { axis } | InstData::NumPrograms { axis } => {
                let _ = write!(out, " {axis}");
            }
            InstData::Dim { tensor, dim } => {
                let _ = write!(out, " {}, {dim}", v(*tensor));
            }
            InstData::Unary { arg, .. }
            | InstData::Cast { arg }
            | InstData::Splat { arg }
            | InstData::Broadcast { arg }
            | InstData::Transpose { arg }
            | InstData::ConvertLayout { arg } => {
                let _ = write!(out, " {}", v(*arg));
            }
            InstData::Binary { args, .. } | InstData::Cmp { args, .. } => {
                let _ = write!(out, " {}", list(args));
            }
            InstData::Select { args } | InstData::Dot { args } => {
                let _ = write!(out, " {}", list(args));
            }
            InstData::ExpandDims { arg, axis } | InstData::Reduce { arg, axis, .. } => {
                let _ = write!(out, " {}, axis {axis}", v(*arg));
            }
            InstData::Iota { axis } => {
                let _ = write!(out, " axis {axis}");
            }
            InstData::Load { tensor, dims, fill } => {
                let _ = write!(
                    out,
                    " {}[{}] fill {fill}",
                    v(*tensor),
                    self.slice_text(dims)
                );
            }
            InstData::Store {
                tensor,
                dims,
                value,
            } => {
                let _ = write!(
                    out,
                    " {}[{}], {}",
                    v(*tensor),
                    self.slice_text(dims),
                    v(*value)
                );
            }
            InstData::Yield { args } => {
                if !args.is_empty() {
                    let _ = write!(out, " {}", list(args));
                }
            }
            InstData::Return => {}
            InstData::For {
                lower,
                upper,
                step,
                init,
                body,
            } => {
                let params = self
                    .kernel
                    .blocks
                    .get(*body)
                    .map(|b| b.params.as_slice())
                    .unwrap_or(&[]);
                let iv = params.first().map_or("%<missing>".to_string(), |&p| v(p));
                let _ = write!(
                    out,
                    " {iv} = {} to {} step {}",
                    v(*lower),
                    v(*upper),
                    v(*step)
                );
                let carried = params.get(1..).unwrap_or(&[]);
                if !init.is_empty() || !carried.is_empty() {
                    let pairs: Vec<String> = (0..init.len().max(carried.len()))
                        .map(|i| {
                            let param = carried.get(i).map_or("%<missing>".into(), |&p| v(p));
                            let start = init.get(i).map_or("%<missing>".into(), |&x| v(x));
                            format!("{param} = {start}")
                        })
                        .collect();
                    let _ = write!(out, " iter({})", pairs.join(", "));
                }
                self.write_arrow_types(&mut out, results);
            }
            InstData::If { cond, .. } => {
                let _ = write!(out, " {}", v(*cond));
                self.write_arrow_types(&mut out, results);
            }
        }
        if !matches!(data, InstData::For { .. } | InstData::If { .. }) {
            match results.len() {
                0 => {}
                1 => {
                    let _ = write!(out, " : {}", self.value_type_text(results[0]));
                }
                _ => {
                    let types: Vec<String> =
                        results.iter().map(|&r| self.value_type_text(r)).collect();
                    let _ = write!(out, " : ({})", types.join(", "));
                }
            }
        }
        out
    }

    fn write_arrow_types(&self, out: &mut String, results: &[Value]) {
        if !results.is_empty() {
            let types: Vec<String> = results.iter().map(|&r| self.value_type_text(r)).collect();
            let _ = write!(out, " -> ({})", types.join(", "));
        }
    }

    fn slice_text(&self, dims: &[SliceDim]) -> String {
        let texts: Vec<String> = dims
            .iter()
            .map(|d| match d {
                SliceDim::Index(i) => self.value_text(*i),
                SliceDim::Range { start, len } => format!("{} ..+ {len}", self.value_text(*start)),
            })
            .collect();
        texts.join(", ")
    }
}

/// The values of `kernel` in text order of their definitions: parameters, then each
/// instruction's results followed by its child blocks' parameters and contents.
fn definition_order(kernel: &Kernel) -> Vec<Value> {
    let mut order: Vec<Value> = kernel.params.iter().map(|p| p.value).collect();
    let mut visited = EntitySet::new();
    collect_block_definitions(kernel, kernel.entry, &mut order, &mut visited);
    order
}

fn collect_block_definitions(
    kernel: &Kernel,
    block: Block,
    order: &mut Vec<Value>,
    visited: &mut EntitySet<Block>,
) {
    let Some(data) = kernel.blocks.get(block) else {
        return;
    };
    if visited.contains(block) {
        return;
    }
    visited.insert(block);
    for &inst in &data.insts {
        let Some(inst_data) = kernel.insts.get(inst) else {
            continue;
        };
        order.extend_from_slice(&kernel.results[inst]);
        for child in inst_data.child_blocks() {
            if let Some(child_data) = kernel.blocks.get(child) {
                // The entry block's parameters are the kernel parameters, named above.
                if child != kernel.entry {
                    order.extend_from_slice(&child_data.params);
                }
            }
            collect_block_definitions(kernel, child, order, visited);
        }
    }
}

/// A name reduced to what the reader accepts: non-empty `[A-Za-z0-9_]` segments joined by
/// single dots, not starting with a digit (so it cannot look like an unnamed `%12`).
fn sanitize_name(name: &str) -> String {
    let segments: Vec<String> = name
        .split('.')
        .map(|segment| {
            let clean: String = segment
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            if clean.is_empty() {
                "_".to_string()
            } else {
                clean
            }
        })
        .collect();
    let joined = segments.join(".");
    if joined.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{joined}")
    } else {
        joined
    }
}

/// Gives every value defined in the kernel its printed name (see the module doc).
fn assign_names(kernel: &Kernel) -> SecondaryMap<Value, Option<String>> {
    let order = definition_order(kernel);
    let param_values: HashSet<Value> = kernel.params.iter().map(|p| p.value).collect();
    let param_names: HashMap<Value, String> = kernel
        .params
        .iter()
        .map(|p| (p.value, sanitize_name(&p.name)))
        .collect();

    // The source name of each value (parameters by their parameter name), sanitized.
    let mut seen = HashSet::new();
    let mut source_names: Vec<(Value, Option<String>)> = Vec::new();
    for &v in &order {
        // A malformed kernel may define a value twice or a value that does not exist; name
        // the first definition of existing values only.
        if !kernel.values.is_valid(v) || !seen.insert(v) {
            continue;
        }
        let name = match param_names.get(&v) {
            Some(name) => Some(name.clone()),
            None => kernel
                .values
                .get(v)
                .and_then(|d| d.name.as_deref())
                .map(sanitize_name),
        };
        source_names.push((v, name));
    }

    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (_, name) in &source_names {
        if let Some(name) = name {
            *counts.entry(name.as_str()).or_default() += 1;
        }
    }

    // Names that print as they are: parameters (the first of each name) and unique names.
    // Suffixed names must avoid them.
    let mut taken: HashSet<String> = HashSet::new();
    let mut plain: HashSet<Value> = HashSet::new();
    for (v, name) in &source_names {
        let Some(name) = name else { continue };
        let is_param = param_values.contains(v);
        if (is_param || counts[name.as_str()] == 1) && taken.insert(name.clone()) {
            plain.insert(*v);
        }
    }

    let mut names = SecondaryMap::new();
    let mut next_suffix: HashMap<String, usize> = HashMap::new();
    let mut next_number = 0usize;
    for (v, name) in source_names {
        let printed = match name {
            Some(name) if plain.contains(&v) => name,
            Some(name) => {
                let suffix = next_suffix.entry(name.clone()).or_insert(1);
                loop {
                    let candidate = format!("{name}.{suffix}");
                    *suffix += 1;
                    if taken.insert(candidate.clone()) {
                        break candidate;
                    }
                }
            }
            None => {
                next_number += 1;
                (next_number - 1).to_string()
            }
        };
        names[v] = Some(printed);
    }
    names
}
