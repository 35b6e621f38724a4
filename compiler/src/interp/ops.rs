//! The data instructions as pure functions on tiles: element-wise arithmetic, comparisons,
//! casts, shape changes, reductions and `dot`. Control flow and memory live in `exec.rs`
//! and `memory.rs`.
//!
//! Operands of element-wise functions must have identical shapes and dtypes (lowering makes
//! them so); a mismatch is reported as [`InterpError::Runtime`], never a panic, since the
//! interpreter may be handed IR that was not verified.
//!
//! Choices the language leaves to the reference (docs/language.md):
//! * `dot`: the products of f16/bf16 inputs are exact in f64; they are summed in f64 starting
//!   from `acc`, and the sum is rounded once to f32. The GPU accumulates in f32, so it may
//!   differ from this by the f32 rounding of partial sums.
//! * `reduce_sum` of floats accumulates in f32 in index order; for f16/bf16 the f32 sum is
//!   rounded once to the dtype at the end. Integer sums wrap.
//! * `min`/`max` (element-wise and reductions) return NaN if any operand is NaN.

use super::math::{self, max_f, min_f, round_floats, wrap_int};
use super::value::{Elems, Tile};
use super::InterpError;
use crate::ir::{BinaryOp, CmpOp, DType, ReduceOp, UnaryOp};

fn err<T>(message: String) -> Result<T, InterpError> {
    Err(InterpError::Runtime(message))
}

fn same_type(what: &str, a: &Tile, b: &Tile) -> Result<(), InterpError> {
    if a.dtype != b.dtype || a.shape != b.shape {
        return err(format!(
            "{what} operands differ: {} and {}",
            a.describe(),
            b.describe()
        ));
    }
    Ok(())
}

pub fn unary(op: UnaryOp, t: &Tile) -> Result<Tile, InterpError> {
    let elems = match &t.elems {
        Elems::Float(x) => {
            let f: fn(f32) -> f32 = match op {
                UnaryOp::Neg => |x| -x,
                UnaryOp::Abs => f32::abs,
                UnaryOp::Exp => f32::exp,
                UnaryOp::Exp2 => f32::exp2,
                UnaryOp::Log => f32::ln,
                UnaryOp::Log2 => f32::log2,
                UnaryOp::Sqrt => f32::sqrt,
                UnaryOp::Rsqrt => |x| 1.0 / x.sqrt(),
                UnaryOp::Not => return err(format!("not of {}", t.describe())),
            };
            let mut out: Vec<f32> = x.iter().map(|&v| f(v)).collect();
            round_floats(t.dtype, &mut out);
            Elems::Float(out)
        }
        Elems::Int(x) => {
            let f: fn(i64) -> i64 = match op {
                UnaryOp::Neg => i64::wrapping_neg,
                UnaryOp::Abs => i64::wrapping_abs,
                _ => return err(format!("{op} of {}", t.describe())),
            };
            Elems::Int(x.iter().map(|&v| wrap_int(t.dtype, f(v))).collect())
        }
        Elems::Bool(x) => match op {
            UnaryOp::Not => Elems::Bool(x.iter().map(|&v| !v).collect()),
            _ => return err(format!("{op} of {}", t.describe())),
        },
    };
    Ok(Tile::new(t.dtype, t.shape.clone(), elems))
}

