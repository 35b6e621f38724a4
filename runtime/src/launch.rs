//! Checking launch arguments against a kernel, packing them per the kernel ABI, launching.
//!
//! Checking and packing are pure functions of the [`LaunchSignature`], the [`KernelAbi`] and
//! plain descriptions of the arguments ([`ArgDesc`]), so every rule here is unit-tested
//! without a GPU. A mismatch is always a typed error ([`RuntimeError::BadArgument`],
//! [`RuntimeError::BadArguments`] or [`RuntimeError::BadLaunch`]) and never reaches the driver.
//!
//! The rules: the argument count; per tensor its dtype, rank, const dims, shape-symbol values
//! that agree across every tensor naming the symbol (and fit in i32, the symbols' type),
//! innermost stride 1, strides that fit the allocation, writable tensors whose elements do not
//! overlap each other or any other argument, and a base address aligned to 16 bytes (codegen
//! may use 16-byte vector accesses); per scalar its kind and range. The grid comes from the
//! signature's grid expressions; a grid with an empty axis launches nothing.
//!
//! Parameter packing follows `tilec::codegen::abi` exactly: a tensor of rank r becomes its
//! `.u64` address, r `.u32` sizes and r−1 `.u64` strides; scalars are `.f32`/`.u32`/`.u64`,
//! `.b16` raw bits for f16/bf16 and `.u8` for bool.

use crate::device::Stream;
use crate::error::{Result, RuntimeError};
use crate::signature::{abi_dtype_name, LaunchSignature, SigDim, SigParam};
use crate::tensor::DeviceTensor;
use cudarc::driver::{result, sys};
use half::{bf16, f16};
use tilec::codegen::abi::{AbiDType, KernelAbi};
use tilec::ir::DType;

/// Base addresses of tensors must be multiples of this many bytes.
pub const TENSOR_ALIGNMENT: u64 = 16;

/// Dynamic shared memory a kernel may use without raising its attribute.
pub const DEFAULT_SHARED_LIMIT: u32 = 48 * 1024;

/// One launch argument, in the order of the kernel's parameters.
#[derive(Clone, Copy, Debug)]
pub enum Arg<'a> {
    Tensor(&'a DeviceTensor),
    /// For f32, f16 and bf16 scalars (rounded to the parameter's dtype).
    Float(f64),
    /// For i32 and i64 scalars (and float scalars, converted).
    Int(i64),
    Bool(bool),
}

/// A tensor argument as the checker sees it: no device access needed.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorArg {
    pub dtype: DType,
    pub shape: Vec<usize>,
    /// In elements, one per dimension.
    pub strides: Vec<usize>,
    pub address: u64,
    pub allocation_bytes: usize,
}

/// A launch argument as the checker sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum ArgDesc {
    Tensor(TensorArg),
    Float(f64),
    Int(i64),
    Bool(bool),
}

impl Arg<'_> {
    pub(crate) fn describe(&self) -> ArgDesc {
        match *self {
            Arg::Tensor(t) => ArgDesc::Tensor(t.describe()),
            Arg::Float(x) => ArgDesc::Float(x),
            Arg::Int(x) => ArgDesc::Int(x),
            Arg::Bool(x) => ArgDesc::Bool(x),
        }
    }
}

/// The PTX parameter values of one launch, each in its own 8-byte slot (little-endian, so a
/// pointer to the slot is a valid pointer to a 1-, 2-, 4- or 8-byte value).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PackedParams {
    slots: Vec<u64>,
    /// Each slot's PTX type, for debugging and tests (`u64`, `u32`, `f32`, `b16`, `u8`).
    kinds: Vec<&'static str>,
}

impl PackedParams {
    fn push(&mut self, kind: &'static str, bits: u64) {
        self.slots.push(bits);
        self.kinds.push(kind);
    }
    /// `(ptx type, value bits)` per PTX parameter, in order.
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.kinds.iter().copied().zip(self.slots.iter().copied())
    }
    pub fn len(&self) -> usize {
        self.slots.len()
    }
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

