//! Typed device tensors and their transfers to and from the interpreter's [`HostTensor`].
//!
//! A [`DeviceTensor`] owns one device allocation and describes it as a dtype, a shape and
//! strides in elements (row-major and contiguous when created here; the innermost stride is
//! always 1, as the kernel ABI requires). Allocations come from `cuMemAlloc`, which aligns
//! them to at least 256 bytes, so base pointers satisfy the 16-byte alignment that vectorized
//! loads need. Booleans are stored one byte each, as in the kernel ABI.
//!
//! Copies are queued on a [`Stream`] and waited for, so the host data is safe to reuse when a
//! call returns.

use crate::device::{Device, Stream};
use crate::error::{Result, RuntimeError};
use cudarc::driver::{result, sys};
use half::{bf16, f16};
use tilec::interp::{HostTensor, TensorData};
use tilec::ir::DType;

/// A tensor in device memory.
pub struct DeviceTensor {
    device: Device,
    ptr: sys::CUdeviceptr,
    /// Bytes allocated (at least one element's worth, so empty tensors get a valid pointer).
    bytes: usize,
    dtype: DType,
    shape: Vec<usize>,
    strides: Vec<usize>,
}

impl std::fmt::Debug for DeviceTensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceTensor")
            .field("dtype", &self.dtype)
            .field("shape", &self.shape)
            .field("strides", &self.strides)
            .field("ptr", &format_args!("{:#x}", self.ptr))
            .finish()
    }
}

impl Drop for DeviceTensor {
    fn drop(&mut self) {
        // A failed free cannot be reported from `drop`; the driver keeps its error state.
        if self.device.bind().is_ok() {
            // SAFETY: `ptr` came from cuMemAlloc on this context and is freed exactly once.
            let _ = unsafe { result::free_sync(self.ptr) };
        }
    }
}

/// Row-major strides, in elements, of a contiguous tensor of `shape`.
pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1].saturating_mul(shape[i + 1]);
    }
    strides
}

impl DeviceTensor {
    /// Allocates an uninitialized contiguous tensor.
    pub fn uninit(device: &Device, dtype: DType, shape: &[usize]) -> Result<DeviceTensor> {
        let elems = checked_elems(shape)?;
        let elem_bytes = dtype.size_bytes() as usize;
        let bytes = elems
            .checked_mul(elem_bytes)
            .ok_or_else(|| {
                RuntimeError::Transfer(format!("tensor of shape {shape:?} is too large"))
            })?
            .max(elem_bytes);
        device.bind()?;
        // SAFETY: a plain allocation on the current context; freed in Drop.
        let ptr = unsafe { result::malloc_sync(bytes) }.map_err(|e| match e.0 {
            sys::CUresult::CUDA_ERROR_OUT_OF_MEMORY => RuntimeError::OutOfMemory { bytes },
            _ => RuntimeError::driver("cuMemAlloc", e),
        })?;
        Ok(DeviceTensor {
            device: device.clone(),
            ptr,
            bytes,
            dtype,
            shape: shape.to_vec(),
            strides: contiguous_strides(shape),
        })
    }

    /// Allocates a zero-filled tensor.
    pub fn zeros(stream: &Stream, dtype: DType, shape: &[usize]) -> Result<DeviceTensor> {
        let t = DeviceTensor::uninit(&stream.device(), dtype, shape)?;
        t.memset_bytes(stream, 0)?;
        Ok(t)
    }

    /// Copies a host tensor to a new device tensor.
    pub fn from_host(stream: &Stream, host: &HostTensor) -> Result<DeviceTensor> {
        let bytes = host_bytes(host)?;
        let t = DeviceTensor::uninit(&stream.device(), host.data.dtype(), &host.shape)?;
        if !bytes.is_empty() {
            t.device.bind()?;
            // SAFETY: the allocation holds at least `bytes.len()` bytes; we wait below, so
            // `bytes` outlives the copy.
            unsafe { result::memcpy_htod_async(t.ptr, &bytes, stream.raw()) }
                .map_err(|e| RuntimeError::driver("cuMemcpyHtoDAsync", e))?;
            stream.synchronize()?;
        }
        Ok(t)
    }

