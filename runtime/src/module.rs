//! PTX to a launchable kernel function through the driver's JIT.
//!
//! `cuModuleLoadDataEx` compiles the PTX for the current device; its info and error logs go
//! to buffers we pass, so a rejected module becomes [`RuntimeError::JitFailed`] carrying the
//! JIT's own explanation. When a kernel needs more than 48 KiB of dynamic shared memory, its
//! `MAX_DYNAMIC_SHARED_SIZE_BYTES` attribute is raised once here, after checking the device's
//! opt-in limit.

use crate::device::Device;
use crate::error::{driver_error_name, Result, RuntimeError};
use crate::launch::DEFAULT_SHARED_LIMIT;
use cudarc::driver::sys;
use std::ffi::{c_void, CString};

/// Size of each JIT log buffer, in bytes.
const JIT_LOG_BYTES: usize = 64 * 1024;

/// A loaded PTX module and the one kernel entry tilec launches from it.
pub struct LoadedModule {
    device: Device,
    module: sys::CUmodule,
    function: sys::CUfunction,
    /// The JIT's informational log (register use, spills), possibly empty.
    info_log: String,
}

impl std::fmt::Debug for LoadedModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModule")
            .field("info_log", &self.info_log)
            .finish_non_exhaustive()
    }
}

impl Drop for LoadedModule {
    fn drop(&mut self) {
        if self.device.bind().is_ok() {
            // SAFETY: the module was loaded on this context and is unloaded exactly once.
            let _ = unsafe { sys::cuModuleUnload(self.module) };
        }
    }
}

// SAFETY: CUDA module and function handles may be used from any thread once the owning
// context is made current there (we bind before every use).
unsafe impl Send for LoadedModule {}
unsafe impl Sync for LoadedModule {}

impl LoadedModule {
    /// JIT-compiles `ptx`, finds `entry`, and allows it `shared_bytes` of dynamic shared memory.
    pub fn load(
        device: &Device,
        ptx: &str,
        entry: &str,
        shared_bytes: u32,
    ) -> Result<LoadedModule> {
        let image = CString::new(ptx).map_err(|_| RuntimeError::JitFailed {
            code: "CUDA_ERROR_INVALID_PTX".into(),
            log: "the PTX text contains a NUL byte".into(),
        })?;
        let mut info = vec![0u8; JIT_LOG_BYTES];
        let mut error = vec![0u8; JIT_LOG_BYTES];
        let mut options = [
            sys::CUjit_option::CU_JIT_INFO_LOG_BUFFER,
            sys::CUjit_option::CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES,
            sys::CUjit_option::CU_JIT_ERROR_LOG_BUFFER,
            sys::CUjit_option::CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
            sys::CUjit_option::CU_JIT_LOG_VERBOSE,
        ];
        // Option values are pointer-sized; sizes and flags are passed as integers in them.
        let mut values: [*mut c_void; 5] = [
            info.as_mut_ptr() as *mut c_void,
            std::ptr::without_provenance_mut(JIT_LOG_BYTES),
            error.as_mut_ptr() as *mut c_void,
            std::ptr::without_provenance_mut(JIT_LOG_BYTES),
            std::ptr::without_provenance_mut(1),
        ];
        device.bind()?;
        let mut module: sys::CUmodule = std::ptr::null_mut();
        // SAFETY: the image is NUL-terminated PTX; the log buffers outlive the call and their
        // sizes are as declared.
        let status = unsafe {
            sys::cuModuleLoadDataEx(
                &mut module,
                image.as_ptr() as *const c_void,
                options.len() as u32,
                options.as_mut_ptr(),
                values.as_mut_ptr(),
            )
        };
        if status != sys::CUresult::CUDA_SUCCESS {
            return Err(RuntimeError::JitFailed {
                code: driver_error_name(status),
                log: log_text(&error),
            });
        }
        let mut loaded = LoadedModule {
            device: device.clone(),
            module,
            function: std::ptr::null_mut(),
            info_log: log_text(&info),
        };
        let name = CString::new(entry).map_err(|_| RuntimeError::MissingEntry {
            entry: entry.into(),
        })?;
        // SAFETY: `module` is live; `name` is NUL-terminated.
        let status =
            unsafe { sys::cuModuleGetFunction(&mut loaded.function, module, name.as_ptr()) };
        if status != sys::CUresult::CUDA_SUCCESS {
            return Err(RuntimeError::MissingEntry {
                entry: entry.into(),
            });
        }
        loaded.allow_shared_bytes(shared_bytes)?;
        Ok(loaded)
    }

    fn allow_shared_bytes(&self, shared_bytes: u32) -> Result<()> {
        if shared_bytes <= DEFAULT_SHARED_LIMIT {
            return Ok(());
        }
        let limit = self.device.max_shared_bytes_optin()?;
        if shared_bytes > limit {
            return Err(RuntimeError::BadLaunch(format!(
                "the kernel needs {shared_bytes} bytes of shared memory; this device allows {limit}"
            )));
        }
        // SAFETY: `function` is a live handle of this context.
        unsafe {
            sys::cuFuncSetAttribute(
                self.function,
                sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                shared_bytes as i32,
            )
        }
        .result()
        .map_err(|e| RuntimeError::driver("cuFuncSetAttribute", e))
    }

    /// The JIT's informational log.
    pub fn info_log(&self) -> &str {
        &self.info_log
    }

    /// Registers per thread, as the JIT allocated them.
    pub fn num_registers(&self) -> Result<i32> {
        self.device.bind()?;
        // SAFETY: `function` is a live handle of this context.
        unsafe {
            cudarc::driver::result::function::get_function_attribute(
                self.function,
                sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_NUM_REGS,
            )
        }
        .map_err(|e| RuntimeError::driver("cuFuncGetAttribute", e))
    }

    pub(crate) fn function(&self) -> sys::CUfunction {
        self.function
    }

    pub fn device(&self) -> &Device {
        &self.device
    }
}

/// The NUL-terminated text the JIT wrote into `buf`.
fn log_text(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_text_stops_at_nul() {
        assert_eq!(log_text(b"ptxas error\n\0garbage"), "ptxas error");
        assert_eq!(log_text(b"\0"), "");
    }
}