/// Everything needed to launch: checked, evaluated and packed.
#[derive(Clone, Debug, PartialEq)]
pub struct LaunchPlan {
    pub grid: [u32; 3],
    pub block: [u32; 3],
    pub shared_bytes: u32,
    /// The value of each shape symbol, in signature order.
    pub symbol_values: Vec<i64>,
    pub params: PackedParams,
}

impl LaunchPlan {
    /// Whether the grid has an empty axis (a launch would do nothing).
    pub fn is_empty(&self) -> bool {
        self.grid.contains(&0)
    }
}

/// Checks `args` against the kernel and builds the launch. See the module doc for the rules.
pub fn plan_launch(sig: &LaunchSignature, abi: &KernelAbi, args: &[ArgDesc]) -> Result<LaunchPlan> {
    sig.check_abi(abi)?;
    if args.len() != sig.params.len() {
        return Err(RuntimeError::BadArguments(format!(
            "kernel `{}` takes {} arguments ({}), got {}",
            sig.kernel,
            sig.params.len(),
            sig.params
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(", "),
            args.len()
        )));
    }
    let mut symbols = SymbolBindings::new(sig);
    for (param, arg) in sig.params.iter().zip(args) {
        check_arg(param, arg, &mut symbols)?;
    }
    let symbol_values = symbols.values()?;
    check_aliasing(sig, args)?;
    let grid = evaluate_grid(sig, &symbol_values)?;
    let mut params = PackedParams::default();
    for (param, arg) in sig.params.iter().zip(args) {
        pack_arg(param, arg, &mut params);
    }
    Ok(LaunchPlan {
        grid,
        block: [32 * abi.num_warps, 1, 1],
        shared_bytes: abi.shared_bytes,
        symbol_values,
        params,
    })
}

/// Values of the shape symbols, each with the parameter that first bound it.
struct SymbolBindings<'s> {
    sig: &'s LaunchSignature,
    bound: Vec<Option<(i64, String)>>,
}

impl<'s> SymbolBindings<'s> {
    fn new(sig: &'s LaunchSignature) -> Self {
        SymbolBindings {
            sig,
            bound: vec![None; sig.symbols.len()],
        }
    }

    fn bind(&mut self, sym: u32, value: usize, param: &str, dim: usize) -> Result<()> {
        let name = self.sig.symbols.get(sym as usize).ok_or_else(|| {
            RuntimeError::AbiMismatch(format!(
                "parameter `{param}` names shape symbol #{sym}, which does not exist"
            ))
        })?;
        let value = i64::try_from(value)
            .ok()
            .filter(|&v| v <= i32::MAX as i64)
            .ok_or_else(|| {
                RuntimeError::bad_argument(
                    param,
                    format!("dim {dim} ({name}) is {value}, more than the largest shape symbol value {}", i32::MAX),
                )
            })?;
        match &self.bound[sym as usize] {
            None => self.bound[sym as usize] = Some((value, param.to_string())),
            Some((v, first)) if *v != value => {
                return Err(RuntimeError::bad_argument(
                    param,
                    format!("dim {dim} is {name} = {value}, but `{first}` has {name} = {v}"),
                ))
            }
            Some(_) => {}
        }
        Ok(())
    }

    fn values(&self) -> Result<Vec<i64>> {
        self.bound
            .iter()
            .zip(&self.sig.symbols)
            .map(|(b, name)| {
                b.as_ref().map(|(v, _)| *v).ok_or_else(|| {
                    RuntimeError::BadArguments(format!("no tensor argument gives the size {name}"))
                })
            })
            .collect()
    }
}

