//! Code generation: tile IR (with layouts) to LLVM IR for `nvptx64-nvidia-cuda`, then PTX.
//!
//! [`compile`] is the driver: it checks the kernel against the target's budgets (registers,
//! shared memory: [`budget`]), plans shared memory ([`shared_plan`]), builds the entry point
//! ([`signature`]), lowers the body instruction by instruction, and asks LLVM for PTX
//! ([`target`]). Layouts come from the IR (the layout pass must have run): codegen reads
//! them and never invents them. Each concern has its own file:
//!
//! * [`values`]: how values live in registers; [`thread_map`] / [`shared_layout`] /
//!   [`index`]: which thread holds which element, and where it sits in shared memory;
//! * [`memory`]: global loads and stores (16-byte vectors where alignment allows, masked at
//!   ragged edges), shared-memory stores and loads;
//! * [`convert`]: `convert_layout`, `broadcast`, `expand_dims`, `transpose` (register
//!   renaming when the layouts line up, through shared memory otherwise);
//! * [`arith`], [`intrinsics`], [`reduce`], [`mma`] (`ldmatrix` + `mma.sync`), [`control`].
//!
//! What each instruction expects of its operands' layouts (established by
//! `crate::passes::layout`): element-wise operands share the result's distributed layout;
//! `dot` takes dot-operand layouts (A: `op_idx` 0, B: 1) of the result's mma layout and an
//! accumulator in that mma layout; a dot operand is produced by `convert_layout` from a
//! shared layout (operand A also from an mma layout whose warps split m only: a register
//! renaming, `mma::accumulator_as_operand_a`); `reduce` produces the slice of its operand's layout.

pub mod abi;
mod arith;
pub mod budget;
mod control;
mod convert;
pub mod index;
mod intrinsics;
mod memory;
pub(crate) mod mma;
mod reduce;
pub mod shared_layout;
pub mod shared_plan;
mod signature;
pub mod target;
pub mod thread_map;
mod values;

use crate::diagnostics::Diagnostic;
use crate::ir::{Block, Inst, InstData, Kernel, Value};
use abi::KernelAbi;
use inkwell::builder::{Builder, BuilderError};
use inkwell::context::Context;
use inkwell::module::Module;
use inkwell::values::{FunctionValue, IntValue, PointerValue};
use shared_plan::SharedPlan;
use std::collections::HashMap;
pub use target::GpuTarget;
use values::Lowered;

/// How to compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodegenOptions {
    pub target: GpuTarget,
    /// Warps per program; must match the `num_warps` the passes ran with.
    pub num_warps: u32,
}

