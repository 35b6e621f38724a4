//! `--reference`: compare a kernel's output with the float64 host reference of the example it
//! implements (`tilec::reference`), chosen by the kernel's name and matched to its parameters
//! by name. Only the kernels of dsl-examples/ have references.

use crate::inputs::to_f64;
use tilec::interp::ArgValue;
use tilec::ir::{ConstValue, Kernel};
use tilec::reference;

/// The reference result for `kernel`'s output tensor, computed from `args` (the inputs the
/// kernel was run on), with the output parameter's name.
pub struct Expected {
    pub output: String,
    pub values: Vec<f64>,
}

/// Looks a parameter up by name.
fn arg<'a>(kernel: &Kernel, args: &'a [ArgValue], name: &str) -> Result<&'a ArgValue, String> {
    kernel
        .params
        .iter()
        .position(|p| p.name == name)
        .map(|i| &args[i])
        .ok_or_else(|| format!("kernel `{}` has no parameter `{name}`", kernel.name))
}

fn tensor(
    kernel: &Kernel,
    args: &[ArgValue],
    name: &str,
) -> Result<(Vec<f64>, Vec<usize>), String> {
    match arg(kernel, args, name)? {
        ArgValue::Tensor(t) => Ok((to_f64(&t.data), t.shape.clone())),
        _ => Err(format!("parameter `{name}` is not a tensor")),
    }
}

fn scalar(kernel: &Kernel, args: &[ArgValue], name: &str) -> Result<f64, String> {
    match arg(kernel, args, name)? {
        ArgValue::Float(x) => Ok(*x),
        ArgValue::Int(i) => Ok(*i as f64),
        _ => Err(format!("parameter `{name}` is not a number")),
    }
}

pub fn expected(kernel: &Kernel, args: &[ArgValue]) -> Result<Expected, String> {
    let out = |output: &str, values| Expected {
        output: output.to_string(),
        values,
    };
    match kernel.name.as_str() {
        "vector_add" => {
            let (x, _) = tensor(kernel, args, "x")?;
            let (y, _) = tensor(kernel, args, "y")?;
            Ok(out("out", reference::vector_add(&x, &y)))
        }
        "softmax" => {
            let (x, shape) = tensor(kernel, args, "x")?;
            Ok(out("out", reference::softmax(&x, shape[0], shape[1])))
        }
        "matmul" => {
            let (a, sa) = tensor(kernel, args, "a")?;
            let (b, sb) = tensor(kernel, args, "b")?;
            Ok(out("c", reference::matmul(&a, &b, sa[0], sa[1], sb[1])))
        }
        "layernorm" => {
            let (x, shape) = tensor(kernel, args, "x")?;
            let (w, _) = tensor(kernel, args, "weight")?;
            let (b, _) = tensor(kernel, args, "bias")?;
            let eps = scalar(kernel, args, "eps")?;
            Ok(out("out", reference::layernorm(&x, &w, &b, shape[0], shape[1], eps)))
        }
        "attention" => {
            let (q, s) = tensor(kernel, args, "q")?;
            let (k, _) = tensor(kernel, args, "k")?;
            let (v, _) = tensor(kernel, args, "v")?;
            let scale = scalar(kernel, args, "scale")?;
            let causal = matches!(kernel.const_value("CAUSAL"), Some(ConstValue::Bool(true)));
            Ok(out(
                "out",
                reference::attention(&q, &k, &v, s[0], s[1], s[2], s[3], scale, causal),
            ))
        }
        other => Err(format!(
            "no host reference for kernel `{other}` (references exist for the dsl-examples kernels: vector_add, softmax, matmul, layernorm, attention)"
        )),
    }
}