    /// Copies the tensor back into a new host tensor. The tensor must be contiguous.
    pub fn to_host(&self, stream: &Stream) -> Result<HostTensor> {
        if !self.is_contiguous() {
            return Err(RuntimeError::Transfer(
                "only contiguous tensors can be downloaded".into(),
            ));
        }
        let mut bytes = vec![0u8; self.num_elements() * self.dtype.size_bytes() as usize];
        if !bytes.is_empty() {
            self.device.bind()?;
            // Earlier work on the stream (the launch that wrote us) finishes before the copy.
            // SAFETY: the allocation holds at least `bytes.len()` bytes; we wait below.
            unsafe { result::memcpy_dtoh_async(&mut bytes, self.ptr, stream.raw()) }
                .map_err(|e| RuntimeError::driver("cuMemcpyDtoHAsync", e))?;
            stream.synchronize()?;
        }
        host_from_bytes(self.dtype, &self.shape, &bytes)
    }

    /// Overwrites every element with a value no correct kernel writes by accident: a quiet NaN
    /// for floats, the byte pattern `0x7f7f...` for integers and booleans. Filling outputs
    /// with this before a launch exposes elements the kernel forgot to store.
    pub fn fill_poison(&self, stream: &Stream) -> Result<()> {
        let n = self.bytes / self.dtype.size_bytes() as usize;
        self.device.bind()?;
        // SAFETY: writes exactly the allocation, queued on `stream`.
        let r = unsafe {
            match self.dtype {
                DType::F32 => sys::cuMemsetD32Async(self.ptr, 0x7fc0_0000, n, stream.raw()),
                DType::F16 => sys::cuMemsetD16Async(self.ptr, 0x7e00, n, stream.raw()),
                DType::BF16 => sys::cuMemsetD16Async(self.ptr, 0x7fc0, n, stream.raw()),
                DType::I1 | DType::I32 | DType::I64 => {
                    sys::cuMemsetD8Async(self.ptr, 0x7f, self.bytes, stream.raw())
                }
            }
        };
        r.result()
            .map_err(|e| RuntimeError::driver("cuMemsetAsync", e))
    }

    fn memset_bytes(&self, stream: &Stream, byte: u8) -> Result<()> {
        self.device.bind()?;
        // SAFETY: writes exactly the allocation, queued on `stream`.
        unsafe { result::memset_d8_async(self.ptr, byte, self.bytes, stream.raw()) }
            .map_err(|e| RuntimeError::driver("cuMemsetD8Async", e))
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// Strides in elements, one per dimension; the innermost is 1.
    pub fn strides(&self) -> &[usize] {
        &self.strides
    }
    pub fn num_elements(&self) -> usize {
        self.shape.iter().product()
    }
    /// Size of the allocation in bytes.
    pub fn allocation_bytes(&self) -> usize {
        self.bytes
    }
    /// The device address of element 0.
    pub fn device_ptr(&self) -> u64 {
        self.ptr
    }
    pub fn device(&self) -> &Device {
        &self.device
    }

    fn is_contiguous(&self) -> bool {
        self.strides == contiguous_strides(&self.shape)
    }

    /// The launch checker's view of this tensor.
    pub(crate) fn describe(&self) -> crate::launch::TensorArg {
        crate::launch::TensorArg {
            dtype: self.dtype,
            shape: self.shape.clone(),
            strides: self.strides.clone(),
            address: self.ptr,
            allocation_bytes: self.bytes,
        }
    }
}

fn checked_elems(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| RuntimeError::Transfer(format!("tensor of shape {shape:?} is too large")))
}

