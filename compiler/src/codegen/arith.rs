//! Element-wise arithmetic, comparisons, selects and casts on single registers.
//!
//! Tiles are handled by the caller, register by register (element-wise operands have
//! identical layouts after the layout pass). Semantics follow the language reference:
//! f16/bf16 operations compute in f32 and round once; integer arithmetic wraps; float
//! `min`/`max` ignore a NaN operand (`llvm.minnum`/`maxnum`); float to int truncates,
//! saturating, NaN to 0 (`llvm.fptosi.sat`); number to bool is `x != 0`.

use super::{Cg, CodegenError};
use crate::ir::{BinaryOp, CmpOp, DType, UnaryOp};
use inkwell::values::{BasicValueEnum, FloatValue, IntValue};
use inkwell::{FloatPredicate, IntPredicate};

fn internal(msg: String) -> CodegenError {
    CodegenError::Internal(msg)
}

impl<'ctx> Cg<'_, 'ctx> {
    /// A float register as f32 (exact for f16/bf16).
    pub fn widen(
        &self,
        dtype: DType,
        x: BasicValueEnum<'ctx>,
    ) -> Result<FloatValue<'ctx>, CodegenError> {
        let x = x.into_float_value();
        Ok(match dtype {
            DType::F32 => x,
            _ => self.b.build_float_ext(x, self.ctx.f32_type(), "")?,
        })
    }

    /// An f32 rounded (to nearest even) to `dtype`.
    pub fn narrow(
        &self,
        dtype: DType,
        x: FloatValue<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>, CodegenError> {
        Ok(match dtype {
            DType::F32 => x.into(),
            DType::F16 => self.b.build_float_trunc(x, self.ctx.f16_type(), "")?.into(),
            DType::BF16 => self
                .b
                .build_float_trunc(x, self.ctx.bf16_type(), "")?
                .into(),
            _ => return Err(internal(format!("narrow to {dtype}"))),
        })
    }

    pub fn unary_reg(
        &self,
        op: UnaryOp,
        dtype: DType,
        x: BasicValueEnum<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>, CodegenError> {
        if dtype.is_float() {
            let f = self.widen(dtype, x)?;
            let r = match op {
                UnaryOp::Neg => self.b.build_float_neg(f, "")?,
                UnaryOp::Abs => self.overloaded("llvm.fabs", &[f.into()]).into_float_value(),
                UnaryOp::Exp => self.exp(f)?,
                UnaryOp::Exp2 => self.exp2(f),
                UnaryOp::Log => self.log(f)?,
                UnaryOp::Log2 => self.log2(f),
                UnaryOp::Sqrt => self.sqrt(f),
                UnaryOp::Rsqrt => self.rsqrt(f),
                UnaryOp::Not => return Err(internal("`not` of a float".into())),
            };
            return self.narrow(dtype, r);
        }
        let i = x.into_int_value();
        Ok(match op {
            UnaryOp::Neg => self.b.build_int_neg(i, "")?.into(),
            UnaryOp::Not => self.b.build_not(i, "")?.into(),
            UnaryOp::Abs => {
                let neg = self.b.build_int_neg(i, "")?;
                let is_neg = self.b.build_int_compare(
                    IntPredicate::SLT,
                    i,
                    i.get_type().const_zero(),
                    "",
                )?;
                self.b.build_select(is_neg, neg, i, "")?
            }
            _ => return Err(internal(format!("{op} of an integer"))),
        })
    }

    pub fn binary_reg(
        &self,
        op: BinaryOp,
        dtype: DType,
        a: BasicValueEnum<'ctx>,
        b: BasicValueEnum<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>, CodegenError> {
        if dtype.is_float() {
            let (x, y) = (self.widen(dtype, a)?, self.widen(dtype, b)?);
            let r = match op {
                BinaryOp::Add => self.b.build_float_add(x, y, "")?,
                BinaryOp::Sub => self.b.build_float_sub(x, y, "")?,
                BinaryOp::Mul => self.b.build_float_mul(x, y, "")?,
                BinaryOp::Div => self.b.build_float_div(x, y, "")?,
                BinaryOp::Rem => self.b.build_float_rem(x, y, "")?,
                BinaryOp::Min => self
                    .overloaded("llvm.minnum", &[x.into(), y.into()])
                    .into_float_value(),
                BinaryOp::Max => self
                    .overloaded("llvm.maxnum", &[x.into(), y.into()])
                    .into_float_value(),
                BinaryOp::And | BinaryOp::Or => return Err(internal(format!("{op} of floats"))),
            };
            return self.narrow(dtype, r);
        }
        let (x, y) = (a.into_int_value(), b.into_int_value());
        let r: IntValue = match op {
            BinaryOp::Add => self.b.build_int_add(x, y, "")?,
            BinaryOp::Sub => self.b.build_int_sub(x, y, "")?,
            BinaryOp::Mul => self.b.build_int_mul(x, y, "")?,
            BinaryOp::Div => self.b.build_int_signed_div(x, y, "")?,
            BinaryOp::Rem => self.b.build_int_signed_rem(x, y, "")?,
            BinaryOp::Min if dtype.is_bool() => self.b.build_and(x, y, "")?,
            BinaryOp::Max if dtype.is_bool() => self.b.build_or(x, y, "")?,
            BinaryOp::Min => self
                .overloaded("llvm.smin", &[x.into(), y.into()])
                .into_int_value(),
            BinaryOp::Max => self
                .overloaded("llvm.smax", &[x.into(), y.into()])
                .into_int_value(),
            BinaryOp::And => self.b.build_and(x, y, "")?,
            BinaryOp::Or => self.b.build_or(x, y, "")?,
        };
        Ok(r.into())
    }

    pub fn cmp_reg(
        &self,
        op: CmpOp,
        dtype: DType,
        a: BasicValueEnum<'ctx>,
        b: BasicValueEnum<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>, CodegenError> {
        if dtype.is_float() {
            let (x, y) = (self.widen(dtype, a)?, self.widen(dtype, b)?);
            let pred = match op {
                CmpOp::Eq => FloatPredicate::OEQ,
                CmpOp::Ne => FloatPredicate::UNE,
                CmpOp::Lt => FloatPredicate::OLT,
                CmpOp::Le => FloatPredicate::OLE,
                CmpOp::Gt => FloatPredicate::OGT,
                CmpOp::Ge => FloatPredicate::OGE,
            };
            return Ok(self.b.build_float_compare(pred, x, y, "")?.into());
        }
        // Booleans compare as unsigned (false < true), integers as signed.
        let signed = !dtype.is_bool();
        let pred = match op {
            CmpOp::Eq => IntPredicate::EQ,
            CmpOp::Ne => IntPredicate::NE,
            CmpOp::Lt if signed => IntPredicate::SLT,
            CmpOp::Le if signed => IntPredicate::SLE,
            CmpOp::Gt if signed => IntPredicate::SGT,
            CmpOp::Ge if signed => IntPredicate::SGE,
            CmpOp::Lt => IntPredicate::ULT,
            CmpOp::Le => IntPredicate::ULE,
            CmpOp::Gt => IntPredicate::UGT,
            CmpOp::Ge => IntPredicate::UGE,
        };
        Ok(self
            .b
            .build_int_compare(pred, a.into_int_value(), b.into_int_value(), "")?
            .into())
    }

    pub fn cast_reg(
        &self,
        from: DType,
        to: DType,
        x: BasicValueEnum<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>, CodegenError> {
        if from == to {
            return Ok(x);
        }
        let to_ty = super::values::llvm_type(self.ctx, to);
        Ok(match (from, to) {
            (f, DType::I1) if f.is_float() => {
                let w = self.widen(f, x)?;
                self.b
                    .build_float_compare(
                        FloatPredicate::UNE,
                        w,
                        self.ctx.f32_type().const_zero(),
                        "",
                    )?
                    .into()
            }
            (_, DType::I1) => {
                let i = x.into_int_value();
                self.b
                    .build_int_compare(IntPredicate::NE, i, i.get_type().const_zero(), "")?
                    .into()
            }
            (DType::I1, t) if t.is_int() => self
                .b
                .build_int_z_extend(x.into_int_value(), to_ty.into_int_type(), "")?
                .into(),
            (DType::I1, t) => {
                let f = self.b.build_unsigned_int_to_float(
                    x.into_int_value(),
                    self.ctx.f32_type(),
                    "",
                )?;
                self.narrow(t, f)?
            }
            (f, t) if f.is_int() && t.is_int() => {
                let i = x.into_int_value();
                if f.size_bytes() < t.size_bytes() {
                    self.b
                        .build_int_s_extend(i, to_ty.into_int_type(), "")?
                        .into()
                } else {
                    self.b
                        .build_int_truncate(i, to_ty.into_int_type(), "")?
                        .into()
                }
            }
            // bf16 goes through f32: sm_80 has no direct integer to bf16 conversion.
            (f, DType::BF16) if f.is_int() => {
                let w = self.b.build_signed_int_to_float(
                    x.into_int_value(),
                    self.ctx.f32_type(),
                    "",
                )?;
                self.narrow(DType::BF16, w)?
            }
            (f, _) if f.is_int() => self
                .b
                .build_signed_int_to_float(x.into_int_value(), to_ty.into_float_type(), "")?
                .into(),
            (f, t) if t.is_int() => {
                let w = self.widen(f, x)?;
                let name = format!("llvm.fptosi.sat.i{}.f32", t.size_bytes() * 8);
                let func = self.intrinsic(&name, Some(to_ty), &[self.ctx.f32_type().into()]);
                self.call(func, &[w.into()])
                    .expect("fptosi.sat returns a value")
            }
            (f, t) => {
                let w = self.widen(f, x)?;
                self.narrow(t, w)?
            }
        })
    }
}