fn check_arg(param: &SigParam, arg: &ArgDesc, symbols: &mut SymbolBindings) -> Result<()> {
    match (param, arg) {
        (
            SigParam::Tensor {
                name, dtype, dims, ..
            },
            ArgDesc::Tensor(t),
        ) => {
            let want = DType::from(*dtype);
            if t.dtype != want {
                return Err(RuntimeError::bad_argument(
                    name,
                    format!("expected a {want} tensor, got {}", t.dtype),
                ));
            }
            if t.shape.len() != dims.len() {
                return Err(RuntimeError::bad_argument(
                    name,
                    format!(
                        "expected a tensor of rank {}, got shape {:?} (rank {})",
                        dims.len(),
                        t.shape,
                        t.shape.len()
                    ),
                ));
            }
            for (i, (dim, &size)) in dims.iter().zip(&t.shape).enumerate() {
                match dim {
                    SigDim::Const(c) if size != *c as usize => {
                        return Err(RuntimeError::bad_argument(
                            name,
                            format!("dim {i} must be {c} (a compile-time size), got {size}"),
                        ))
                    }
                    SigDim::Const(_) => {}
                    SigDim::Sym(s) => symbols.bind(*s, size, name, i)?,
                }
            }
            check_layout(name, t)
        }
        (SigParam::Tensor { name, dtype, .. }, other) => Err(RuntimeError::bad_argument(
            name,
            format!(
                "expected a {} tensor, got the scalar {other:?}",
                abi_dtype_name(*dtype)
            ),
        )),
        (SigParam::Scalar { name, dtype }, arg) => check_scalar(name, *dtype, arg),
    }
}

/// Strides, bounds and alignment of one tensor.
fn check_layout(name: &str, t: &TensorArg) -> Result<()> {
    let rank = t.shape.len();
    if t.strides.len() != rank {
        return Err(RuntimeError::bad_argument(
            name,
            format!("{} strides for a tensor of rank {rank}", t.strides.len()),
        ));
    }
    if rank > 0 && t.strides[rank - 1] != 1 {
        return Err(RuntimeError::bad_argument(
            name,
            format!(
                "the innermost stride must be 1, got {}",
                t.strides[rank - 1]
            ),
        ));
    }
    if t.address % TENSOR_ALIGNMENT != 0 || t.address == 0 {
        return Err(RuntimeError::bad_argument(
            name,
            format!(
                "base address {:#x} is not aligned to {TENSOR_ALIGNMENT} bytes",
                t.address
            ),
        ));
    }
    let elem = t.dtype.size_bytes() as u128;
    if let Some(span) = span_elements(t) {
        if span * elem > t.allocation_bytes as u128 {
            return Err(RuntimeError::bad_argument(
                name,
                format!(
                    "shape {:?} with strides {:?} reaches {} bytes past the base, but the allocation has {}",
                    t.shape,
                    t.strides,
                    span * elem,
                    t.allocation_bytes
                ),
            ));
        }
    }
    Ok(())
}

/// One past the largest element offset the tensor addresses, or `None` when it is empty.
fn span_elements(t: &TensorArg) -> Option<u128> {
    if t.shape.contains(&0) {
        return None;
    }
    Some(
        t.shape
            .iter()
            .zip(&t.strides)
            .map(|(&n, &s)| (n as u128 - 1) * s as u128)
            .sum::<u128>()
            + 1,
    )
}

/// Whether distinct index tuples of `t` always name distinct elements: sorting dimensions by
/// stride, each stride must step over everything the smaller ones can reach.
fn elements_are_distinct(t: &TensorArg) -> bool {
    if t.shape.contains(&0) {
        return true;
    }
    let mut dims: Vec<(usize, usize)> = t
        .shape
        .iter()
        .copied()
        .zip(t.strides.iter().copied())
        .filter(|&(n, _)| n > 1)
        .map(|(n, s)| (s, n))
        .collect();
    dims.sort_unstable();
    let mut reach: u128 = 1; // elements spanned by the dims seen so far
    for (stride, n) in dims {
        if (stride as u128) < reach {
            return false;
        }
        reach += stride as u128 * (n as u128 - 1);
    }
    true
}