/// The little-endian bytes of a host tensor, as the device stores them.
pub fn host_bytes(host: &HostTensor) -> Result<Vec<u8>> {
    let elems = checked_elems(&host.shape)?;
    let data_len = match &host.data {
        TensorData::I1(v) => v.len(),
        TensorData::I32(v) => v.len(),
        TensorData::I64(v) => v.len(),
        TensorData::F16(v) => v.len(),
        TensorData::BF16(v) => v.len(),
        TensorData::F32(v) => v.len(),
    };
    if data_len != elems {
        return Err(RuntimeError::Transfer(format!(
            "host tensor of shape {:?} holds {data_len} elements, expected {elems}",
            host.shape
        )));
    }
    Ok(match &host.data {
        TensorData::I1(v) => v.iter().map(|&b| b as u8).collect(),
        TensorData::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        TensorData::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        TensorData::F16(v) => v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect(),
        TensorData::BF16(v) => v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect(),
        TensorData::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    })
}

/// The host tensor whose device bytes are `bytes`. A boolean byte other than 0 reads as
/// `true`, so a poisoned boolean output (0x7f) shows up as `true`, not as an error.
pub fn host_from_bytes(dtype: DType, shape: &[usize], bytes: &[u8]) -> Result<HostTensor> {
    let elems = checked_elems(shape)?;
    let size = dtype.size_bytes() as usize;
    if bytes.len() != elems * size {
        return Err(RuntimeError::Transfer(format!(
            "{} bytes do not hold {elems} elements of {dtype}",
            bytes.len()
        )));
    }
    let chunks = bytes.chunks_exact(size);
    let data = match dtype {
        DType::I1 => TensorData::I1(bytes.iter().map(|&b| b != 0).collect()),
        DType::I32 => TensorData::I32(
            chunks
                .map(|c| i32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect(),
        ),
        DType::I64 => TensorData::I64(
            chunks
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
        ),
        DType::F16 => TensorData::F16(
            chunks
                .map(|c| f16::from_bits(u16::from_le_bytes(c.try_into().expect("2 bytes"))))
                .collect(),
        ),
        DType::BF16 => TensorData::BF16(
            chunks
                .map(|c| bf16::from_bits(u16::from_le_bytes(c.try_into().expect("2 bytes"))))
                .collect(),
        ),
        DType::F32 => TensorData::F32(
            chunks
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect(),
        ),
    };
    Ok(HostTensor {
        shape: shape.to_vec(),
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_are_row_major() {
        assert_eq!(contiguous_strides(&[2, 3, 4]), vec![12, 4, 1]);
        assert_eq!(contiguous_strides(&[5]), vec![1]);
        assert!(contiguous_strides(&[]).is_empty());
    }

    #[test]
    fn host_bytes_round_trip_every_dtype() {
        let cases = vec![
            TensorData::I1(vec![true, false, true, true]),
            TensorData::I32(vec![1, -2, i32::MAX, i32::MIN]),
            TensorData::I64(vec![1, -2, i64::MAX, i64::MIN]),
            TensorData::F16(vec![
                f16::from_f32(1.5),
                f16::NEG_INFINITY,
                f16::MIN_POSITIVE,
                f16::ZERO,
            ]),
            TensorData::BF16(vec![
                bf16::from_f32(-3.0),
                bf16::INFINITY,
                bf16::ONE,
                bf16::ZERO,
            ]),
            TensorData::F32(vec![0.1, -0.0, f32::MAX, 1e-40]),
        ];
        for data in cases {
            let host = HostTensor {
                shape: vec![2, 2],
                data,
            };
            let bytes = host_bytes(&host).unwrap();
            assert_eq!(bytes.len(), 4 * host.data.dtype().size_bytes() as usize);
            let back = host_from_bytes(host.data.dtype(), &host.shape, &bytes).unwrap();
            assert_eq!(back, host);
        }
    }

    #[test]
    fn host_tensor_with_wrong_element_count_is_refused() {
        let host = HostTensor {
            shape: vec![3],
            data: TensorData::F32(vec![1.0]),
        };
        assert!(matches!(host_bytes(&host), Err(RuntimeError::Transfer(_))));
        assert!(matches!(
            host_from_bytes(DType::F32, &[3], &[0; 8]),
            Err(RuntimeError::Transfer(_))
        ));
    }
}
