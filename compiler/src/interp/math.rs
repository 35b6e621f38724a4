//! Rounding and conversion rules of the language ("Semantics of arithmetic" in
//! docs/language.md), one function per rule, so every instruction applies them the same way.
//!
//! * Floats: f32 results are IEEE f32; f16/bf16 results are computed in f32 and rounded once
//!   to the dtype, round to nearest even ([`round_float`]).
//! * Integers: two's complement wrapping at the dtype's width ([`wrap_int`]).
//! * Casts: [`float_to_int`], [`int_to_float`], [`float_to_float`].
//! * `min`/`max` propagate NaN: the result is NaN if either operand is ([`max_f`], [`min_f`]).

use crate::ir::{ConstValue, DType};
use half::{bf16, f16};

/// Rounds an f32 to the nearest value of a float dtype (ties to even); identity for f32.
#[inline]
pub fn round_float(dtype: DType, x: f32) -> f32 {
    match dtype {
        DType::F16 => f16::from_f32(x).to_f32(),
        DType::BF16 => bf16::from_f32(x).to_f32(),
        _ => x,
    }
}

/// Rounds every element in place (see [`round_float`]); a no-op for f32.
pub fn round_floats(dtype: DType, xs: &mut [f32]) {
    match dtype {
        DType::F16 => xs.iter_mut().for_each(|x| *x = f16::from_f32(*x).to_f32()),
        DType::BF16 => xs.iter_mut().for_each(|x| *x = bf16::from_f32(*x).to_f32()),
        _ => {}
    }
}

/// Rounds an f64 to a float dtype in one step (no double rounding through f32 for f16/bf16).
pub fn f64_to_float(dtype: DType, x: f64) -> f32 {
    match dtype {
        DType::F16 => f16::from_f64(x).to_f32(),
        DType::BF16 => bf16::from_f64(x).to_f32(),
        _ => x as f32,
    }
}

/// Wraps an integer to the dtype's width (two's complement); i64 values are unchanged.
#[inline]
pub fn wrap_int(dtype: DType, x: i64) -> i64 {
    match dtype {
        DType::I32 => x as i32 as i64,
        _ => x,
    }
}

/// Float to float: round to nearest even (the source is exact in f32 storage).
pub fn float_to_float(to: DType, x: f32) -> f32 {
    round_float(to, x)
}

/// Float to int: truncates toward zero, saturates at the dtype's bounds, NaN gives 0 (Rust's
/// `as` implements exactly this rule).
pub fn float_to_int(to: DType, x: f32) -> i64 {
    match to {
        DType::I32 => x as i32 as i64,
        _ => x as i64,
    }
}

/// Int to float: rounds to the nearest value of the dtype, ties to even, in a single rounding.
pub fn int_to_float(to: DType, x: i64) -> f32 {
    // Integers of magnitude below 2^24 are exact in f32, so one rounding to f16/bf16 follows.
    const EXACT_IN_F32: i64 = 1 << 24;
    if to == DType::F32 || (-EXACT_IN_F32..=EXACT_IN_F32).contains(&x) {
        // `i64 as f32` is itself correctly rounded (ties to even).
        return round_float(to, x as f32);
    }
    match to {
        // |x| > 2^24 is far beyond f16's largest finite value (65504).
        DType::F16 => {
            if x > 0 {
                f32::INFINITY
            } else {
                f32::NEG_INFINITY
            }
        }
        // bf16 keeps 8 significant bits: round the magnitude to 8 bits by hand, then the
        // result is exact in f32 and in bf16.
        _ => {
            let magnitude = x.unsigned_abs();
            let shift = 64 - magnitude.leading_zeros() - 8;
            let kept = magnitude >> shift;
            let rest = magnitude & ((1u64 << shift) - 1);
            let halfway = 1u64 << (shift - 1);
            let rounded = if rest > halfway || (rest == halfway && kept & 1 == 1) {
                kept + 1
            } else {
                kept
            };
            let value = rounded as f32 * (shift as f32).exp2();
            if x < 0 {
                -value
            } else {
                value
            }
        }
    }
}

/// A compile-time constant as an element of `dtype`, by the cast rules. The `Elem` tells the
/// caller which storage class it belongs to. `None` for a dtype value (`ConstValue::DType`),
/// which is not a number: the verifier keeps it out of instructions.
pub fn const_elem(dtype: DType, value: ConstValue) -> Option<Elem> {
    Some(match (dtype, value) {
        (_, ConstValue::DType(_)) => return None,
        (DType::I1, ConstValue::Bool(b)) => Elem::Bool(b),
        (DType::I1, ConstValue::Int(i)) => Elem::Bool(i != 0),
        (DType::I1, ConstValue::Float(f)) => Elem::Bool(f != 0.0),
        (DType::I32 | DType::I64, ConstValue::Float(f)) => Elem::Int(float_to_int_f64(dtype, f)),
        (DType::I32 | DType::I64, v) => Elem::Int(wrap_int(dtype, v.as_i64())),
        (_, ConstValue::Float(f)) => Elem::Float(f64_to_float(dtype, f)),
        (_, ConstValue::Int(i)) => Elem::Float(int_to_float(dtype, i)),
        (_, ConstValue::Bool(b)) => Elem::Float(b as i64 as f32),
    })
}

fn float_to_int_f64(to: DType, x: f64) -> i64 {
    match to {
        DType::I32 => x as i32 as i64,
        _ => x as i64,
    }
}

/// One element, tagged with its storage class (see `super::value::Elems`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Elem {
    Bool(bool),
    Int(i64),
    Float(f32),
}

/// Maximum that propagates NaN; `max(-0.0, +0.0)` is `+0.0`.
#[inline]
pub fn max_f(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else if a > b || (a == b && b.is_sign_negative()) {
        a
    } else {
        b
    }
}

/// Minimum that propagates NaN; `min(-0.0, +0.0)` is `-0.0`.
#[inline]
pub fn min_f(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else if a < b || (a == b && a.is_sign_negative()) {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_rounds_ties_to_even() {
        // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: the even neighbour is 1.
        assert_eq!(round_float(DType::F16, 1.0 + 2f32.powi(-11)), 1.0);
        assert_eq!(
            round_float(DType::F16, 1.0 + 3.0 * 2f32.powi(-11)),
            1.0 + 2f32.powi(-9)
        );
        assert_eq!(round_float(DType::F16, 65520.0), f32::INFINITY);
    }

    #[test]
    fn large_ints_round_once_to_bf16() {
        // 2^30 + 2^22 + 1 is just above the halfway point between two bf16 neighbours.
        let x = (1i64 << 30) + (1 << 22) + 1;
        assert_eq!(
            int_to_float(DType::BF16, x),
            ((1i64 << 30) + (1 << 23)) as f32
        );
        assert_eq!(
            int_to_float(DType::BF16, -(1i64 << 30) - (1 << 22)),
            -(1i64 << 30) as f32
        );
        assert_eq!(int_to_float(DType::F16, 1 << 40), f32::INFINITY);
    }

    #[test]
    fn min_max_propagate_nan_and_order_zeros() {
        assert!(max_f(f32::NAN, 1.0).is_nan());
        assert!(min_f(1.0, f32::NAN).is_nan());
        assert!(max_f(-0.0, 0.0).is_sign_positive());
        assert!(min_f(0.0, -0.0).is_sign_negative());
    }
}
