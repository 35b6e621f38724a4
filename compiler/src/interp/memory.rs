//! Global memory as a program sees it: masked loads from, and stores to, host tensors.
//!
//! A `load`/`store` slice is turned into one flat offset per tile element ([`slice_offsets`]),
//! `None` where any index (a `Range` position or a scalar `Index`) lies outside `[0, size)`.
//! Loads give such elements the fill value; stores skip them.
//!
//! Where the stores go is the [`Memory`] implementation's business: [`Deferred`] buffers them
//! (programs running in parallel; applied in program order after the grid finishes) and
//! [`Direct`] writes them at once (programs running one after another; used when a kernel
//! loads from a tensor it also stores to, so a program sees its own earlier stores).

use super::value::{Elems, Tile};
use super::{ArgValue, HostTensor, InterpError, TensorData};

/// Where a program reads tensors from and sends its stores to.
pub trait Memory {
    /// The tensor passed as argument `arg`. The interpreter only binds tensor arguments to
    /// tensor values, so a non-tensor here is an internal error.
    fn tensor(&self, arg: usize) -> &HostTensor;
    /// Writes `values[i]` at flat offset `offsets[i]` of tensor argument `arg`.
    fn store(&mut self, arg: usize, offsets: Vec<usize>, values: Elems);
}

fn tensor_of(args: &[ArgValue], arg: usize) -> &HostTensor {
    match &args[arg] {
        ArgValue::Tensor(t) => t,
        _ => panic!("interpreter bound argument {arg} as a tensor but it is not one"),
    }
}

/// One program's buffered stores.
pub struct StoreRecord {
    pub arg: usize,
    pub offsets: Vec<usize>,
    pub values: Elems,
}

/// Reads the arguments as they were before the grid ran; buffers every store.
pub struct Deferred<'a> {
    pub args: &'a [ArgValue],
    pub stores: Vec<StoreRecord>,
}

impl Memory for Deferred<'_> {
    fn tensor(&self, arg: usize) -> &HostTensor {
        tensor_of(self.args, arg)
    }
    fn store(&mut self, arg: usize, offsets: Vec<usize>, values: Elems) {
        self.stores.push(StoreRecord {
            arg,
            offsets,
            values,
        });
    }
}

/// Reads and writes the arguments in place.
pub struct Direct<'a> {
    pub args: &'a mut [ArgValue],
}

impl Memory for Direct<'_> {
    fn tensor(&self, arg: usize) -> &HostTensor {
        tensor_of(self.args, arg)
    }
    fn store(&mut self, arg: usize, offsets: Vec<usize>, values: Elems) {
        apply_store(self.args, arg, &offsets, &values);
    }
}

/// Writes buffered or direct store data into a tensor argument. The values' storage class was
/// checked against the tensor's dtype by [`store`], so a mismatch here is an internal error.
pub fn apply_store(args: &mut [ArgValue], arg: usize, offsets: &[usize], values: &Elems) {
    let ArgValue::Tensor(tensor) = &mut args[arg] else {
        panic!("interpreter bound argument {arg} as a tensor but it is not one");
    };
    match (&mut tensor.data, values) {
        (TensorData::I1(d), Elems::Bool(v)) => scatter(d, offsets, v, |x| x),
        (TensorData::I32(d), Elems::Int(v)) => scatter(d, offsets, v, |x| x as i32),
        (TensorData::I64(d), Elems::Int(v)) => scatter(d, offsets, v, |x| x),
        (TensorData::F16(d), Elems::Float(v)) => scatter(d, offsets, v, half::f16::from_f32),
        (TensorData::BF16(d), Elems::Float(v)) => scatter(d, offsets, v, half::bf16::from_f32),
        (TensorData::F32(d), Elems::Float(v)) => scatter(d, offsets, v, |x| x),
        _ => panic!("store data does not match the tensor's dtype (checked before)"),
    }
}

fn scatter<T: Copy, U>(dst: &mut [U], offsets: &[usize], values: &[T], conv: impl Fn(T) -> U) {
    for (&o, &v) in offsets.iter().zip(values) {
        dst[o] = conv(v);
    }
}

/// One dimension of a slice, with its scalar operands already read.
pub enum SliceIndex {
    /// A single index; the dimension is dropped from the tile.
    At(i64),
    /// `len` indices from `start`; the dimension appears in the tile.
    Range { start: i64, len: u32 },
}

