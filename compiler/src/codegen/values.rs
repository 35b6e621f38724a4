//! How tile IR values live in LLVM: per-thread register lists, and index computation.
//!
//! A scalar is one LLVM value, the same in every thread. A distributed tile is the list of
//! registers its [`ThreadMap`] gives each thread (register `r` holds the element
//! `ThreadMap::element(thread, r)`). A tile with a shared layout lives in shared memory at a
//! byte offset fixed by the shared-memory plan. A tensor parameter is its global pointer, its
//! sizes (i32) and its strides (i64, all but the innermost). A dot operand that `ldmatrix`
//! can load stays in shared memory until `dot` loads it, one block at a time.
//!
//! Registers have the element's LLVM type: `i1`, `i32`, `i64`, `half`, `bfloat`, `float`.

use super::index::IndexArith;
use super::thread_map::ThreadMap;
use super::{Cg, CodegenError};
use crate::ir::{DType, TileType, Type, Value};
use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::types::{BasicTypeEnum, IntType};
use inkwell::values::{BasicValueEnum, IntValue, PointerValue};

#[derive(Clone, Debug)]
pub enum Lowered<'ctx> {
    Scalar(BasicValueEnum<'ctx>),
    Tile(Vec<BasicValueEnum<'ctx>>),
    Shared {
        byte_offset: u32,
    },
    /// A dot operand that `dot` loads from shared memory with `ldmatrix` as it goes.
    SharedOperand(Box<super::mma::SharedOperand>),
    Tensor(TensorArgs<'ctx>),
}

#[derive(Clone, Debug)]
pub struct TensorArgs<'ctx> {
    /// `ptr addrspace(1)` to element 0.
    pub ptr: PointerValue<'ctx>,
    pub sizes: Vec<IntValue<'ctx>>,
    /// Strides in elements of dims `0..rank-1` (i64); the innermost stride is 1.
    pub strides: Vec<IntValue<'ctx>>,
}

/// The LLVM type of one element of `dtype` in registers.
pub fn llvm_type<'ctx>(ctx: &'ctx Context, dtype: DType) -> BasicTypeEnum<'ctx> {
    match dtype {
        DType::I1 => ctx.bool_type().into(),
        DType::I32 => ctx.i32_type().into(),
        DType::I64 => ctx.i64_type().into(),
        DType::F16 => ctx.f16_type().into(),
        DType::BF16 => ctx.bf16_type().into(),
        DType::F32 => ctx.f32_type().into(),
    }
}

/// [`IndexArith`] on LLVM `i32` values: what the generated code computes.
pub struct LlvmIndex<'a, 'ctx> {
    pub b: &'a Builder<'ctx>,
    pub i32: IntType<'ctx>,
}

const POSITIONED: &str = "the builder is positioned inside the kernel";