fn check_scalar(name: &str, dtype: AbiDType, arg: &ArgDesc) -> Result<()> {
    let kind = abi_dtype_name(dtype);
    match (dtype, arg) {
        (AbiDType::F32 | AbiDType::F16 | AbiDType::BF16, ArgDesc::Float(_) | ArgDesc::Int(_)) => {
            Ok(())
        }
        (AbiDType::I32, ArgDesc::Int(v)) if i32::try_from(*v).is_err() => Err(
            RuntimeError::bad_argument(name, format!("{v} does not fit in an i32")),
        ),
        (AbiDType::I32 | AbiDType::I64, ArgDesc::Int(_)) => Ok(()),
        (AbiDType::I1, ArgDesc::Bool(_)) => Ok(()),
        (_, ArgDesc::Tensor(t)) => Err(RuntimeError::bad_argument(
            name,
            format!(
                "expected a {kind} scalar, got a {} tensor of shape {:?}",
                t.dtype, t.shape
            ),
        )),
        (_, other) => Err(RuntimeError::bad_argument(
            name,
            format!("expected a {kind} scalar, got {other:?}"),
        )),
    }
}

/// A writable tensor must not share bytes with any other tensor argument, nor address one
/// element twice: parallel programs would race on it.
fn check_aliasing(sig: &LaunchSignature, args: &[ArgDesc]) -> Result<()> {
    let tensors: Vec<(&str, bool, &TensorArg)> = sig
        .params
        .iter()
        .zip(args)
        .filter_map(|(p, a)| match (p, a) {
            (SigParam::Tensor { name, mutable, .. }, ArgDesc::Tensor(t)) => {
                Some((name.as_str(), *mutable, t))
            }
            _ => None,
        })
        .collect();
    let byte_range = |t: &TensorArg| {
        span_elements(t).map(|span| {
            (
                t.address as u128,
                t.address as u128 + span * t.dtype.size_bytes() as u128,
            )
        })
    };
    for (i, (name, mutable, t)) in tensors.iter().enumerate() {
        if !mutable {
            continue;
        }
        if !elements_are_distinct(t) {
            return Err(RuntimeError::bad_argument(
                name,
                format!(
                    "strides {:?} make some elements of this writable tensor overlap",
                    t.strides
                ),
            ));
        }
        let Some((a0, a1)) = byte_range(t) else {
            continue;
        };
        for (j, (other, _, u)) in tensors.iter().enumerate() {
            if i == j {
                continue;
            }
            if let Some((b0, b1)) = byte_range(u) {
                if a0 < b1 && b0 < a1 {
                    return Err(RuntimeError::BadArguments(format!(
                        "writable tensor `{name}` overlaps tensor `{other}` in device memory"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The grid from the signature's expressions, checked against CUDA's limits.
pub fn evaluate_grid(sig: &LaunchSignature, symbol_values: &[i64]) -> Result<[u32; 3]> {
    const LIMITS: [i64; 3] = [i32::MAX as i64, 65535, 65535];
    let mut grid = [1u32; 3];
    for (axis, expr) in sig.grid.iter().enumerate() {
        if axis >= 3 {
            return Err(RuntimeError::BadLaunch(format!(
                "the grid has {} axes, at most 3 are possible",
                sig.grid.len()
            )));
        }
        let v = expr.eval(symbol_values).ok_or_else(|| {
            RuntimeError::BadLaunch(format!(
                "grid axis {axis} overflows or divides by zero for sizes {symbol_values:?}"
            ))
        })?;
        if v < 0 || v > LIMITS[axis] {
            return Err(RuntimeError::BadLaunch(format!(
                "grid axis {axis} is {v}, outside CUDA's range 0..={}",
                LIMITS[axis]
            )));
        }
        grid[axis] = v as u32;
    }
    Ok(grid)
}

fn pack_arg(param: &SigParam, arg: &ArgDesc, out: &mut PackedParams) {
    match (param, arg) {
        (SigParam::Tensor { .. }, ArgDesc::Tensor(t)) => {
            out.push("u64", t.address);
            for &n in &t.shape {
                out.push("u32", n as u64);
            }
            for &s in &t.strides[..t.strides.len().saturating_sub(1)] {
                out.push("u64", s as u64);
            }
        }
        (SigParam::Scalar { dtype, .. }, arg) => {
            let as_f64 = match *arg {
                ArgDesc::Float(x) => x,
                ArgDesc::Int(i) => i as f64,
                ArgDesc::Bool(b) => b as i64 as f64,
                ArgDesc::Tensor(_) => unreachable!("checked before packing"),
            };
            let as_i64 = match *arg {
                ArgDesc::Int(i) => i,
                ArgDesc::Bool(b) => b as i64,
                _ => 0,
            };
            match dtype {
                AbiDType::F32 => out.push("f32", (as_f64 as f32).to_bits() as u64),
                AbiDType::F16 => out.push("b16", f16::from_f64(as_f64).to_bits() as u64),
                AbiDType::BF16 => out.push("b16", bf16::from_f64(as_f64).to_bits() as u64),
                AbiDType::I32 => out.push("u32", as_i64 as i32 as u32 as u64),
                AbiDType::I64 => out.push("u64", as_i64 as u64),
                AbiDType::I1 => out.push("u8", (as_i64 != 0) as u64),
            }
        }
        (SigParam::Tensor { .. }, _) => unreachable!("checked before packing"),
    }
}

/// The byte size of each PTX parameter that packing produces for `abi`, in order.
pub fn abi_param_sizes(abi: &KernelAbi) -> Vec<u32> {
    let mut sizes = Vec::new();
    for p in &abi.params {
        match p {
            tilec::codegen::abi::AbiParam::Tensor { rank, .. } => {
                sizes.push(8);
                sizes.extend(std::iter::repeat_n(4, *rank as usize));
                sizes.extend(std::iter::repeat_n(8, rank.saturating_sub(1) as usize));
            }
            tilec::codegen::abi::AbiParam::Scalar { dtype, .. } => sizes.push(match dtype {
                AbiDType::F32 | AbiDType::I32 => 4,
                AbiDType::I64 => 8,
                AbiDType::F16 | AbiDType::BF16 => 2,
                AbiDType::I1 => 1,
            }),
        }
    }
    sizes
}

/// Queues one launch of `function` per `plan` on `stream`. An empty grid queues nothing.
///
/// # Safety
/// `function` must be a live kernel handle whose PTX parameters are exactly `plan.params`,
/// and the plan must come from [`plan_launch`] with arguments that are still allocated.
pub(crate) unsafe fn launch_raw(
    function: sys::CUfunction,
    stream: &Stream,
    plan: &LaunchPlan,
) -> Result<()> {
    if plan.is_empty() {
        return Ok(());
    }
    let mut slots = plan.params.slots.clone();
    let mut pointers: Vec<*mut std::ffi::c_void> =
        slots.iter_mut().map(|s| s as *mut u64 as *mut _).collect();
    stream.device().bind()?;
    let [gx, gy, gz] = plan.grid;
    let [bx, by, bz] = plan.block;
    // SAFETY: per this function's contract; the driver copies the parameter values before
    // cuLaunchKernel returns, so `slots` may die afterwards.
    unsafe {
        result::launch_kernel(
            function,
            (gx, gy, gz),
            (bx, by, bz),
            plan.shared_bytes,
            stream.raw(),
            &mut pointers,
        )
    }
    .map_err(|e| RuntimeError::driver("cuLaunchKernel", e))
}

#[cfg(test)]
#[path = "launch_tests.rs"]
mod tests;
