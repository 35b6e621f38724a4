//! Runs one program of the grid: walks the kernel's nested blocks, keeps each SSA value's
//! runtime value in a table indexed by [`Value`], and dispatches each instruction to
//! `ops.rs` (data) or `memory.rs` (loads and stores). `for` and `if` recurse into their child
//! blocks.

use super::math::{const_elem, Elem};
use super::memory::{self, Memory, SliceIndex};
use super::ops;
use super::value::{Elems, RtValue, Tile};
use super::InterpError;
use crate::ir::{Block, ConstValue, DType, Inst, InstData, Kernel, SliceDim, Type, Value};
use cranelift_entity::EntityRef;
use std::rc::Rc;

/// How a block ended.
enum Flow {
    Yield(Vec<RtValue>),
    Return,
}

/// The state of one running program.
pub struct Program<'a> {
    kernel: &'a Kernel,
    /// The runtime value of every SSA value defined so far, indexed by `Value::index()`.
    values: Vec<Option<RtValue>>,
    program_id: [i64; 3],
    grid: [i64; 3],
    memory: &'a mut dyn Memory,
}

impl<'a> Program<'a> {
    /// A program with the kernel parameters bound to `params` (in `kernel.params` order).
    pub fn new(
        kernel: &'a Kernel,
        params: &[RtValue],
        program_id: [i64; 3],
        grid: [i64; 3],
        memory: &'a mut dyn Memory,
    ) -> Self {
        let mut program = Program {
            kernel,
            values: vec![None; kernel.values.len()],
            program_id,
            grid,
            memory,
        };
        for (param, value) in kernel.params.iter().zip(params) {
            program.set(param.value, value.clone());
        }
        program
    }

    /// Runs the kernel body to its `return`.
    pub fn run(mut self) -> Result<(), InterpError> {
        let [x, y, z] = self.program_id;
        let in_program =
            |e| InterpError::Runtime(format!("program ({x}, {y}, {z}): {}", message_of(e)));
        match self.exec_block(self.kernel.entry).map_err(in_program)? {
            Flow::Return => Ok(()),
            Flow::Yield(_) => Err(in_program(runtime("the kernel body ends in yield"))),
        }
    }

    fn set(&mut self, v: Value, value: RtValue) {
        self.values[v.index()] = Some(value);
    }

    fn get(&self, v: Value) -> Result<&RtValue, InterpError> {
        self.values
            .get(v.index())
            .and_then(Option::as_ref)
            .ok_or_else(|| runtime(format!("{v} is used before it is defined")))
    }

    fn tile(&self, v: Value) -> Result<&Rc<Tile>, InterpError> {
        match self.get(v)? {
            RtValue::Tile(t) => Ok(t),
            RtValue::Tensor(_) => Err(runtime(format!("{v} is a tensor, not a tile"))),
        }
    }

    fn tensor(&self, v: Value) -> Result<usize, InterpError> {
        match self.get(v)? {
            RtValue::Tensor(arg) => Ok(*arg),
            RtValue::Tile(_) => Err(runtime(format!("{v} is not a tensor"))),
        }
    }

    fn int_scalar(&self, v: Value) -> Result<i64, InterpError> {
        self.tile(v)?.as_int_scalar(&v.to_string())
    }

    fn exec_block(&mut self, block: Block) -> Result<Flow, InterpError> {
        let kernel = self.kernel;
        for &inst in &kernel.blocks[block].insts {
            match &kernel.insts[inst] {
                InstData::Yield { args } => {
                    let values = args
                        .iter()
                        .map(|&v| self.get(v).cloned())
                        .collect::<Result<_, _>>()?;
                    return Ok(Flow::Yield(values));
                }
                InstData::Return => return Ok(Flow::Return),
                InstData::For {
                    lower,
                    upper,
                    step,
                    init,
                    body,
                } => self.exec_for(inst, [*lower, *upper, *step], init, *body)?,
                InstData::If {
                    cond,
                    then_block,
                    else_block,
                } => {
                    let cond = self.tile(*cond)?.as_bool_scalar("if condition")?;
                    let taken = if cond { *then_block } else { *else_block };
                    let results = self.exec_child(inst, taken)?;
                    self.set_results(inst, results)?;
                }
                // Layouts do not change values: the result shares the operand's tile.
                InstData::ConvertLayout { arg } => {
                    let value = self.get(*arg)?.clone();
                    let result = self.single_result(inst)?;
                    self.set(result, value);
                }
                InstData::Store {
                    tensor,
                    dims,
                    value,
                } => self
                    .exec_store(*tensor, dims, *value)
                    .map_err(|e| runtime(format!("{inst} (store): {}", message_of(e))))?,
                data => {
                    let tile = self.exec_data(inst, data).map_err(|e| {
                        runtime(format!("{inst} ({}): {}", data.opcode(), message_of(e)))
                    })?;
                    let result = self.single_result(inst)?;
                    self.set(result, RtValue::Tile(Rc::new(tile)));
                }
            }
        }
        Err(runtime(format!("{block} has no terminator")))
    }

