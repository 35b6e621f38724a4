//! Dtype and shape rules of the language: source dtype names, how types print in
//! diagnostics, literal adaptation (with range checks), tile-shape limits and broadcasting.
//!
//! These functions are pure: they decide, and the caller turns a refusal into a diagnostic
//! with the right spans. Nothing here emits IR.

use crate::ir::{ConstValue, DType, Dim, Type};

/// The largest number of elements a tile may hold.
pub const MAX_TILE_ELEMENTS: u64 = 1 << 20;
/// The largest tile rank.
pub const MAX_TILE_RANK: usize = 2;

/// Dtype names as written in source (`bool`, not the IR's `i1`).
pub const SOURCE_DTYPES: [&str; 6] = ["bool", "i32", "i64", "f16", "bf16", "f32"];

/// A dtype written in source; `None` for unknown names (including the IR-only `i1`).
pub fn source_dtype(name: &str) -> Option<DType> {
    if name == "i1" {
        return None;
    }
    DType::from_name(name)
}

/// A dtype as the user writes it.
pub fn dtype_name(d: DType) -> &'static str {
    match d {
        DType::I1 => "bool",
        other => other.name(),
    }
}

/// A shape as written in source: `[128, 64]`.
pub fn shape_text(shape: &[u32]) -> String {
    let dims: Vec<String> = shape.iter().map(u32::to_string).collect();
    format!("[{}]", dims.join(", "))
}

/// A type as the user writes it: `f32`, `tile<f16, [128, 64]>`, `&mut f16[S, 64]`.
pub fn type_text(ty: &Type, symbols: &[String]) -> String {
    match ty {
        Type::Scalar(d) => dtype_name(*d).to_string(),
        Type::Tile(t) => format!("tile<{}, {}>", dtype_name(t.dtype), shape_text(&t.shape)),
        Type::Tensor(t) => {
            let dims: Vec<String> = t
                .dims
                .iter()
                .map(|d| match d {
                    Dim::Const(c) => c.to_string(),
                    Dim::Sym(s) => symbols
                        .get(*s as usize)
                        .cloned()
                        .unwrap_or_else(|| format!("?{s}")),
                })
                .collect();
            let m = if t.mutable { "mut " } else { "" };
            format!("&{m}{}[{}]", dtype_name(t.dtype), dims.join(", "))
        }
    }
}

/// Why a literal does not fit a dtype.
#[derive(Clone, Debug, PartialEq)]
pub enum LiteralError {
    /// A float literal where an integer or bool is needed.
    FloatForInt,
    /// A number where a bool is needed.
    NumberForBool,
    /// The value does not fit (integer overflow, or a finite float that rounds to infinity).
    OutOfRange,
}

/// Rounds a float to the precision of a float dtype (f32 rounding for other dtypes).
pub fn round_float(x: f64, dtype: DType) -> f64 {
    match dtype {
        DType::F16 => half::f16::from_f64(x).to_f64(),
        DType::BF16 => half::bf16::from_f64(x).to_f64(),
        _ => x as f32 as f64,
    }
}

/// Gives an untyped literal the dtype `dtype`: an integer literal fits ints and floats, a float
/// literal only floats. The returned value is in the canonical form for `dtype` (floats rounded).
pub fn adapt_literal(lit: ConstValue, dtype: DType) -> Result<ConstValue, LiteralError> {
    match (lit, dtype) {
        (ConstValue::Bool(b), DType::I1) => Ok(ConstValue::Bool(b)),
        (_, DType::I1) => Err(LiteralError::NumberForBool),
        (ConstValue::Int(i), DType::I32) => i32::try_from(i)
            .map(|_| ConstValue::Int(i))
            .map_err(|_| LiteralError::OutOfRange),
        (ConstValue::Int(i), DType::I64) => Ok(ConstValue::Int(i)),
        (ConstValue::Float(_), DType::I32 | DType::I64) => Err(LiteralError::FloatForInt),
        (ConstValue::Bool(_), _) => Err(LiteralError::NumberForBool),
        (lit, float) => {
            let x = lit.as_f64();
            let r = round_float(x, float);
            if x.is_finite() && r.is_infinite() {
                Err(LiteralError::OutOfRange)
            } else {
                Ok(ConstValue::Float(r))
            }
        }
    }
}

/// The default dtype of an untyped literal used on its own (`let x = 1;`): as in Rust, `i32`
/// for integers and `f32` for floats. (A dtype is never a literal; it would get `i32`.)
pub fn default_literal_dtype(lit: ConstValue) -> DType {
    match lit {
        ConstValue::Int(_) | ConstValue::DType(_) => DType::I32,
        ConstValue::Float(_) => DType::F32,
        ConstValue::Bool(_) => DType::I1,
    }
}

