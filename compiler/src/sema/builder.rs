//! The lowering state ([`Lowerer`]) and its IR-emitting helpers: the insertion cursor (a stack
//! of open blocks), cached `const` instructions, shape-symbol `dim` reads hoisted to the top of
//! the kernel, and the explicit `splat`/`broadcast` that make element-wise operands identical.

use super::env::{Env, Operand};
use super::ops::{literal_diag, OperandDType};
use super::types::{adapt_literal, check_tile_shape, default_literal_dtype, ShapeError};
use crate::diagnostics::Diagnostic;
use crate::ir::{Block, ConstValue, DType, InstData, Kernel, TensorType, TileType, Type, Value};
use crate::syntax::ast::{self, Span};
use std::collections::HashMap;

/// A tensor parameter as sema knows it.
pub struct TensorParam {
    pub name: String,
    pub value: Value,
    pub ty: TensorType,
    /// The whole parameter, for "declared here" labels.
    pub span: Span,
}

/// Where a shape symbol is read from, and its value once read.
pub struct SymbolInfo {
    pub tensor: Value,
    pub dim: u8,
    pub value: Option<Value>,
}

/// A block being filled, with the consts already emitted in it.
struct OpenBlock {
    block: Block,
    consts: HashMap<(DType, u64), Value>,
}

pub struct Lowerer<'a> {
    pub ast: &'a ast::Kernel,
    pub k: Kernel,
    pub diags: Vec<Diagnostic>,
    pub env: Env,
    pub tensors: Vec<TensorParam>,
    pub symbols: Vec<SymbolInfo>,
    /// Number of grid axes (for `program_id` axis checks).
    pub grid_rank: usize,
    open: Vec<OpenBlock>,
    /// How many hoisted instructions (`dim` reads) sit at the top of the entry block.
    hoisted: usize,
    /// Current expression nesting, to refuse absurdly deep input instead of overflowing.
    pub depth: usize,
}

fn const_key(v: ConstValue) -> u64 {
    match v {
        ConstValue::Int(i) => i as u64,
        ConstValue::Float(x) => x.to_bits(),
        ConstValue::Bool(b) => b as u64,
        ConstValue::DType(d) => d as u64,
    }
}

impl<'a> Lowerer<'a> {
    pub fn new(ast: &'a ast::Kernel) -> Self {
        let k = Kernel::new(ast.name.name.clone());
        let entry = k.entry;
        Lowerer {
            ast,
            k,
            diags: Vec::new(),
            env: Env::default(),
            tensors: Vec::new(),
            symbols: Vec::new(),
            grid_rank: 0,
            open: vec![OpenBlock {
                block: entry,
                consts: HashMap::new(),
            }],
            hoisted: 0,
            depth: 0,
        }
    }

    pub fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// The block instructions are appended to.
    pub fn cur(&self) -> Block {
        self.open.last().map_or(self.k.entry, |b| b.block)
    }

    /// Runs `f` with `block` as the insertion block.
    pub fn in_block<T>(&mut self, block: Block, f: impl FnOnce(&mut Self) -> T) -> T {
        self.open.push(OpenBlock {
            block,
            consts: HashMap::new(),
        });
        let r = f(self);
        self.open.pop();
        r
    }

    pub fn emit(&mut self, data: InstData, ty: Type) -> Value {
        let inst = self.k.append_inst(self.cur(), data, &[ty]);
        self.k.result(inst)
    }

    pub fn emit_no_result(&mut self, data: InstData) {
        self.k.append_inst(self.cur(), data, &[]);
    }

    pub fn ty(&self, v: Value) -> &Type {
        self.k.value_type(v)
    }

    pub fn shape_of(&self, v: Value) -> Option<Vec<u32>> {
        self.ty(v).shape().map(<[u32]>::to_vec)
    }

