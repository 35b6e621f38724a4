//! Parsing of `NAME=VALUE` command-line options: const definitions, shapes, scalar arguments.

use std::str::FromStr;
use tilec::ir::ConstValue;
use tilec::sema::types::{source_dtype, SOURCE_DTYPES};

/// Which kernel to run and on what: the options `tilec run` and `tilec bench` share.
#[derive(clap::Args, Clone, Debug)]
pub struct KernelInputs {
    /// Size of a shape symbol: --shape S=1000.
    #[arg(long = "shape", value_name = "SYM=N")]
    pub shapes: Vec<ShapeDef>,
    /// Value of a scalar parameter: --arg scale=0.125.
    #[arg(long = "arg", value_name = "NAME=VALUE")]
    pub scalars: Vec<ScalarDef>,
    /// Set a const parameter, overriding its default: -D BLOCK_M=128.
    #[arg(short = 'D', value_name = "NAME=VALUE")]
    pub define: Vec<ConstDef>,
    /// The kernel to run, when the file holds several.
    #[arg(long)]
    pub kernel: Option<String>,
    /// Seed of the random inputs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// `-D NAME=VALUE`: a const parameter's value (an integer, a float, true/false, or a dtype
/// name such as `bf16` for a dtype const).
#[derive(Clone, Debug)]
pub struct ConstDef {
    pub name: String,
    pub value: ConstValue,
}

impl FromStr for ConstDef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, value) = split_name_value(s)?;
        Ok(ConstDef {
            name,
            value: parse_const_def(value)?,
        })
    }
}

/// `--shape S=1024`: the runtime size of a shape symbol.
#[derive(Clone, Debug)]
pub struct ShapeDef {
    pub name: String,
    pub value: usize,
}

impl FromStr for ShapeDef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, value) = split_name_value(s)?;
        let value = value
            .parse::<usize>()
            .map_err(|_| format!("`{value}` is not a non-negative integer"))?;
        Ok(ShapeDef { name, value })
    }
}

/// `--arg scale=0.125`: the value of a scalar kernel parameter.
#[derive(Clone, Debug)]
pub struct ScalarDef {
    pub name: String,
    pub value: ConstValue,
}

impl FromStr for ScalarDef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, value) = split_name_value(s)?;
        Ok(ScalarDef {
            name,
            value: parse_const(value)?,
        })
    }
}

fn split_name_value(s: &str) -> Result<(String, &str), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, found `{s}`"))?;
    let name = name.trim();
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!("`{name}` is not a valid name"));
    }
    Ok((name.to_string(), value.trim()))
}

/// A `-D` value: a dtype name (for a dtype const) or a number or bool.
fn parse_const_def(value: &str) -> Result<ConstValue, String> {
    match source_dtype(value) {
        Some(d) => Ok(ConstValue::DType(d)),
        None => parse_const(value).map_err(|_| {
            format!(
                "`{value}` is not an integer, a float, `true`, `false` or a dtype ({})",
                SOURCE_DTYPES.join(", ")
            )
        }),
    }
}

/// A number or bool (scalar arguments and numeric consts).
fn parse_const(value: &str) -> Result<ConstValue, String> {
    match value {
        "true" => return Ok(ConstValue::Bool(true)),
        "false" => return Ok(ConstValue::Bool(false)),
        _ => {}
    }
    if let Ok(i) = value.replace('_', "").parse::<i64>() {
        return Ok(ConstValue::Int(i));
    }
    match value.parse::<f64>() {
        Ok(f) => Ok(ConstValue::Float(f)),
        Err(_) => Err(format!(
            "`{value}` is not an integer, a float, `true` or `false`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tilec::ir::DType;

    #[test]
    fn parses_definitions() {
        let d: ConstDef = "BLOCK_M=128".parse().unwrap();
        assert_eq!(
            (d.name.as_str(), d.value),
            ("BLOCK_M", ConstValue::Int(128))
        );
        let d: ConstDef = "CAUSAL=true".parse().unwrap();
        assert_eq!(d.value, ConstValue::Bool(true));
        let d: ScalarDef = "scale=0.125".parse().unwrap();
        assert_eq!(d.value, ConstValue::Float(0.125));
        assert!("=3".parse::<ConstDef>().is_err());
        assert!("X".parse::<ConstDef>().is_err());
        assert!("X=abc".parse::<ConstDef>().is_err());
        let d: ConstDef = "DTYPE=bf16".parse().unwrap();
        assert_eq!(d.value, ConstValue::DType(DType::BF16));
        let d: ConstDef = "DTYPE=bool".parse().unwrap();
        assert_eq!(d.value, ConstValue::DType(DType::I1));
        // `i1` is the IR's name, not the language's; scalar arguments are never dtypes.
        assert!("DTYPE=i1".parse::<ConstDef>().is_err());
        assert!("scale=f16".parse::<ScalarDef>().is_err());
        assert!("S=-1".parse::<ShapeDef>().is_err());
    }
}