pub fn binary(op: BinaryOp, a: &Tile, b: &Tile) -> Result<Tile, InterpError> {
    same_type(op.name(), a, b)?;
    let unsupported = || err(format!("{op} of {}", a.describe()));
    let elems = match (&a.elems, &b.elems) {
        (Elems::Float(x), Elems::Float(y)) => {
            let f: fn(f32, f32) -> f32 = match op {
                BinaryOp::Add => |a, b| a + b,
                BinaryOp::Sub => |a, b| a - b,
                BinaryOp::Mul => |a, b| a * b,
                BinaryOp::Div => |a, b| a / b,
                // fmod: the sign of the dividend, as for integers.
                BinaryOp::Rem => |a, b| a % b,
                BinaryOp::Min => min_f,
                BinaryOp::Max => max_f,
                BinaryOp::And | BinaryOp::Or => return unsupported(),
            };
            let mut out: Vec<f32> = x.iter().zip(y).map(|(&a, &b)| f(a, b)).collect();
            round_floats(a.dtype, &mut out);
            Elems::Float(out)
        }
        (Elems::Int(x), Elems::Int(y)) => {
            if matches!(op, BinaryOp::Div | BinaryOp::Rem) && y.contains(&0) {
                return err(format!("integer division by zero ({op})"));
            }
            // i64 wrapping arithmetic then wrapping to i32 equals i32 wrapping arithmetic
            // (for `div`, i32::MIN / -1 becomes 2^31, which wraps back to i32::MIN).
            let f: fn(i64, i64) -> i64 = match op {
                BinaryOp::Add => i64::wrapping_add,
                BinaryOp::Sub => i64::wrapping_sub,
                BinaryOp::Mul => i64::wrapping_mul,
                BinaryOp::Div => i64::wrapping_div,
                BinaryOp::Rem => i64::wrapping_rem,
                BinaryOp::Min => i64::min,
                BinaryOp::Max => i64::max,
                BinaryOp::And | BinaryOp::Or => return unsupported(),
            };
            let dtype = a.dtype;
            Elems::Int(
                x.iter()
                    .zip(y)
                    .map(|(&p, &q)| wrap_int(dtype, f(p, q)))
                    .collect(),
            )
        }
        (Elems::Bool(x), Elems::Bool(y)) => {
            let f: fn(bool, bool) -> bool = match op {
                BinaryOp::And | BinaryOp::Min => |a, b| a && b,
                BinaryOp::Or | BinaryOp::Max => |a, b| a || b,
                _ => return unsupported(),
            };
            Elems::Bool(x.iter().zip(y).map(|(&a, &b)| f(a, b)).collect())
        }
        _ => return unsupported(),
    };
    Ok(Tile::new(a.dtype, a.shape.clone(), elems))
}

/// Comparison; the result has the operands' shape with dtype `i1`. Float comparisons follow
/// IEEE (any comparison with NaN is false, except `cmp_ne`); `false < true` for booleans.
pub fn compare(op: CmpOp, a: &Tile, b: &Tile) -> Result<Tile, InterpError> {
    same_type(op.name(), a, b)?;
    fn apply<T: PartialOrd + Copy>(op: CmpOp, x: &[T], y: &[T]) -> Vec<bool> {
        let f: fn(&T, &T) -> bool = match op {
            CmpOp::Eq => T::eq,
            CmpOp::Ne => T::ne,
            CmpOp::Lt => T::lt,
            CmpOp::Le => T::le,
            CmpOp::Gt => T::gt,
            CmpOp::Ge => T::ge,
        };
        x.iter().zip(y).map(|(a, b)| f(a, b)).collect()
    }
    let out = match (&a.elems, &b.elems) {
        (Elems::Float(x), Elems::Float(y)) => apply(op, x, y),
        (Elems::Int(x), Elems::Int(y)) => apply(op, x, y),
        (Elems::Bool(x), Elems::Bool(y)) => apply(op, x, y),
        _ => unreachable!("same_type checked the dtypes"),
    };
    Ok(Tile::new(DType::I1, a.shape.clone(), Elems::Bool(out)))
}

/// `cond ? a : b`, element-wise.
pub fn select(cond: &Tile, a: &Tile, b: &Tile) -> Result<Tile, InterpError> {
    same_type("select", a, b)?;
    let Elems::Bool(c) = &cond.elems else {
        return err(format!("select condition is {}", cond.describe()));
    };
    if cond.shape != a.shape {
        return err(format!(
            "select condition {} does not match {}",
            cond.describe(),
            a.describe()
        ));
    }
    fn pick<T: Copy>(c: &[bool], x: &[T], y: &[T]) -> Vec<T> {
        c.iter()
            .zip(x.iter().zip(y))
            .map(|(&c, (&x, &y))| if c { x } else { y })
            .collect()
    }
    let elems = match (&a.elems, &b.elems) {
        (Elems::Float(x), Elems::Float(y)) => Elems::Float(pick(c, x, y)),
        (Elems::Int(x), Elems::Int(y)) => Elems::Int(pick(c, x, y)),
        (Elems::Bool(x), Elems::Bool(y)) => Elems::Bool(pick(c, x, y)),
        _ => unreachable!("same_type checked the dtypes"),
    };
    Ok(Tile::new(a.dtype, a.shape.clone(), elems))
}