    /// A scalar `const` of `dtype`, reusing one already emitted in an enclosing open block.
    pub fn const_value(&mut self, v: ConstValue, dtype: DType) -> Value {
        let key = (dtype, const_key(v));
        for ob in self.open.iter().rev() {
            if let Some(&val) = ob.consts.get(&key) {
                return val;
            }
        }
        let val = self.emit(InstData::Const { value: v }, Type::Scalar(dtype));
        if let Some(ob) = self.open.last_mut() {
            ob.consts.insert(key, val);
        }
        val
    }

    /// The value of shape symbol `index`: a `dim` read, emitted once at the top of the kernel.
    pub fn symbol_value(&mut self, index: usize) -> Value {
        let info = &self.symbols[index];
        if let Some(v) = info.value {
            return v;
        }
        let data = InstData::Dim {
            tensor: info.tensor,
            dim: info.dim,
        };
        let inst = self.k.create_inst(data, &[Type::Scalar(DType::I32)]);
        let entry = self.k.entry;
        self.k.blocks[entry].insts.insert(self.hoisted, inst);
        self.k.inst_block[inst] = Some(entry);
        self.hoisted += 1;
        let v = self.k.result(inst);
        if let Some(name) = self.k.symbols.get(index).cloned() {
            self.k.set_name(v, name);
        }
        self.symbols[index].value = Some(v);
        v
    }

    /// A scalar `const` emitted afresh (not shared), for a value that gets a variable's name.
    pub fn fresh_const(&mut self, v: ConstValue, dtype: DType) -> Value {
        self.emit(InstData::Const { value: v }, Type::Scalar(dtype))
    }

    /// Names a value after the variable it is bound to, unless it already has a name or is a
    /// shared `const` (which other uses may read under other names).
    pub fn name_value(&mut self, v: Value, name: &str) {
        if self.k.values[v].name.is_none() && self.const_of(v).is_none() {
            self.k.set_name(v, name);
        }
    }

    /// The constant a value holds, if a `const` instruction defines it.
    pub fn const_of(&self, v: Value) -> Option<ConstValue> {
        match self.k.values[v].def {
            crate::ir::ValueDef::Result(inst, _) => match self.k.insts[inst] {
                InstData::Const { value } => Some(value),
                _ => None,
            },
            crate::ir::ValueDef::Param(..) => None,
        }
    }

    /// The dtype facts the operator rules need; reports operands that are not values
    /// (tensors, dtypes, `()`) and returns `None` for them and for errors.
    pub fn operand_dtype(&mut self, op: Operand, span: Span) -> Option<OperandDType> {
        match op {
            Operand::Value(v) => Some(OperandDType::Typed(self.ty(v).dtype())),
            Operand::Const(_, d) => Some(OperandDType::Typed(d)),
            Operand::Literal(ConstValue::Bool(_)) => Some(OperandDType::Typed(DType::I1)),
            Operand::Literal(l) => Some(OperandDType::Literal(l)),
            Operand::Error => None,
            other => {
                self.not_a_value(other, span);
                None
            }
        }
    }

    /// Reports a tensor, dtype or `()` used where a value is needed.
    pub fn not_a_value(&mut self, op: Operand, span: Span) {
        let d = match op {
            Operand::Tensor(i) => {
                let name = self.tensors.get(i).map_or("?", |t| t.name.as_str());
                let mut d = Diagnostic::error(
                    "tilec::tensor_as_value",
                    format!("tensor `{name}` used as a value"),
                    span,
                    "a tensor lives in global memory",
                )
                .with_help(format!("read a tile of it with `load({name}[..])`"));
                if let Some(t) = self.tensors.get(i) {
                    d = d.with_label(t.span, "declared here");
                }
                d
            }
            Operand::DType(d, Some(decl)) => {
                let name = self
                    .ast
                    .params
                    .iter()
                    .find(|p| p.name.span == decl)
                    .map_or("?", |p| p.name.name.as_str());
                super::dtypes::dtype_const_as_number_diag(name, d, span, decl)
            }
            Operand::DType(d, None) => Diagnostic::error(
                "tilec::dtype_as_value",
                format!(
                    "the dtype `{}` used as a value",
                    super::types::dtype_name(d)
                ),
                span,
                "expected a value",
            )
            .with_help("dtypes are arguments of `cast`, `zeros` and `full`, or follow `as`"),
            Operand::Unit => Diagnostic::error(
                "tilec::no_value",
                "this expression has no value",
                span,
                "produces no value",
            ),
            _ => return,
        };
        self.error(d);
    }

