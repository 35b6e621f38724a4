//! The kernel's entry point: parameters as `abi.rs` specifies, the `nvvm.annotations` that
//! make it a kernel of exactly `32 * num_warps` threads (`.reqntid`), and the dynamic
//! shared memory array.

use super::abi::{AbiDType, AbiParam};
use super::values::{llvm_type, Lowered, TensorArgs};
use super::CodegenError;
use crate::ir::{DType, Kernel, Type, Value};
use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::types::{BasicMetadataTypeEnum, BasicTypeEnum};
use inkwell::values::{BasicMetadataValueEnum, FunctionValue, PointerValue};
use inkwell::{AddressSpace, IntPredicate};

pub const GLOBAL: u16 = 1;
pub const SHARED: u16 = 3;

pub type Declared<'ctx> = (
    FunctionValue<'ctx>,
    Vec<(Value, Lowered<'ctx>)>,
    Vec<AbiParam>,
);

/// Declares the entry point, positions `builder` in its entry block, and returns the
/// lowering of each kernel parameter with its ABI description.
pub fn declare<'ctx>(
    ctx: &'ctx Context,
    module: &Module<'ctx>,
    builder: &Builder<'ctx>,
    kernel: &Kernel,
    num_warps: u32,
) -> Result<Declared<'ctx>, CodegenError> {
    let i32t = ctx.i32_type();
    let i64t = ctx.i64_type();
    let global_ptr = ctx.ptr_type(AddressSpace::from(GLOBAL));
    let mut types: Vec<BasicMetadataTypeEnum> = Vec::new();
    let mut abi = Vec::new();
    for p in &kernel.params {
        match kernel.value_type(p.value) {
            Type::Tensor(t) => {
                let rank = t.dims.len();
                types.push(global_ptr.into());
                types.extend(std::iter::repeat_n(BasicMetadataTypeEnum::from(i32t), rank));
                types.extend(std::iter::repeat_n(
                    BasicMetadataTypeEnum::from(i64t),
                    rank.saturating_sub(1),
                ));
                abi.push(AbiParam::Tensor {
                    name: p.name.clone(),
                    dtype: AbiDType::from(t.dtype),
                    rank: rank as u32,
                    mutable: t.mutable,
                });
            }
            Type::Scalar(d) => {
                let ty: BasicTypeEnum = match d {
                    DType::I1 => ctx.i8_type().into(),
                    d => llvm_type(ctx, *d),
                };
                types.push(ty.into());
                abi.push(AbiParam::Scalar {
                    name: p.name.clone(),
                    dtype: AbiDType::from(*d),
                });
            }
            Type::Tile(_) => {
                return Err(CodegenError::Internal(format!("tile parameter {}", p.name)))
            }
        }
    }
    let fn_type = ctx.void_type().fn_type(&types, false);
    let func = module.add_function(&kernel.name, fn_type, None);
    annotate(ctx, module, func, 32 * num_warps);
    builder.position_at_end(ctx.append_basic_block(func, "entry"));

    let mut next = 0;
    let mut param = |name: &str| {
        let v = func.get_nth_param(next).expect("declared above");
        v.set_name(name);
        next += 1;
        v
    };
    let mut lowered = Vec::new();
    for p in &kernel.params {
        match kernel.value_type(p.value) {
            Type::Tensor(t) => {
                let ptr = param(&p.name).into_pointer_value();
                let sizes = (0..t.dims.len())
                    .map(|d| param(&format!("{}_size{d}", p.name)).into_int_value())
                    .collect();
                let strides = (0..t.dims.len().saturating_sub(1))
                    .map(|d| param(&format!("{}_stride{d}", p.name)).into_int_value())
                    .collect();
                lowered.push((
                    p.value,
                    Lowered::Tensor(TensorArgs {
                        ptr,
                        sizes,
                        strides,
                    }),
                ));
            }
            Type::Scalar(DType::I1) => {
                let byte = param(&p.name).into_int_value();
                let b = builder.build_int_compare(
                    IntPredicate::NE,
                    byte,
                    byte.get_type().const_zero(),
                    &p.name,
                )?;
                lowered.push((p.value, Lowered::Scalar(b.into())));
            }
            Type::Scalar(_) => lowered.push((p.value, Lowered::Scalar(param(&p.name)))),
            Type::Tile(_) => unreachable!("rejected above"),
        }
    }
    Ok((func, lowered, abi))
}

/// Marks `func` as a kernel launched with exactly `threads` threads in x.
fn annotate<'ctx>(
    ctx: &'ctx Context,
    module: &Module<'ctx>,
    func: FunctionValue<'ctx>,
    threads: u32,
) {
    let f: BasicMetadataValueEnum = func.as_global_value().as_pointer_value().into();
    let i32t = ctx.i32_type();
    // `.reqntid` (exactly this many threads) also bounds the block size like `.maxntid`;
    // ptxas rejects both together.
    for (key, value) in [("kernel", 1), ("reqntidx", threads)] {
        let node = ctx.metadata_node(&[
            f,
            ctx.metadata_string(key).into(),
            i32t.const_int(value as u64, false).into(),
        ]);
        module
            .add_global_metadata("nvvm.annotations", &node)
            .expect("nvvm.annotations is a valid named metadata");
    }
}

/// The dynamic shared memory array, `extern __shared__ align 16 u8 smem[]`.
pub fn shared_memory<'ctx>(ctx: &'ctx Context, module: &Module<'ctx>) -> PointerValue<'ctx> {
    let ty = ctx.i8_type().array_type(0);
    // Reserved-looking, so it does not collide with a kernel's name.
    let g = module.add_global(ty, Some(AddressSpace::from(SHARED)), "__tilec_smem");
    g.set_linkage(Linkage::External);
    g.set_alignment(16);
    g.as_pointer_value()
}