/// Conversion to `to` by the cast rules of [`math`].
pub fn cast(t: &Tile, to: DType) -> Tile {
    let elems = match &t.elems {
        Elems::Float(x) => match to {
            DType::I1 => Elems::Bool(x.iter().map(|&v| v != 0.0).collect()),
            DType::I32 | DType::I64 => {
                Elems::Int(x.iter().map(|&v| math::float_to_int(to, v)).collect())
            }
            _ => Elems::Float(x.iter().map(|&v| math::float_to_float(to, v)).collect()),
        },
        Elems::Int(x) => match to {
            DType::I1 => Elems::Bool(x.iter().map(|&v| v != 0).collect()),
            DType::I32 | DType::I64 => Elems::Int(x.iter().map(|&v| wrap_int(to, v)).collect()),
            _ => Elems::Float(x.iter().map(|&v| math::int_to_float(to, v)).collect()),
        },
        Elems::Bool(x) => match to {
            DType::I1 => Elems::Bool(x.clone()),
            DType::I32 | DType::I64 => Elems::Int(x.iter().map(|&v| v as i64).collect()),
            _ => Elems::Float(x.iter().map(|&v| v as u8 as f32).collect()),
        },
    };
    Tile::new(to, t.shape.clone(), elems)
}

/// The row-major strides of a contiguous tile of `shape`.
pub fn row_major_strides(shape: &[u32]) -> Vec<usize> {
    let mut strides = vec![1usize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1] as usize;
    }
    strides
}

/// For every element of a tile of `shape` (row-major), `sum(index[d] * strides[d])`: the
/// position to read in a source tile. Stride 0 repeats a source element along a dimension.
pub fn strided_index(shape: &[u32], strides: &[usize]) -> Vec<usize> {
    // Expand one dimension at a time; the cartesian product comes out row-major.
    let mut index = vec![0usize];
    for (&extent, &stride) in shape.iter().zip(strides) {
        let mut next = Vec::with_capacity(index.len() * extent as usize);
        for base in index {
            next.extend((0..extent as usize).map(|i| base + i * stride));
        }
        index = next;
    }
    index
}

/// Stretches the size-1 dimensions of `t` to `shape` (same rank).
pub fn broadcast(t: &Tile, shape: &[u32]) -> Result<Tile, InterpError> {
    let fits =
        t.shape.len() == shape.len() && t.shape.iter().zip(shape).all(|(&s, &o)| s == o || s == 1);
    if !fits {
        return err(format!("cannot broadcast {} to {shape:?}", t.describe()));
    }
    let source_strides = row_major_strides(&t.shape);
    let strides: Vec<usize> = (0..shape.len())
        .map(|d| {
            if t.shape[d] == shape[d] {
                source_strides[d]
            } else {
                0
            }
        })
        .collect();
    let elems = t.elems.gather(&strided_index(shape, &strides));
    Ok(Tile::new(t.dtype, shape.to_vec(), elems))
}

/// A scalar copied into every element of a tile of `shape`.
pub fn splat(t: &Tile, shape: &[u32]) -> Result<Tile, InterpError> {
    if !t.shape.is_empty() {
        return err(format!("splat of non-scalar {}", t.describe()));
    }
    let count = shape.iter().map(|&d| d as usize).product();
    Ok(Tile::new(t.dtype, shape.to_vec(), t.elems.repeat(0, count)))
}

pub fn expand_dims(t: &Tile, axis: u8) -> Result<Tile, InterpError> {
    let axis = axis as usize;
    if axis > t.shape.len() {
        return err(format!("expand_dims axis {axis} of {}", t.describe()));
    }
    let mut shape = t.shape.clone();
    shape.insert(axis, 1);
    Ok(Tile::new(t.dtype, shape, t.elems.clone()))
}

pub fn transpose(t: &Tile) -> Result<Tile, InterpError> {
    let &[rows, cols] = t.shape.as_slice() else {
        return err(format!("transpose of {}", t.describe()));
    };
    // Element (j, i) of the result is element (i, j) of the source, at i * cols + j.
    let elems = t
        .elems
        .gather(&strided_index(&[cols, rows], &[1, cols as usize]));
    Ok(Tile::new(t.dtype, vec![cols, rows], elems))
}

/// An integer tile of `shape` whose element is its index along `axis`.
pub fn iota(dtype: DType, shape: &[u32], axis: u8) -> Result<Tile, InterpError> {
    let axis = axis as usize;
    if axis >= shape.len() || !dtype.is_int() {
        return err(format!(
            "iota axis {axis} of a {dtype} tile of shape {shape:?}"
        ));
    }
    let strides: Vec<usize> = (0..shape.len()).map(|d| (d == axis) as usize).collect();
    let values = strided_index(shape, &strides)
        .into_iter()
        .map(|i| wrap_int(dtype, i as i64))
        .collect();
    Ok(Tile::new(dtype, shape.to_vec(), Elems::Int(values)))
}

