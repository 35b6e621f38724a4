//! A CUDA device (its primary context) and the streams work is queued on.
//!
//! The driver library is loaded dynamically: on a machine without `libcuda`, [`Device::new`]
//! returns [`RuntimeError::NoDriver`] instead of panicking (cudarc panics if a driver symbol
//! is used without the library, so we check for it first). Setting the environment variable
//! `TILEC_NO_GPU=1` makes the runtime behave as if no driver were installed, which lets the
//! no-GPU paths be exercised on a GPU machine too.
//!
//! All tilec work runs on non-blocking streams created here; graph capture (see `timing.rs`)
//! needs a stream other than the legacy default stream.

use crate::error::{driver_error_name, Result, RuntimeError};
use cudarc::driver::{result, sys, CudaContext, CudaStream};
use std::sync::Arc;

/// Whether a CUDA driver library can be loaded on this machine (and `TILEC_NO_GPU` is unset).
pub fn driver_available() -> bool {
    if std::env::var_os("TILEC_NO_GPU").is_some_and(|v| !v.is_empty() && v != "0") {
        return false;
    }
    // SAFETY: only tries to dlopen the driver library by its usual names.
    unsafe { sys::is_culib_present() }
}

/// One GPU: the device's primary context, made current on the calling thread as needed.
#[derive(Clone)]
pub struct Device {
    ctx: Arc<CudaContext>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("ordinal", &self.ctx.ordinal())
            .finish()
    }
}

impl Device {
    /// Opens device `ordinal`. Fails with [`RuntimeError::NoDriver`] when no driver library
    /// is installed and [`RuntimeError::NoDevice`] when the ordinal does not exist.
    pub fn new(ordinal: usize) -> Result<Device> {
        if !driver_available() {
            return Err(RuntimeError::NoDriver);
        }
        if let Err(e) = result::init() {
            // A driver without a usable GPU answers cuInit with NO_DEVICE.
            return Err(match e.0 {
                sys::CUresult::CUDA_ERROR_NO_DEVICE => RuntimeError::NoDevice { ordinal, count: 0 },
                _ => RuntimeError::driver("cuInit", e),
            });
        }
        let count =
            CudaContext::device_count().map_err(|e| RuntimeError::driver("cuDeviceGetCount", e))?;
        if ordinal >= count.max(0) as usize {
            return Err(RuntimeError::NoDevice {
                ordinal,
                count: count.max(0) as usize,
            });
        }
        let ctx = CudaContext::new(ordinal)
            .map_err(|e| RuntimeError::driver("cuDevicePrimaryCtxRetain", e))?;
        // Every tilec buffer is used on the stream that owns the work; cudarc's per-buffer
        // event tracking would record events inside graph captures, which replays cannot wait on.
        // SAFETY: no cudarc-managed buffers exist yet on this context from this crate.
        unsafe { ctx.disable_event_tracking() };
        Ok(Device { ctx })
    }

    /// The device's name as the driver reports it, e.g. `NVIDIA H100 80GB HBM3`.
    pub fn name(&self) -> Result<String> {
        self.ctx
            .name()
            .map_err(|e| RuntimeError::driver("cuDeviceGetName", e))
    }

    /// `(major, minor)` compute capability, e.g. `(9, 0)`.
    pub fn compute_capability(&self) -> Result<(i32, i32)> {
        self.ctx
            .compute_capability()
            .map_err(|e| RuntimeError::driver("cuDeviceGetAttribute", e))
    }

    /// The most dynamic shared memory one block may opt into, in bytes.
    pub fn max_shared_bytes_optin(&self) -> Result<u32> {
        let v = self
            .ctx
            .attribute(
                sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
            )
            .map_err(|e| RuntimeError::driver("cuDeviceGetAttribute", e))?;
        Ok(v.max(0) as u32)
    }

    /// A new non-blocking stream on this device.
    pub fn new_stream(&self) -> Result<Stream> {
        let inner = self
            .ctx
            .new_stream()
            .map_err(|e| RuntimeError::driver("cuStreamCreate", e))?;
        Ok(Stream { inner })
    }

    /// Waits for all work on the device.
    pub fn synchronize(&self) -> Result<()> {
        self.ctx
            .synchronize()
            .map_err(|e| RuntimeError::driver("cuCtxSynchronize", e))
    }

    pub(crate) fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// Makes this device's context current on the calling thread, before raw driver calls.
    pub(crate) fn bind(&self) -> Result<()> {
        self.ctx
            .bind_to_thread()
            .map_err(|e| RuntimeError::driver("cuCtxSetCurrent", e))
    }
}

/// An in-order queue of device work. Launches, copies and timing events go on a stream.
#[derive(Clone)]
pub struct Stream {
    inner: Arc<CudaStream>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream").finish_non_exhaustive()
    }
}

impl Stream {
    /// Blocks until all work queued so far has finished; surfaces asynchronous launch
    /// failures (e.g. an illegal address) as a driver error.
    pub fn synchronize(&self) -> Result<()> {
        self.inner.synchronize().map_err(|e| RuntimeError::Driver {
            call: "cuStreamSynchronize",
            name: driver_error_name(e.0),
            code: e.0 as u32,
        })
    }

    pub(crate) fn raw(&self) -> sys::CUstream {
        self.inner.cu_stream()
    }

    pub(crate) fn cuda(&self) -> &Arc<CudaStream> {
        &self.inner
    }

    /// The device this stream belongs to.
    pub fn device(&self) -> Device {
        Device {
            ctx: self.inner.context().clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without a driver library, opening a device is a typed error, never a panic. On a GPU
    /// machine the same test checks that device 0 opens and a bogus ordinal is refused.
    #[test]
    fn device_new_without_driver_is_a_typed_error() {
        if driver_available() {
            let dev = Device::new(0).expect("device 0 opens on a GPU machine");
            assert!(dev.name().is_ok());
            assert!(matches!(
                Device::new(1 << 20),
                Err(RuntimeError::NoDevice { .. })
            ));
        } else {
            assert!(matches!(Device::new(0), Err(RuntimeError::NoDriver)));
        }
    }
}