    /// Runs a child block that must end in `yield`, returning the yielded values.
    fn exec_child(&mut self, inst: Inst, block: Block) -> Result<Vec<RtValue>, InterpError> {
        match self.exec_block(block)? {
            Flow::Yield(values) => Ok(values),
            Flow::Return => Err(runtime(format!("{block} of {inst} ends in return"))),
        }
    }

    fn set_results(&mut self, inst: Inst, values: Vec<RtValue>) -> Result<(), InterpError> {
        let results = self.kernel.inst_results(inst);
        if results.len() != values.len() {
            return Err(runtime(format!(
                "{inst} has {} results but its block yields {} values",
                results.len(),
                values.len()
            )));
        }
        for (&r, v) in results.iter().zip(values) {
            self.set(r, v);
        }
        Ok(())
    }

    fn single_result(&self, inst: Inst) -> Result<Value, InterpError> {
        match self.kernel.inst_results(inst) {
            &[v] => Ok(v),
            other => Err(runtime(format!(
                "{inst} has {} results, not 1",
                other.len()
            ))),
        }
    }

    /// `for iv in lower..upper step step`, carrying values from one iteration to the next.
    fn exec_for(
        &mut self,
        inst: Inst,
        [lower, upper, step]: [Value; 3],
        init: &[Value],
        body: Block,
    ) -> Result<(), InterpError> {
        let (lower, upper, step) = (
            self.int_scalar(lower)?,
            self.int_scalar(upper)?,
            self.int_scalar(step)?,
        );
        if step <= 0 {
            return Err(runtime(format!(
                "{inst} (for): step {step} is not positive"
            )));
        }
        let params = &self.kernel.blocks[body].params;
        let Some((&iv_param, carried_params)) = params.split_first() else {
            return Err(runtime(format!(
                "{body} of {inst} has no induction variable"
            )));
        };
        if carried_params.len() != init.len() {
            return Err(runtime(format!(
                "{inst} (for) carries {} values into a body with {} parameters",
                init.len(),
                params.len()
            )));
        }
        let iv_dtype = self.kernel.value_type(iv_param).dtype();
        let mut carried: Vec<RtValue> = init
            .iter()
            .map(|&v| self.get(v).cloned())
            .collect::<Result<_, _>>()?;
        let mut iv = lower;
        while iv < upper {
            self.set(
                iv_param,
                RtValue::Tile(Rc::new(Tile::scalar_int(iv_dtype, iv))),
            );
            for (&p, v) in carried_params.iter().zip(carried.drain(..)) {
                self.set(p, v);
            }
            carried = self.exec_child(inst, body)?;
            if carried.len() != carried_params.len() {
                return Err(runtime(format!(
                    "{body} of {inst} yields {} values for {} carried values",
                    carried.len(),
                    carried_params.len()
                )));
            }
            // An induction variable past i64::MAX ends the loop rather than wrapping.
            let Some(next) = iv.checked_add(step) else {
                break;
            };
            iv = next;
        }
        self.set_results(inst, carried)
    }

    fn slice(&self, dims: &[SliceDim]) -> Result<Vec<SliceIndex>, InterpError> {
        dims.iter()
            .map(|d| {
                Ok(match *d {
                    SliceDim::Index(v) => SliceIndex::At(self.int_scalar(v)?),
                    SliceDim::Range { start, len } => SliceIndex::Range {
                        start: self.int_scalar(start)?,
                        len,
                    },
                })
            })
            .collect()
    }

    fn exec_store(
        &mut self,
        tensor: Value,
        dims: &[SliceDim],
        value: Value,
    ) -> Result<(), InterpError> {
        let arg = self.tensor(tensor)?;
        let slice = self.slice(dims)?;
        let value = Rc::clone(self.tile(value)?);
        let (offsets, shape) = memory::slice_offsets(&self.memory.tensor(arg).shape, &slice)?;
        memory::store(&mut *self.memory, arg, &offsets, &shape, &value)
    }