/// The flat offset of every element of the slice's tile, row-major; `None` where the element
/// lies outside the tensor. Also returns the tile's shape.
pub fn slice_offsets(
    shape: &[usize],
    slice: &[SliceIndex],
) -> Result<(Vec<Option<usize>>, Vec<u32>), InterpError> {
    if slice.len() != shape.len() {
        return Err(InterpError::Runtime(format!(
            "slice has {} dimensions but the tensor has {}",
            slice.len(),
            shape.len()
        )));
    }
    let in_bounds =
        |i: i64, size: usize| (i >= 0 && (i as u64) < size as u64).then_some(i as usize);
    // Row-major strides of the contiguous host tensor.
    let mut strides = vec![1usize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    // Start from the offset of the scalar indices, then expand one tile dimension at a time:
    // the cartesian product comes out in row-major order.
    let mut base = Some(0usize);
    for (d, s) in slice.iter().enumerate() {
        if let SliceIndex::At(i) = *s {
            base = base
                .zip(in_bounds(i, shape[d]))
                .map(|(b, i)| b + i * strides[d]);
        }
    }
    let mut offsets = vec![base];
    let mut tile_shape = Vec::new();
    for (d, s) in slice.iter().enumerate() {
        let SliceIndex::Range { start, len } = *s else {
            continue;
        };
        tile_shape.push(len);
        let along: Vec<Option<usize>> = (0..len as i64)
            .map(|k| in_bounds(start.saturating_add(k), shape[d]).map(|i| i * strides[d]))
            .collect();
        let mut next = Vec::with_capacity(offsets.len() * along.len());
        for o in offsets {
            next.extend(along.iter().map(|a| o.zip(*a).map(|(o, a)| o + a)));
        }
        offsets = next;
    }
    Ok((offsets, tile_shape))
}

/// `load`: reads the tensor at `offsets`, `fill` where an offset is `None`. `fill` must be of
/// the tensor's storage class (the caller converts the IR constant to the dtype).
pub fn load(
    tensor: &HostTensor,
    offsets: &[Option<usize>],
    shape: Vec<u32>,
    fill: super::math::Elem,
) -> Result<Tile, InterpError> {
    use super::math::Elem;
    let dtype = tensor.data.dtype();
    let elems = match (&tensor.data, fill) {
        (TensorData::I1(d), Elem::Bool(f)) => Elems::Bool(gather(d, offsets, f, |x| x)),
        (TensorData::I32(d), Elem::Int(f)) => Elems::Int(gather(d, offsets, f, |x| x as i64)),
        (TensorData::I64(d), Elem::Int(f)) => Elems::Int(gather(d, offsets, f, |x| x)),
        (TensorData::F16(d), Elem::Float(f)) => Elems::Float(gather(d, offsets, f, |x| x.to_f32())),
        (TensorData::BF16(d), Elem::Float(f)) => {
            Elems::Float(gather(d, offsets, f, |x| x.to_f32()))
        }
        (TensorData::F32(d), Elem::Float(f)) => Elems::Float(gather(d, offsets, f, |x| x)),
        _ => {
            return Err(InterpError::Runtime(format!(
                "load fill value {fill:?} does not suit a {dtype} tensor"
            )))
        }
    };
    Ok(Tile::new(dtype, shape, elems))
}

fn gather<T: Copy, U: Copy>(
    src: &[T],
    offsets: &[Option<usize>],
    fill: U,
    conv: impl Fn(T) -> U,
) -> Vec<U> {
    offsets
        .iter()
        .map(|o| match o {
            Some(i) => conv(src[*i]),
            None => fill,
        })
        .collect()
}

/// `store`: checks the value against the slice and the tensor, then hands the in-bounds
/// elements to `memory`.
pub fn store(
    memory: &mut dyn Memory,
    arg: usize,
    offsets: &[Option<usize>],
    shape: &[u32],
    value: &Tile,
) -> Result<(), InterpError> {
    let dtype = memory.tensor(arg).data.dtype();
    if value.dtype != dtype {
        return Err(InterpError::Runtime(format!(
            "store of {} into a {dtype} tensor",
            value.describe()
        )));
    }
    // A scalar value is stored to every element of the slice.
    let value_count = value.len();
    if value_count != offsets.len() && !(value.shape.is_empty() && value_count == 1) {
        return Err(InterpError::Runtime(format!(
            "store of {} into a slice of shape {shape:?}",
            value.describe()
        )));
    }
    let (kept, positions): (Vec<usize>, Vec<usize>) = offsets
        .iter()
        .enumerate()
        .filter_map(|(i, o)| o.map(|o| (o, if value_count == 1 { 0 } else { i })))
        .unzip();
    memory.store(arg, kept, value.elems.gather(&positions));
    Ok(())
}
