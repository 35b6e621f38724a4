//! Parsing of `NAME=VALUE` command-line options: const definitions, shapes, scalar arguments.

use std::str::FromStr;
use tilec::ir::ConstValue;

/// `-D NAME=VALUE`: a const parameter's value (an integer, a float, or true/false).
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
            value: parse_const(value)?,
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
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!("`{name}` is not a valid name"));
    }
    Ok((name.to_string(), value.trim()))
}

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

    #[test]
    fn parses_definitions() {
        let d: ConstDef = "BLOCK_M=128".parse().unwrap();
        assert_eq!((d.name.as_str(), d.value), ("BLOCK_M", ConstValue::Int(128)));
        let d: ConstDef = "CAUSAL=true".parse().unwrap();
        assert_eq!(d.value, ConstValue::Bool(true));
        let d: ScalarDef = "scale=0.125".parse().unwrap();
        assert_eq!(d.value, ConstValue::Float(0.125));
        assert!("=3".parse::<ConstDef>().is_err());
        assert!("X".parse::<ConstDef>().is_err());
        assert!("X=abc".parse::<ConstDef>().is_err());
        assert!("S=-1".parse::<ShapeDef>().is_err());
    }
}