    /// The result type of a single-result instruction.
    fn result_type(&self, inst: Inst) -> Result<&'a Type, InterpError> {
        let kernel = self.kernel;
        Ok(kernel.value_type(self.single_result(inst)?))
    }

    /// The result's shape (empty for a scalar) and dtype.
    fn result_shape(&self, inst: Inst) -> Result<(DType, &'a [u32]), InterpError> {
        let ty = self.result_type(inst)?;
        match ty {
            Type::Scalar(d) => Ok((*d, &[])),
            Type::Tile(t) => Ok((t.dtype, &t.shape)),
            Type::Tensor(_) => Err(runtime(format!("{inst} has a tensor result"))),
        }
    }

    /// Every single-result instruction without child blocks, except `store`.
    fn exec_data(&mut self, inst: Inst, data: &InstData) -> Result<Tile, InterpError> {
        Ok(match data {
            InstData::Const { value } => {
                let (dtype, shape) = self.result_shape(inst)?;
                let elem = match const_elem(dtype, *value).ok_or_else(|| not_a_number(value))? {
                    Elem::Bool(b) => Elems::Bool(vec![b]),
                    Elem::Int(i) => Elems::Int(vec![i]),
                    Elem::Float(f) => Elems::Float(vec![f]),
                };
                ops::splat(&Tile::new(dtype, Vec::new(), elem), shape)?
            }
            InstData::ProgramId { axis } => {
                Tile::scalar_int(DType::I32, self.grid_axis(self.program_id, *axis, 0))
            }
            InstData::NumPrograms { axis } => {
                Tile::scalar_int(DType::I32, self.grid_axis(self.grid, *axis, 1))
            }
            InstData::Dim { tensor, dim } => {
                let shape = &self.memory.tensor(self.tensor(*tensor)?).shape;
                let Some(&extent) = shape.get(*dim as usize) else {
                    return Err(InterpError::Runtime(format!(
                        "dim {dim} of a rank-{} tensor",
                        shape.len()
                    )));
                };
                Tile::scalar_int(DType::I32, extent as i64)
            }
            InstData::Unary { op, arg } => ops::unary(*op, self.tile(*arg)?)?,
            InstData::Binary { op, args: [a, b] } => {
                ops::binary(*op, self.tile(*a)?, self.tile(*b)?)?
            }
            InstData::Cmp { op, args: [a, b] } => {
                ops::compare(*op, self.tile(*a)?, self.tile(*b)?)?
            }
            InstData::Select { args: [c, a, b] } => {
                ops::select(self.tile(*c)?, self.tile(*a)?, self.tile(*b)?)?
            }
            InstData::Cast { arg } => {
                let (dtype, _) = self.result_shape(inst)?;
                ops::cast(self.tile(*arg)?, dtype)
            }
            InstData::Splat { arg } => {
                let (_, shape) = self.result_shape(inst)?;
                ops::splat(self.tile(*arg)?, shape)?
            }
            InstData::Broadcast { arg } => {
                let (_, shape) = self.result_shape(inst)?;
                ops::broadcast(self.tile(*arg)?, shape)?
            }
            InstData::ExpandDims { arg, axis } => ops::expand_dims(self.tile(*arg)?, *axis)?,
            InstData::Iota { axis } => {
                let (dtype, shape) = self.result_shape(inst)?;
                ops::iota(dtype, shape, *axis)?
            }
            InstData::Reduce { op, arg, axis } => ops::reduce(*op, self.tile(*arg)?, *axis)?,
            InstData::Dot { args: [a, b, acc] } => {
                ops::dot(self.tile(*a)?, self.tile(*b)?, self.tile(*acc)?)?
            }
            InstData::Transpose { arg } => ops::transpose(self.tile(*arg)?)?,
            InstData::Load { tensor, dims, fill } => {
                let tensor = self.memory.tensor(self.tensor(*tensor)?);
                let slice = self.slice(dims)?;
                let (offsets, shape) = memory::slice_offsets(&tensor.shape, &slice)?;
                let fill =
                    const_elem(tensor.data.dtype(), *fill).ok_or_else(|| not_a_number(fill))?;
                memory::load(tensor, &offsets, shape, fill)?
            }
            InstData::Store { .. }
            | InstData::ConvertLayout { .. }
            | InstData::For { .. }
            | InstData::If { .. }
            | InstData::Yield { .. }
            | InstData::Return => unreachable!("exec_block handles {}", data.opcode()),
        })
    }

    /// Grid axis `axis` of `per_axis`; axes beyond the grid's read as `default` (CUDA's
    /// behaviour for unused grid dimensions).
    fn grid_axis(&self, per_axis: [i64; 3], axis: u8, default: i64) -> i64 {
        per_axis.get(axis as usize).copied().unwrap_or(default)
    }
}

fn runtime(message: impl std::fmt::Display) -> InterpError {
    InterpError::Runtime(message.to_string())
}

/// A dtype where an instruction needs a number (only unverified IR has one).
fn not_a_number(value: &ConstValue) -> InterpError {
    runtime(format!("the dtype `{value}` is not a constant value"))
}

/// The text of an error, without its variant (the caller adds context).
fn message_of(e: InterpError) -> String {
    match e {
        InterpError::BadArguments(m) | InterpError::Runtime(m) => m,
    }
}
