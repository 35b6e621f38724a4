//! NVVM and LLVM intrinsics: special registers, barriers, warp shuffles, fast math.
//!
//! Each helper declares its intrinsic on first use and emits one call. The math helpers
//! follow the language's rules: `exp2` is `ex2.approx.f32`, `exp(x)` is `ex2(x · log2 e)`,
//! `log2` is `lg2.approx.f32`, `log(x)` is `lg2(x) · ln 2`, `sqrt` is `sqrt.rn.f32` (correctly
//! rounded), `rsqrt` is `rsqrt.approx.f32`. All on f32; callers widen f16/bf16 first.

use super::{Cg, CodegenError};
use inkwell::types::{BasicMetadataTypeEnum, BasicTypeEnum};
use inkwell::values::{
    BasicMetadataValueEnum, BasicValueEnum, FloatValue, FunctionValue, IntValue,
};

const POSITIONED: &str = "the builder is positioned inside the kernel";

impl<'ctx> Cg<'_, 'ctx> {
    /// The declaration of intrinsic `name` with the given signature (declared on first use).
    pub fn intrinsic(
        &self,
        name: &str,
        ret: Option<BasicTypeEnum<'ctx>>,
        params: &[BasicTypeEnum<'ctx>],
    ) -> FunctionValue<'ctx> {
        if let Some(f) = self.module.get_function(name) {
            return f;
        }
        let params: Vec<BasicMetadataTypeEnum> = params.iter().map(|&p| p.into()).collect();
        let ty = match ret {
            Some(r) => fn_type(r, &params),
            None => self.ctx.void_type().fn_type(&params, false),
        };
        self.module.add_function(name, ty, None)
    }

    /// Calls `f`; its result, if it returns one.
    pub fn call(
        &self,
        f: FunctionValue<'ctx>,
        args: &[BasicValueEnum<'ctx>],
    ) -> Option<BasicValueEnum<'ctx>> {
        let args: Vec<BasicMetadataValueEnum> = args.iter().map(|&a| a.into()).collect();
        match self
            .b
            .build_call(f, &args, "")
            .expect(POSITIONED)
            .try_as_basic_value()
        {
            inkwell::values::ValueKind::Basic(v) => Some(v),
            inkwell::values::ValueKind::Instruction(_) => None,
        }
    }

    fn call_value(
        &self,
        name: &str,
        ret: BasicTypeEnum<'ctx>,
        args: &[BasicValueEnum<'ctx>],
    ) -> BasicValueEnum<'ctx> {
        let params: Vec<BasicTypeEnum> = args.iter().map(|a| a.get_type()).collect();
        let f = self.intrinsic(name, Some(ret), &params);
        self.call(f, args).expect("value-returning intrinsic")
    }

    /// A special register such as `tid.x` or `ctaid.y` (`llvm.nvvm.read.ptx.sreg.*`).
    pub fn special_register(&self, name: &str) -> IntValue<'ctx> {
        let full = format!("llvm.nvvm.read.ptx.sreg.{name}");
        self.call_value(&full, self.ctx.i32_type().into(), &[])
            .into_int_value()
    }

    /// `bar.sync 0`: every thread of the program waits here.
    pub fn barrier(&self) {
        let f = self.intrinsic("llvm.nvvm.barrier0", None, &[]);
        self.call(f, &[]);
    }

    /// `shfl.sync.bfly.b32` with the full warp: the value of lane `lane ^ lane_mask`.
    pub fn shuffle_xor_i32(&self, v: IntValue<'ctx>, lane_mask: u32) -> IntValue<'ctx> {
        let i32t = self.ctx.i32_type();
        let args = [
            i32t.const_all_ones().into(),
            v.into(),
            i32t.const_int(lane_mask as u64, false).into(),
            i32t.const_int(31, false).into(),
        ];
        self.call_value("llvm.nvvm.shfl.sync.bfly.i32", i32t.into(), &args)
            .into_int_value()
    }

    /// A butterfly shuffle of any 32- or 64-bit register value.
    pub fn shuffle_xor(
        &self,
        v: BasicValueEnum<'ctx>,
        lane_mask: u32,
    ) -> Result<BasicValueEnum<'ctx>, CodegenError> {
        let i32t = self.ctx.i32_type();
        let bits = match v.get_type() {
            BasicTypeEnum::IntType(t) => t.get_bit_width(),
            BasicTypeEnum::FloatType(_) => 32,
            _ => {
                return Err(CodegenError::Internal(
                    "shuffle of a non-scalar register".into(),
                ))
            }
        };
        if bits == 64 {
            let v2 = self
                .b
                .build_bit_cast(v, i32t.vec_type(2), "")?
                .into_vector_value();
            let mut out = v2;
            for i in 0..2 {
                let idx = i32t.const_int(i, false);
                let half = self.b.build_extract_element(v2, idx, "")?.into_int_value();
                let moved = self.shuffle_xor_i32(half, lane_mask);
                out = self.b.build_insert_element(out, moved, idx, "")?;
            }
            return Ok(self.b.build_bit_cast(out, v.get_type(), "")?);
        }
        if bits != 32 {
            return Err(CodegenError::Internal(format!(
                "shuffle of a {bits}-bit register"
            )));
        }
        let as_int = self.b.build_bit_cast(v, i32t, "")?.into_int_value();
        let moved = self.shuffle_xor_i32(as_int, lane_mask);
        Ok(self.b.build_bit_cast(moved, v.get_type(), "")?)
    }

    fn f32_call(&self, name: &str, x: FloatValue<'ctx>) -> FloatValue<'ctx> {
        self.call_value(name, self.ctx.f32_type().into(), &[x.into()])
            .into_float_value()
    }

    pub fn exp2(&self, x: FloatValue<'ctx>) -> FloatValue<'ctx> {
        self.f32_call("llvm.nvvm.ex2.approx.f", x)
    }

    pub fn exp(&self, x: FloatValue<'ctx>) -> Result<FloatValue<'ctx>, CodegenError> {
        let log2e = self.ctx.f32_type().const_float(std::f64::consts::LOG2_E);
        let scaled = self.b.build_float_mul(x, log2e, "")?;
        Ok(self.exp2(scaled))
    }

    pub fn log2(&self, x: FloatValue<'ctx>) -> FloatValue<'ctx> {
        self.f32_call("llvm.nvvm.lg2.approx.f", x)
    }

    pub fn log(&self, x: FloatValue<'ctx>) -> Result<FloatValue<'ctx>, CodegenError> {
        let ln2 = self.ctx.f32_type().const_float(std::f64::consts::LN_2);
        Ok(self.b.build_float_mul(self.log2(x), ln2, "")?)
    }

    pub fn sqrt(&self, x: FloatValue<'ctx>) -> FloatValue<'ctx> {
        self.f32_call("llvm.nvvm.sqrt.rn.f", x)
    }

    pub fn rsqrt(&self, x: FloatValue<'ctx>) -> FloatValue<'ctx> {
        self.f32_call("llvm.nvvm.rsqrt.approx.f", x)
    }

    /// A generic LLVM intrinsic overloaded on its argument type (`llvm.fabs`, `llvm.smax`...).
    pub fn overloaded(&self, base: &str, args: &[BasicValueEnum<'ctx>]) -> BasicValueEnum<'ctx> {
        let ty = args[0].get_type();
        let suffix = type_suffix(ty);
        self.call_value(&format!("{base}.{suffix}"), ty, args)
    }
}

/// LLVM's name suffix for a scalar type in overloaded intrinsic names.
pub fn type_suffix(ty: BasicTypeEnum<'_>) -> String {
    match ty {
        BasicTypeEnum::IntType(t) => format!("i{}", t.get_bit_width()),
        BasicTypeEnum::FloatType(t) => {
            let ctx = t.get_context();
            if t == ctx.f16_type() {
                "f16".into()
            } else if t == ctx.bf16_type() {
                "bf16".into()
            } else if t == ctx.f64_type() {
                "f64".into()
            } else {
                "f32".into()
            }
        }
        _ => "unknown".into(),
    }
}

/// The type of a function returning `ret`.
pub fn fn_type<'ctx>(
    ret: BasicTypeEnum<'ctx>,
    params: &[BasicMetadataTypeEnum<'ctx>],
) -> inkwell::types::FunctionType<'ctx> {
    match ret {
        BasicTypeEnum::ArrayType(t) => t.fn_type(params, false),
        BasicTypeEnum::FloatType(t) => t.fn_type(params, false),
        BasicTypeEnum::IntType(t) => t.fn_type(params, false),
        BasicTypeEnum::PointerType(t) => t.fn_type(params, false),
        BasicTypeEnum::StructType(t) => t.fn_type(params, false),
        BasicTypeEnum::VectorType(t) => t.fn_type(params, false),
        BasicTypeEnum::ScalableVectorType(t) => t.fn_type(params, false),
    }
}