/// Reduces `axis` away (see the module doc for the accumulation rules).
pub fn reduce(op: ReduceOp, t: &Tile, axis: u8) -> Result<Tile, InterpError> {
    let axis = axis as usize;
    if axis >= t.shape.len() {
        return err(format!("{op} axis {axis} of {}", t.describe()));
    }
    // View the tile as [outer, n, inner] with the reduced axis in the middle.
    let outer: usize = t.shape[..axis].iter().map(|&d| d as usize).product();
    let n = t.shape[axis] as usize;
    let inner: usize = t.shape[axis + 1..].iter().map(|&d| d as usize).product();
    fn fold<T: Copy>(
        x: &[T],
        outer: usize,
        n: usize,
        inner: usize,
        init: T,
        f: impl Fn(T, T) -> T,
    ) -> Vec<T> {
        let mut out = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            let mut row = vec![init; inner];
            for k in 0..n {
                let src = &x[(o * n + k) * inner..][..inner];
                for (r, &v) in row.iter_mut().zip(src) {
                    *r = f(*r, v);
                }
            }
            out.extend_from_slice(&row);
        }
        out
    }
    let dtype = t.dtype;
    let elems = match &t.elems {
        Elems::Float(x) => {
            let mut out = match op {
                ReduceOp::Sum => fold(x, outer, n, inner, 0.0, |a, b| a + b),
                ReduceOp::Max => fold(x, outer, n, inner, f32::NEG_INFINITY, max_f),
                ReduceOp::Min => fold(x, outer, n, inner, f32::INFINITY, min_f),
            };
            round_floats(dtype, &mut out);
            Elems::Float(out)
        }
        Elems::Int(x) => Elems::Int(match op {
            ReduceOp::Sum => fold(x, outer, n, inner, 0, |a, b| {
                wrap_int(dtype, a.wrapping_add(b))
            }),
            ReduceOp::Max => fold(x, outer, n, inner, i64::MIN, i64::max),
            ReduceOp::Min => fold(x, outer, n, inner, i64::MAX, i64::min),
        }),
        Elems::Bool(_) => return err(format!("{op} of {}", t.describe())),
    };
    let mut shape = t.shape.clone();
    shape.remove(axis);
    Ok(Tile::new(dtype, shape, elems))
}

/// `a @ b + acc`: a `[M, K]` and b `[K, N]` of one float dtype, acc `[M, N]` f32.
pub fn dot(a: &Tile, b: &Tile, acc: &Tile) -> Result<Tile, InterpError> {
    let shapes_fit = match (a.shape.as_slice(), b.shape.as_slice(), acc.shape.as_slice()) {
        (&[m, k], &[k2, n], &[m2, n2]) => k == k2 && m == m2 && n == n2,
        _ => false,
    };
    let (Elems::Float(x), Elems::Float(y), Elems::Float(c)) = (&a.elems, &b.elems, &acc.elems)
    else {
        return err(format!(
            "dot of {}, {} and {}",
            a.describe(),
            b.describe(),
            acc.describe()
        ));
    };
    if !shapes_fit || a.dtype != b.dtype || acc.dtype != DType::F32 {
        return err(format!(
            "dot of {}, {} and {}",
            a.describe(),
            b.describe(),
            acc.describe()
        ));
    }
    let (m, k, n) = (
        a.shape[0] as usize,
        a.shape[1] as usize,
        b.shape[1] as usize,
    );
    // Widen b once rather than once per row of a.
    let y: Vec<f64> = y.iter().map(|&v| v as f64).collect();
    let mut out = Vec::with_capacity(m * n);
    let mut row = vec![0f64; n];
    for i in 0..m {
        for (r, &c) in row.iter_mut().zip(&c[i * n..][..n]) {
            *r = c as f64;
        }
        // i-k-j order: the inner loop walks one row of b and of the result contiguously.
        for kk in 0..k {
            let a_ik = x[i * k + kk] as f64;
            for (r, &b_kj) in row.iter_mut().zip(&y[kk * n..][..n]) {
                *r += a_ik * b_kj;
            }
        }
        out.extend(row.iter().map(|&r| r as f32));
    }
    Ok(Tile::new(
        DType::F32,
        vec![m as u32, n as u32],
        Elems::Float(out),
    ))
}