/// The inclusive range of an integer dtype.
pub fn int_range(d: DType) -> (i64, i64) {
    match d {
        DType::I32 => (i32::MIN as i64, i32::MAX as i64),
        DType::I1 => (0, 1),
        _ => (i64::MIN, i64::MAX),
    }
}

/// Why a tile shape is not allowed.
#[derive(Clone, Debug, PartialEq)]
pub enum ShapeError {
    /// Rank 0 or above [`MAX_TILE_RANK`].
    Rank(usize),
    /// Extent number `dim` is not a power of two.
    NotPowerOfTwo { dim: usize, extent: i64 },
    /// More than [`MAX_TILE_ELEMENTS`] elements.
    TooLarge(u64),
}

/// Whether `n` is a positive power of two.
pub fn is_power_of_two(n: i64) -> bool {
    n > 0 && n & (n - 1) == 0
}

/// Checks a tile shape given as integers and converts it.
pub fn check_tile_shape(extents: &[i64]) -> Result<Vec<u32>, ShapeError> {
    if extents.is_empty() || extents.len() > MAX_TILE_RANK {
        return Err(ShapeError::Rank(extents.len()));
    }
    let mut total: u64 = 1;
    for (dim, &extent) in extents.iter().enumerate() {
        if !is_power_of_two(extent) {
            return Err(ShapeError::NotPowerOfTwo { dim, extent });
        }
        total = total.saturating_mul(extent as u64);
    }
    if total > MAX_TILE_ELEMENTS {
        return Err(ShapeError::TooLarge(total));
    }
    Ok(extents.iter().map(|&e| e as u32).collect())
}

/// Why two shapes do not broadcast.
#[derive(Clone, Debug, PartialEq)]
pub enum BroadcastError {
    Rank(usize, usize),
    /// Dim `dim` has extents `a` and `b`, neither 1.
    Dim {
        dim: usize,
        a: u32,
        b: u32,
    },
}

/// The broadcast shape of two operands (`None` is a scalar): a scalar combines with anything;
/// tiles need equal ranks, and per dim equal extents or one of them 1.
pub fn broadcast_shapes(
    a: Option<&[u32]>,
    b: Option<&[u32]>,
) -> Result<Option<Vec<u32>>, BroadcastError> {
    match (a, b) {
        (None, None) => Ok(None),
        (Some(s), None) | (None, Some(s)) => Ok(Some(s.to_vec())),
        (Some(a), Some(b)) => {
            if a.len() != b.len() {
                return Err(BroadcastError::Rank(a.len(), b.len()));
            }
            let mut out = Vec::with_capacity(a.len());
            for (dim, (&x, &y)) in a.iter().zip(b).enumerate() {
                out.push(match (x, y) {
                    _ if x == y => x,
                    (1, y) => y,
                    (x, 1) => x,
                    _ => return Err(BroadcastError::Dim { dim, a: x, b: y }),
                });
            }
            Ok(Some(out))
        }
    }
}

/// The dtype to suggest casting to when two typed operands differ: the wider float, else the
/// wider int.
pub fn suggested_common_dtype(a: DType, b: DType) -> DType {
    let rank = |d: DType| match d {
        DType::I1 => 0,
        DType::I32 => 1,
        DType::I64 => 2,
        DType::BF16 => 3,
        DType::F16 => 4,
        DType::F32 => 5,
    };
    if rank(a) >= rank(b) {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_adapt_with_range_checks() {
        assert_eq!(
            adapt_literal(ConstValue::Int(70000), DType::F16),
            Err(LiteralError::OutOfRange)
        );
        assert_eq!(
            adapt_literal(ConstValue::Int(3_000_000_000), DType::I32),
            Err(LiteralError::OutOfRange)
        );
        assert_eq!(
            adapt_literal(ConstValue::Float(f64::NEG_INFINITY), DType::F16),
            Ok(ConstValue::Float(f64::NEG_INFINITY))
        );
        assert_eq!(
            adapt_literal(ConstValue::Float(1.5), DType::I32),
            Err(LiteralError::FloatForInt)
        );
    }

    #[test]
    fn broadcasting() {
        assert_eq!(
            broadcast_shapes(Some(&[128, 1]), Some(&[1, 64])),
            Ok(Some(vec![128, 64]))
        );
        assert_eq!(
            broadcast_shapes(Some(&[128]), Some(&[128, 64])),
            Err(BroadcastError::Rank(1, 2))
        );
        assert!(check_tile_shape(&[1 << 11, 1 << 10]).is_err());
        assert!(check_tile_shape(&[3]).is_err());
    }
}