    /// The IR value of an operand, emitting a `const` for consts and literals (a literal gets
    /// `want` or its default dtype). Reports and returns `None` for non-values and errors.
    pub fn value_of(&mut self, op: Operand, span: Span, want: Option<DType>) -> Option<Value> {
        match op {
            Operand::Value(v) => Some(v),
            Operand::Const(c, d) => Some(self.const_value(c, d)),
            Operand::Literal(lit) => {
                let d = want.unwrap_or_else(|| default_literal_dtype(lit));
                match adapt_literal(lit, d) {
                    Ok(c) => Some(self.const_value(c, d)),
                    Err(e) => {
                        self.error(literal_diag(e, lit, d, span));
                        None
                    }
                }
            }
            Operand::Error => None,
            other => {
                self.not_a_value(other, span);
                None
            }
        }
    }

    /// `v` with shape `shape` (`None`: a scalar): splat a scalar, broadcast size-1 dims.
    /// The caller has checked that the shapes broadcast.
    pub fn reshape_to(&mut self, v: Value, shape: Option<&[u32]>) -> Value {
        let ty = self.ty(v).clone();
        let Some(shape) = shape else { return v };
        let dtype = ty.dtype();
        let target = Type::Tile(TileType::new(dtype, shape.to_vec()));
        match ty {
            Type::Scalar(_) => self.emit(InstData::Splat { arg: v }, target),
            Type::Tile(t) if t.shape == shape => v,
            Type::Tile(_) => self.emit(InstData::Broadcast { arg: v }, target),
            Type::Tensor(_) => v,
        }
    }

    /// Checks a computed tile shape and reports `tile_too_large`, `not_a_power_of_two` or
    /// `tile_rank` at `span`.
    pub fn check_shape(&mut self, extents: &[i64], span: Span) -> Option<Vec<u32>> {
        match check_tile_shape(extents) {
            Ok(s) => Some(s),
            Err(e) => {
                self.error(shape_diag(e, extents, span));
                None
            }
        }
    }
}

/// The diagnostic for a tile shape that breaks the limits.
pub fn shape_diag(e: ShapeError, extents: &[i64], span: Span) -> Diagnostic {
    let shown: Vec<String> = extents.iter().map(i64::to_string).collect();
    let shown = format!("[{}]", shown.join(", "));
    match e {
        ShapeError::Rank(r) => Diagnostic::error(
            "tilec::tile_rank",
            format!("tiles have rank 1 or 2, this one would have rank {r}"),
            span,
            format!("shape {shown}"),
        )
        .with_help("index the extra dims with scalars in the slice, or split the work"),
        ShapeError::NotPowerOfTwo { dim, extent } => Diagnostic::error(
            "tilec::not_a_power_of_two",
            format!("tile extent {extent} is not a power of two"),
            span,
            format!("dim {dim} of {shown}"),
        )
        .with_help(format!(
            "tile extents must be powers of two; the nearest are {} and {}",
            prev_pow2(extent),
            prev_pow2(extent).saturating_mul(2)
        )),
        ShapeError::TooLarge(n) => Diagnostic::error(
            "tilec::tile_too_large",
            format!("a tile of shape {shown} has {n} elements, more than 2^20"),
            span,
            "too large",
        )
        .with_help("use smaller blocks and loop over the rest"),
    }
}

fn prev_pow2(n: i64) -> i64 {
    if n <= 1 {
        return 1;
    }
    1i64 << (63 - n.leading_zeros())
}
