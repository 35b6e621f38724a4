//! A kernel in tile IR: its signature, its grid, and its body as nested blocks.
//!
//! Data lives in `cranelift-entity` tables: [`Kernel::insts`] holds what each instruction
//! does, [`Kernel::blocks`] holds each block's parameters and ordered instruction list, and
//! [`Kernel::values`] holds each value's type, definition and optional source name.

use super::entities::{Block, Inst, Value};
use super::instructions::{InstData, ValueList};
use super::types::{ConstValue, Type};
use cranelift_entity::{PrimaryMap, SecondaryMap};
use std::fmt;

/// Where a value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueDef {
    /// Result number `index` of an instruction.
    Result(Inst, u32),
    /// Parameter number `index` of a block (kernel parameters are the entry block's).
    Param(Block, u32),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ValueData {
    pub ty: Type,
    pub def: ValueDef,
    /// The source variable this value was bound to, if any; kept for readable IR text.
    pub name: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct BlockData {
    pub params: Vec<Value>,
    /// Instructions in execution order; the last one is the terminator.
    pub insts: Vec<Inst>,
    /// The instruction owning this block, `None` for the entry block.
    pub parent: Option<Inst>,
}

/// Binary operators of grid expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GridOp {
    Add,
    Sub,
    Mul,
    /// Integer division rounding down (operands are non-negative).
    Div,
    /// Division rounding up: `cdiv(a, b) = (a + b - 1) / b`.
    CeilDiv,
    Min,
    Max,
}

/// The launch grid along one axis, as a function of the runtime shape symbols. Consts are
/// folded into it at lowering time, so the host can evaluate it from tensor shapes alone.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GridExpr {
    Const(i64),
    /// Index into [`Kernel::symbols`].
    Sym(u32),
    Binary(GridOp, Box<GridExpr>, Box<GridExpr>),
}

impl GridExpr {
    /// Evaluates the expression with `sym_values[i]` for symbol `i`. `None` on division by zero
    /// or overflow.
    pub fn eval(&self, sym_values: &[i64]) -> Option<i64> {
        Some(match self {
            GridExpr::Const(c) => *c,
            GridExpr::Sym(s) => *sym_values.get(*s as usize)?,
            GridExpr::Binary(op, a, b) => {
                let (a, b) = (a.eval(sym_values)?, b.eval(sym_values)?);
                match op {
                    GridOp::Add => a.checked_add(b)?,
                    GridOp::Sub => a.checked_sub(b)?,
                    GridOp::Mul => a.checked_mul(b)?,
                    GridOp::Div => a.checked_div(b)?,
                    GridOp::CeilDiv => {
                        if b == 0 {
                            return None;
                        }
                        a.checked_add(b - 1)?.div_euclid(b)
                    }
                    GridOp::Min => a.min(b),
                    GridOp::Max => a.max(b),
                }
            }
        })
    }
}

/// A kernel parameter as the caller sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelParam {
    pub name: String,
    /// The entry-block parameter that holds it; its type is the parameter's type.
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Kernel {
    pub name: String,
    /// Tensor and scalar parameters, in source order (consts are not parameters).
    pub params: Vec<KernelParam>,
    /// Runtime shape symbols (`B`, `H`, `S`), in order of first appearance.
    pub symbols: Vec<String>,
    /// The const parameters' values this kernel was specialized with, in source order.
    pub consts: Vec<(String, ConstValue)>,
    /// One expression per grid axis.
    pub grid: Vec<GridExpr>,
    pub entry: Block,
    pub blocks: PrimaryMap<Block, BlockData>,
    pub insts: PrimaryMap<Inst, InstData>,
    pub results: SecondaryMap<Inst, ValueList>,
    /// The block each instruction sits in.
    pub inst_block: SecondaryMap<Inst, Option<Block>>,
    pub values: PrimaryMap<Value, ValueData>,
}

impl Kernel {
    /// An empty kernel with an empty entry block.
    pub fn new(name: impl Into<String>) -> Self {
        let mut blocks = PrimaryMap::new();
        let entry = blocks.push(BlockData::default());
        Kernel {
            name: name.into(),
            params: Vec::new(),
            symbols: Vec::new(),
            consts: Vec::new(),
            grid: Vec::new(),
            entry,
            blocks,
            insts: PrimaryMap::new(),
            results: SecondaryMap::new(),
            inst_block: SecondaryMap::new(),
            values: PrimaryMap::new(),
        }
    }

    /// Adds a kernel parameter (an entry-block parameter).
    pub fn add_param(&mut self, name: impl Into<String>, ty: Type) -> Value {
        let name = name.into();
        let value = self.append_block_param(self.entry, ty, Some(name.clone()));
        self.params.push(KernelParam { name, value });
        value
    }

    /// Creates a block that is not yet owned by any instruction.
    pub fn create_block(&mut self) -> Block {
        self.blocks.push(BlockData::default())
    }

    pub fn append_block_param(&mut self, block: Block, ty: Type, name: Option<String>) -> Value {
        let index = self.blocks[block].params.len() as u32;
        let v = self.values.push(ValueData {
            ty,
            def: ValueDef::Param(block, index),
            name,
        });
        self.blocks[block].params.push(v);
        v
    }

    /// Appends an instruction with results of the given types to the end of `block`. Child
    /// blocks named by `data` get this instruction as their parent.
    pub fn append_inst(&mut self, block: Block, data: InstData, result_types: &[Type]) -> Inst {
        let inst = self.create_inst(data, result_types);
        self.blocks[block].insts.push(inst);
        self.inst_block[inst] = Some(block);
        inst
    }

    /// Creates an instruction with its results without placing it in a block; callers then
    /// insert it into a block's `insts` and set `inst_block` (passes that rebuild blocks).
    pub fn create_inst(&mut self, data: InstData, result_types: &[Type]) -> Inst {
        let children = data.child_blocks();
        let inst = self.insts.push(data);
        for b in children {
            self.blocks[b].parent = Some(inst);
        }
        let mut results = ValueList::new();
        for (i, ty) in result_types.iter().enumerate() {
            results.push(self.values.push(ValueData {
                ty: ty.clone(),
                def: ValueDef::Result(inst, i as u32),
                name: None,
            }));
        }
        self.results[inst] = results;
        inst
    }

    pub fn value_type(&self, v: Value) -> &Type {
        &self.values[v].ty
    }

    pub fn inst_results(&self, inst: Inst) -> &[Value] {
        &self.results[inst]
    }

    /// The single result of an instruction that has exactly one.
    pub fn result(&self, inst: Inst) -> Value {
        debug_assert_eq!(self.results[inst].len(), 1, "{inst} has not one result");
        self.results[inst][0]
    }

    pub fn set_name(&mut self, v: Value, name: impl Into<String>) {
        self.values[v].name = Some(name.into());
    }

    /// The instructions of `block` and, depth first, of the blocks they own, in execution
    /// order. Handy for passes that treat the kernel as one instruction stream.
    pub fn walk_insts(&self, block: Block, visit: &mut impl FnMut(Inst)) {
        for &inst in &self.blocks[block].insts {
            visit(inst);
            for child in self.insts[inst].child_blocks() {
                self.walk_insts(child, visit);
            }
        }
    }

    /// The const the kernel was specialized with, by name.
    pub fn const_value(&self, name: &str) -> Option<ConstValue> {
        self.consts.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
}

/// Prints the IR text form (see `crate::ir::print`).
impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&super::print::print_kernel(self))
    }
}