impl<'ctx> IndexArith for LlvmIndex<'_, 'ctx> {
    type V = IntValue<'ctx>;
    fn konst(&mut self, c: u32) -> IntValue<'ctx> {
        self.i32.const_int(c as u64, false)
    }
    fn add(&mut self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> IntValue<'ctx> {
        self.b.build_int_add(a, b, "").expect(POSITIONED)
    }
    fn mul(&mut self, a: IntValue<'ctx>, c: u32) -> IntValue<'ctx> {
        let c = self.konst(c);
        self.b.build_int_mul(a, c, "").expect(POSITIONED)
    }
    fn and(&mut self, a: IntValue<'ctx>, mask: u32) -> IntValue<'ctx> {
        let m = self.konst(mask);
        self.b.build_and(a, m, "").expect(POSITIONED)
    }
    fn shr(&mut self, a: IntValue<'ctx>, bits: u32) -> IntValue<'ctx> {
        if bits == 0 {
            return a;
        }
        let s = self.konst(bits);
        self.b.build_right_shift(a, s, false, "").expect(POSITIONED)
    }
    fn xor(&mut self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> IntValue<'ctx> {
        self.b.build_xor(a, b, "").expect(POSITIONED)
    }
}

impl<'a, 'ctx> Cg<'a, 'ctx> {
    pub fn index(&self) -> LlvmIndex<'_, 'ctx> {
        LlvmIndex {
            b: self.b,
            i32: self.ctx.i32_type(),
        }
    }

    pub fn get(&self, v: Value) -> Result<&Lowered<'ctx>, CodegenError> {
        self.values
            .get(&v)
            .ok_or_else(|| CodegenError::Internal(format!("{v} used before it was lowered")))
    }

    pub fn scalar(&self, v: Value) -> Result<BasicValueEnum<'ctx>, CodegenError> {
        match self.get(v)? {
            Lowered::Scalar(x) => Ok(*x),
            _ => Err(CodegenError::Internal(format!("{v} is not a scalar"))),
        }
    }

    pub fn int_scalar(&self, v: Value) -> Result<IntValue<'ctx>, CodegenError> {
        match self.scalar(v)? {
            BasicValueEnum::IntValue(i) => Ok(i),
            _ => Err(CodegenError::Internal(format!(
                "{v} is not an integer scalar"
            ))),
        }
    }

    pub fn regs(&self, v: Value) -> Result<Vec<BasicValueEnum<'ctx>>, CodegenError> {
        match self.get(v)? {
            Lowered::Tile(r) => Ok(r.clone()),
            _ => Err(CodegenError::Internal(format!(
                "{v} is not a distributed tile"
            ))),
        }
    }

    /// Registers of a scalar or tile operand: one register for a scalar.
    pub fn operand_regs(&self, v: Value) -> Result<Vec<BasicValueEnum<'ctx>>, CodegenError> {
        match self.get(v)? {
            Lowered::Scalar(x) => Ok(vec![*x]),
            Lowered::Tile(r) => Ok(r.clone()),
            _ => Err(CodegenError::Internal(format!(
                "{v} is neither scalar nor distributed tile"
            ))),
        }
    }

    pub fn tile_type(&self, v: Value) -> Result<&'a TileType, CodegenError> {
        self.kernel
            .value_type(v)
            .as_tile()
            .ok_or_else(|| CodegenError::Internal(format!("{v} is not a tile")))
    }

    /// The thread map of a distributed tile value.
    pub fn map_of(&self, v: Value) -> Result<ThreadMap, CodegenError> {
        map_of_type(self.tile_type(v)?, self.num_warps)
    }

    /// Per-register coordinates of a tile with map `map` in this thread.
    pub fn coords(&self, map: &ThreadMap) -> Vec<Vec<IntValue<'ctx>>> {
        let mut ia = self.index();
        let base = map.thread_base(&mut ia, self.tid);
        (0..map.regs.len())
            .map(|r| map.coords(&mut ia, &base, r))
            .collect()
    }

    /// Records the lowering of `v`.
    pub fn set(&mut self, v: Value, lowered: Lowered<'ctx>) {
        self.values.insert(v, lowered);
    }

    /// Records a scalar or tile result: a tile if the IR type is a tile.
    pub fn set_regs(&mut self, v: Value, regs: Vec<BasicValueEnum<'ctx>>) {
        let lowered = match self.kernel.value_type(v) {
            Type::Tile(_) => Lowered::Tile(regs),
            _ => Lowered::Scalar(regs[0]),
        };
        self.set(v, lowered);
    }
}

pub fn map_of_type(t: &TileType, num_warps: u32) -> Result<ThreadMap, CodegenError> {
    let layout = t.layout.as_ref().ok_or_else(|| {
        CodegenError::Internal("a tile has no layout: run the layout pass first".into())
    })?;
    ThreadMap::new(layout, &t.shape, num_warps)
        .map_err(|e| CodegenError::Internal(format!("layout {layout}: {e}")))
}
