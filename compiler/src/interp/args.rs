//! Checks `interp::run`'s arguments against the kernel's parameters and binds them.
//!
//! Every mismatch is an [`InterpError::BadArguments`] naming the parameter: the argument count,
//! a tensor's dtype, rank, const dimensions, data length, the agreement of every use of a
//! shape symbol, and a scalar's kind (an `Int` for an integer parameter, that fits it; a
//! `Float` for a float parameter; a `Bool` for a bool parameter).

use super::math::{f64_to_float, wrap_int};
use super::value::{Elems, Tile};
use super::{ArgValue, InterpError};
use crate::ir::{DType, Dim, Kernel, TensorType, Type};

/// What a kernel parameter is bound to.
#[derive(Clone, Debug)]
pub enum Binding {
    /// The tensor argument at this index of `args`.
    Tensor(usize),
    Scalar(Tile),
}

/// The checked arguments.
pub struct Bound {
    /// One per kernel parameter, in order.
    pub params: Vec<Binding>,
    /// The value of each shape symbol, in `kernel.symbols` order.
    pub symbols: Vec<i64>,
}

fn bad<T>(message: String) -> Result<T, InterpError> {
    Err(InterpError::BadArguments(message))
}

pub fn bind(kernel: &Kernel, args: &[ArgValue]) -> Result<Bound, InterpError> {
    if args.len() != kernel.params.len() {
        return bad(format!(
            "kernel `{}` takes {} arguments, got {}",
            kernel.name,
            kernel.params.len(),
            args.len()
        ));
    }
    let mut symbols: Vec<Option<(i64, String)>> = vec![None; kernel.symbols.len()];
    let mut params = Vec::with_capacity(args.len());
    for (index, (param, arg)) in kernel.params.iter().zip(args).enumerate() {
        let name = &param.name;
        match (kernel.value_type(param.value), arg) {
            (Type::Tensor(ty), ArgValue::Tensor(t)) => {
                check_tensor(kernel, name, ty, t, &mut symbols)?;
                params.push(Binding::Tensor(index));
            }
            (Type::Scalar(dtype), arg) => match scalar(*dtype, arg) {
                Some(tile) => params.push(Binding::Scalar(tile)),
                None => {
                    return bad(format!(
                        "parameter `{name}`: expected {dtype} scalar, got {}",
                        describe_arg(arg)
                    ))
                }
            },
            (ty, arg) => {
                return bad(format!(
                    "parameter `{name}`: expected {}, got {}",
                    describe_type(ty),
                    describe_arg(arg)
                ))
            }
        }
    }
    let symbols = symbols
        .into_iter()
        .zip(&kernel.symbols)
        .map(|(value, name)| match value {
            Some((v, _)) => Ok(v),
            None => bad(format!(
                "shape symbol `{name}` is not the size of any tensor argument"
            )),
        })
        .collect::<Result<_, _>>()?;
    Ok(Bound { params, symbols })
}

fn check_tensor(
    kernel: &Kernel,
    name: &str,
    ty: &TensorType,
    t: &super::HostTensor,
    symbols: &mut [Option<(i64, String)>],
) -> Result<(), InterpError> {
    let dtype = t.data.dtype();
    if dtype != ty.dtype {
        return bad(format!(
            "parameter `{name}`: expected {} tensor, got {dtype} tensor",
            ty.dtype
        ));
    }
    if t.shape.len() != ty.dims.len() {
        return bad(format!(
            "parameter `{name}`: expected a rank-{} tensor, got shape {:?}",
            ty.dims.len(),
            t.shape
        ));
    }
    let elements = t.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if elements != Some(t.data_len()) {
        return bad(format!(
            "parameter `{name}`: the argument has shape {:?} but {} elements",
            t.shape,
            t.data_len()
        ));
    }
    for (d, (dim, &size)) in ty.dims.iter().zip(&t.shape).enumerate() {
        // Sizes are i32 in the kernel (`dim` and shape symbols are i32 scalars).
        if size > i32::MAX as usize {
            return bad(format!(
                "parameter `{name}`: dimension {d} ({size}) exceeds the i32 range"
            ));
        }
        match *dim {
            Dim::Const(c) if c as usize != size => {
                return bad(format!(
                    "parameter `{name}`: expected size {c} in dimension {d}, got shape {:?}",
                    t.shape
                ))
            }
            Dim::Const(_) => {}
            Dim::Sym(s) => {
                let Some(slot) = symbols.get_mut(s as usize) else {
                    return bad(format!("parameter `{name}` names unknown shape symbol {s}"));
                };
                let symbol = &kernel.symbols[s as usize];
                match slot {
                    Some((seen, by)) if *seen != size as i64 => {
                        return bad(format!(
                            "shape symbol `{symbol}` is {seen} in `{by}` but {size} in `{name}` \
                             (dimension {d})"
                        ))
                    }
                    Some(_) => {}
                    None => *slot = Some((size as i64, name.to_string())),
                }
            }
        }
    }
    Ok(())
}

/// A scalar argument as a scalar tile of `dtype`, or `None` if it does not suit the dtype.
fn scalar(dtype: DType, arg: &ArgValue) -> Option<Tile> {
    let elems = match (dtype, arg) {
        (DType::I1, ArgValue::Bool(b)) => Elems::Bool(vec![*b]),
        (DType::I32, ArgValue::Int(i)) => Elems::Int(vec![i32::try_from(*i).ok()? as i64]),
        (DType::I64, ArgValue::Int(i)) => Elems::Int(vec![wrap_int(dtype, *i)]),
        (DType::F16 | DType::BF16 | DType::F32, ArgValue::Float(f)) => {
            Elems::Float(vec![f64_to_float(dtype, *f)])
        }
        _ => return None,
    };
    Some(Tile::new(dtype, Vec::new(), elems))
}

fn describe_arg(arg: &ArgValue) -> String {
    match arg {
        ArgValue::Tensor(t) => format!("{} tensor of shape {:?}", t.data.dtype(), t.shape),
        ArgValue::Float(f) => format!("float {f:?}"),
        ArgValue::Int(i) => format!("integer {i}"),
        ArgValue::Bool(b) => format!("bool {b}"),
    }
}

fn describe_type(ty: &Type) -> String {
    match ty {
        Type::Scalar(d) => format!("{d} scalar"),
        Type::Tile(t) => format!("{} tile {:?}", t.dtype, t.shape),
        Type::Tensor(t) => format!("{} tensor of rank {}", t.dtype, t.dims.len()),
    }
}
