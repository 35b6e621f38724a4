//! The runtime's one error type.
//!
//! Every failure the runtime can meet, from a missing CUDA driver to a tensor of the wrong
//! shape, is a [`RuntimeError`] variant: callers match on it, and its `Display` text is what
//! the CLI prints. Driver failures keep the raw CUDA error name so logs stay greppable.

use cudarc::driver::{sys::CUresult, DriverError};

/// Everything that can go wrong between a `.tile` file and a finished launch.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// `libcuda.so` could not be loaded: no NVIDIA driver on this machine.
    #[error("no CUDA driver found (libcuda could not be loaded)")]
    NoDriver,
    /// The driver loaded but there is no usable device with this ordinal.
    #[error("no CUDA device {ordinal} (the driver reports {count} device(s))")]
    NoDevice { ordinal: usize, count: usize },
    /// A device allocation failed.
    #[error("out of device memory allocating {bytes} bytes")]
    OutOfMemory { bytes: usize },
    /// The driver's PTX JIT rejected the module; `log` is the JIT's error log.
    #[error("the CUDA driver failed to JIT-compile the PTX ({code}):\n{log}")]
    JitFailed { code: String, log: String },
    /// The PTX has no `.entry` of the name the ABI promises.
    #[error("the PTX module has no kernel entry `{entry}`")]
    MissingEntry { entry: String },
    /// A launch argument does not fit the kernel's parameter `param`.
    #[error("bad argument for parameter `{param}`: {message}")]
    BadArgument { param: String, message: String },
    /// The arguments as a whole do not fit the kernel (count, shape symbols, aliasing).
    #[error("bad arguments: {0}")]
    BadArguments(String),
    /// The grid or block the kernel asks for cannot be launched on this device.
    #[error("cannot launch: {0}")]
    BadLaunch(String),
    /// A host tensor's data does not fit the device tensor (dtype or element count).
    #[error("tensor transfer: {0}")]
    Transfer(String),
    /// The kernel failed to compile: rendered front-end diagnostics or a codegen error.
    #[error("compilation failed:\n{0}")]
    Compile(String),
    /// The compiled artifacts do not describe the kernel consistently (an internal bug, or a
    /// stale or edited cache entry).
    #[error("inconsistent kernel metadata: {0}")]
    AbiMismatch(String),
    /// Reading or writing the on-disk kernel cache or a source file.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// A CUDA driver call failed; `call` names the operation.
    #[error("CUDA driver call `{call}` failed: {name}")]
    Driver {
        call: &'static str,
        name: String,
        code: u32,
    },
}

impl RuntimeError {
    /// Wraps a driver error, naming the call that failed. An out-of-memory code becomes
    /// [`RuntimeError::OutOfMemory`] only where the byte count is known (see `tensor.rs`).
    pub(crate) fn driver(call: &'static str, err: DriverError) -> Self {
        RuntimeError::Driver {
            call,
            name: driver_error_name(err.0),
            code: err.0 as u32,
        }
    }

    pub(crate) fn bad_argument(param: &str, message: impl Into<String>) -> Self {
        RuntimeError::BadArgument {
            param: param.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        RuntimeError::Io {
            context: context.into(),
            source,
        }
    }
}

/// `CUDA_ERROR_...` for a result code. The `Debug` name of the enum is the CUDA name, and it
/// needs no driver call (the error may be that the driver is unusable).
pub(crate) fn driver_error_name(code: CUresult) -> String {
    format!("{code:?}")
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;