/// The result of code generation for one kernel specialization.
#[derive(Clone, Debug)]
pub struct CompiledKernel {
    /// The LLVM IR as generated, before LLVM's optimizations.
    pub llvm_ir: String,
    pub ptx: String,
    pub abi: KernelAbi,
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum CodegenError {
    /// The configuration cannot work (a tile too big for the register file, shared memory
    /// past the target's limit...). The diagnostics carry no span: the caller attaches the
    /// kernel's.
    #[error("{}", .0.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("; "))]
    Config(Vec<Diagnostic>),
    /// A compiler bug or an LLVM failure.
    #[error("internal compiler error in code generation: {0}")]
    Internal(String),
}

impl From<BuilderError> for CodegenError {
    fn from(e: BuilderError) -> Self {
        CodegenError::Internal(format!("LLVM builder: {e}"))
    }
}

/// Compiles a kernel whose tiles all have layouts to PTX for `options.target`.
pub fn compile(kernel: &Kernel, options: &CodegenOptions) -> Result<CompiledKernel, CodegenError> {
    let plan = shared_plan::plan(kernel, options.num_warps).map_err(CodegenError::Internal)?;
    budget::check(kernel, options, &plan)?;
    let machine = target::target_machine(options.target).map_err(CodegenError::Internal)?;
    let ctx = Context::create();
    let module = ctx.create_module(&kernel.name);
    target::configure_module(&module, &machine);
    let builder = ctx.create_builder();
    let (func, params, abi_params) =
        signature::declare(&ctx, &module, &builder, kernel, options.num_warps)?;
    let smem = signature::shared_memory(&ctx, &module);
    let mut cg = Cg {
        kernel,
        num_warps: options.num_warps,
        ctx: &ctx,
        module: &module,
        b: &builder,
        func,
        values: HashMap::new(),
        tid: ctx.i32_type().const_zero(),
        smem,
        plan: &plan,
    };
    cg.tid = cg.special_register("tid.x");
    for (v, lowered) in params {
        cg.set(v, lowered);
    }
    cg.lower_block(kernel.entry)?;
    module
        .verify()
        .map_err(|e| CodegenError::Internal(format!("invalid LLVM IR: {e}")))?;
    let llvm_ir = module.print_to_string().to_string();
    let ptx = target::emit_ptx(&module, &machine).map_err(CodegenError::Internal)?;
    Ok(CompiledKernel {
        llvm_ir,
        ptx,
        abi: KernelAbi {
            entry: kernel.name.clone(),
            params: abi_params,
            num_warps: options.num_warps,
            shared_bytes: plan.total_bytes,
            target: options.target.name().to_string(),
        },
    })
}

/// The state of lowering one kernel.
pub(crate) struct Cg<'a, 'ctx> {
    pub kernel: &'a Kernel,
    pub num_warps: u32,
    pub ctx: &'ctx Context,
    pub module: &'a Module<'ctx>,
    pub b: &'a Builder<'ctx>,
    pub func: FunctionValue<'ctx>,
    pub values: HashMap<Value, Lowered<'ctx>>,
    /// `tid.x`: the thread's index in the program.
    pub tid: IntValue<'ctx>,
    /// The dynamic shared memory array (`addrspace(3)`).
    pub smem: PointerValue<'ctx>,
    pub plan: &'a SharedPlan,
}

impl<'ctx> Cg<'_, 'ctx> {
    /// Lowers the instructions of `block`; returns the values its `yield` passes on.
    pub fn lower_block(&mut self, block: Block) -> Result<Vec<Lowered<'ctx>>, CodegenError> {
        for &inst in &self.kernel.blocks[block].insts {
            if let InstData::Yield { args } = &self.kernel.insts[inst] {
                return args.iter().map(|&a| self.get(a).cloned()).collect();
            }
            self.lower_inst(inst)?;
        }
        Ok(Vec::new())
    }

    fn lower_inst(&mut self, inst: Inst) -> Result<(), CodegenError> {
        let kernel = self.kernel;
        let data = &kernel.insts[inst];
        let results = kernel.inst_results(inst);
        match data {
            InstData::Const { value } => {
                let r = results[0];
                let v = self.constant(kernel.value_type(r).dtype(), *value)?;
                self.set(r, Lowered::Scalar(v));
            }
            InstData::ProgramId { axis } => {
                let v = self.special_register(&format!("ctaid.{}", axis_name(*axis)?));
                self.set(results[0], Lowered::Scalar(v.into()));
            }
            InstData::NumPrograms { axis } => {
                let v = self.special_register(&format!("nctaid.{}", axis_name(*axis)?));
                self.set(results[0], Lowered::Scalar(v.into()));
            }
            InstData::Dim { tensor, dim } => {
                let Lowered::Tensor(t) = self.get(*tensor)? else {
                    return Err(CodegenError::Internal("dim of a non-tensor".into()));
                };
                let size = t.sizes[*dim as usize];
                self.set(results[0], Lowered::Scalar(size.into()));
            }
            InstData::Unary { op, arg } => {
                let dtype = kernel.value_type(*arg).dtype();
                let regs = self.operand_regs(*arg)?;
                let out = regs
                    .into_iter()
                    .map(|x| self.unary_reg(*op, dtype, x))
                    .collect::<Result<_, _>>()?;
                self.set_regs(results[0], out);
            }
            InstData::Binary { op, args } => {
                let dtype = kernel.value_type(args[0]).dtype();
                let (a, b) = (self.operand_regs(args[0])?, self.operand_regs(args[1])?);
                let out = a
                    .into_iter()
                    .zip(b)
                    .map(|(x, y)| self.binary_reg(*op, dtype, x, y))
                    .collect::<Result<_, _>>()?;
                self.set_regs(results[0], out);
            }
            InstData::Cmp { op, args } => {
                let dtype = kernel.value_type(args[0]).dtype();
                let (a, b) = (self.operand_regs(args[0])?, self.operand_regs(args[1])?);
                let out = a
                    .into_iter()
                    .zip(b)
                    .map(|(x, y)| self.cmp_reg(*op, dtype, x, y))
                    .collect::<Result<_, _>>()?;
                self.set_regs(results[0], out);
            }
            InstData::Select { args } => {
                let c = self.operand_regs(args[0])?;
                let (a, b) = (self.operand_regs(args[1])?, self.operand_regs(args[2])?);
                let mut out = Vec::with_capacity(c.len());
                for ((c, a), b) in c.into_iter().zip(a).zip(b) {
                    out.push(self.b.build_select(c.into_int_value(), a, b, "")?);
                }
                self.set_regs(results[0], out);
            }
            InstData::Cast { arg } => {
                let from = kernel.value_type(*arg).dtype();
                let to = kernel.value_type(results[0]).dtype();
                let regs = self.operand_regs(*arg)?;
                let out = regs
                    .into_iter()
                    .map(|x| self.cast_reg(from, to, x))
                    .collect::<Result<_, _>>()?;
                self.set_regs(results[0], out);
            }
            InstData::Splat { arg } => {
                let x = self.scalar(*arg)?;
                let n = self.map_of(results[0])?.regs.len();
                self.set(results[0], Lowered::Tile(vec![x; n]));
            }
            InstData::Iota { axis } => {
                let map = self.map_of(results[0])?;
                let out = self
                    .coords(&map)
                    .into_iter()
                    .map(|c| c[*axis as usize].into())
                    .collect();
                self.set(results[0], Lowered::Tile(out));
            }
            InstData::Broadcast { arg }
            | InstData::ExpandDims { arg, .. }
            | InstData::Transpose { arg }
            | InstData::ConvertLayout { arg } => self.lower_move(inst, *arg, results[0])?,
            InstData::Reduce { op, arg, axis } => {
                self.lower_reduce(inst, *op, *arg, *axis, results[0])?
            }
            InstData::Dot { args } => self.lower_dot(*args, results[0])?,
            InstData::Load { tensor, dims, fill } => {
                self.lower_load(*tensor, dims, *fill, results[0])?
            }
            InstData::Store {
                tensor,
                dims,
                value,
            } => self.lower_store(*tensor, dims, *value)?,
            InstData::For {
                lower,
                upper,
                step,
                init,
                body,
            } => self.lower_for([*lower, *upper, *step], init, *body, results)?,
            InstData::If {
                cond,
                then_block,
                else_block,
            } => self.lower_if(*cond, *then_block, *else_block, results)?,
            InstData::Yield { .. } => unreachable!("lower_block stops at yield"),
            InstData::Return => {
                self.b.build_return(None)?;
            }
        }
        Ok(())
    }

    fn constant(
        &self,
        dtype: crate::ir::DType,
        value: crate::ir::ConstValue,
    ) -> Result<inkwell::values::BasicValueEnum<'ctx>, CodegenError> {
        use crate::ir::DType;
        let ty = values::llvm_type(self.ctx, dtype);
        Ok(match dtype {
            DType::I1 => ty
                .into_int_type()
                .const_int((value.as_i64() != 0) as u64, false)
                .into(),
            DType::I32 | DType::I64 => ty
                .into_int_type()
                .const_int(value.as_i64() as u64, true)
                .into(),
            // Round once, from the f64 constant straight to the dtype.
            DType::F16 => ty
                .into_float_type()
                .const_float(half::f16::from_f64(value.as_f64()).to_f64())
                .into(),
            DType::BF16 => ty
                .into_float_type()
                .const_float(half::bf16::from_f64(value.as_f64()).to_f64())
                .into(),
            DType::F32 => ty
                .into_float_type()
                .const_float(value.as_f64() as f32 as f64)
                .into(),
        })
    }
}

fn axis_name(axis: u8) -> Result<&'static str, CodegenError> {
    ["x", "y", "z"]
        .get(axis as usize)
        .copied()
        .ok_or_else(|| CodegenError::Internal(format!("grid axis {axis}")))
}
