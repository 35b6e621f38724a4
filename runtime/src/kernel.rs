//! The user-facing kernel: compile (or fetch from the cache), load onto a device, launch.
//!
//! ```no_run
//! use tilec_runtime::{Arg, CompileOptions, DeviceTensor, Kernel, Source};
//! # fn main() -> Result<(), tilec_runtime::RuntimeError> {
//! let kernel = Kernel::compile(Source::file("dsl-examples/vector_add.tile"), None, &[], &CompileOptions::default())?;
//! let stream = kernel.device().new_stream()?;
//! # let (x, y, out): (DeviceTensor, DeviceTensor, DeviceTensor) = todo!();
//! kernel.launch(&stream, &[Arg::Tensor(&x), Arg::Tensor(&y), Arg::Tensor(&out)])?;
//! stream.synchronize()?;
//! # Ok(()) }
//! ```

use crate::compile::{self, Artifacts, CompileOptions, Source};
use crate::device::{Device, Stream};
use crate::error::Result;
use crate::error::RuntimeError;
use crate::launch::{abi_param_sizes, launch_raw, plan_launch, Arg, ArgDesc, LaunchPlan};
use crate::module::LoadedModule;
use crate::signature::LaunchSignature;
use crate::timing::{time_launches, Timing, TimingOptions};
use tilec::codegen::abi::KernelAbi;
use tilec::ir::{self, ConstValue};

/// A compiled kernel loaded on one device.
#[derive(Debug)]
pub struct Kernel {
    artifacts: Artifacts,
    module: LoadedModule,
}

impl Kernel {
    /// Compiles kernel `name` (the only one when `None`) of `source` with const values
    /// `consts`, using the on-disk cache, and loads it onto `options.device_ordinal`.
    pub fn compile(
        source: impl Into<Source>,
        name: Option<&str>,
        consts: &[(String, ConstValue)],
        options: &CompileOptions,
    ) -> Result<Kernel> {
        let artifacts = compile::compile_artifacts(&source.into(), name, consts, options)?;
        Kernel::load(artifacts, &Device::new(options.device_ordinal)?)
    }

    /// Compiles already-lowered IR (no cache) and loads it onto `device`.
    pub fn from_ir(
        kernel: &ir::Kernel,
        options: &CompileOptions,
        device: &Device,
    ) -> Result<Kernel> {
        Kernel::load(compile::compile_ir(kernel, options)?, device)
    }

    /// Loads compiled artifacts onto `device` (JIT-compiling the PTX there).
    pub fn load(artifacts: Artifacts, device: &Device) -> Result<Kernel> {
        artifacts.signature.check_abi(&artifacts.abi)?;
        check_ptx_params(&artifacts)?;
        let module = LoadedModule::load(
            device,
            &artifacts.ptx,
            &artifacts.abi.entry,
            artifacts.abi.shared_bytes,
        )?;
        Ok(Kernel { artifacts, module })
    }

    /// Checks `args` and computes the grid without launching.
    pub fn plan(&self, args: &[Arg]) -> Result<LaunchPlan> {
        let descs: Vec<ArgDesc> = args.iter().map(Arg::describe).collect();
        plan_launch(&self.artifacts.signature, &self.artifacts.abi, &descs)
    }

    /// Checks `args` against the kernel's parameters and queues one launch on `stream`.
    /// Bad arguments are a typed error and launch nothing.
    pub fn launch(&self, stream: &Stream, args: &[Arg]) -> Result<()> {
        let plan = self.plan(args)?;
        self.check_device(args)?;
        // SAFETY: the plan was checked against this kernel's ABI, and `args` borrows every
        // tensor for the duration of the call (the driver copies parameter values at launch).
        unsafe { launch_raw(self.module.function(), stream, &plan) }
    }

    /// Times launches with `args` (graph replays and single launches; see `timing.rs`).
    /// Outputs are overwritten repeatedly.
    pub fn time(&self, stream: &Stream, args: &[Arg], options: &TimingOptions) -> Result<Timing> {
        let plan = self.plan(args)?;
        self.check_device(args)?;
        // SAFETY: as in `launch`; `args` outlives every queued launch because `time_launches`
        // synchronizes before returning.
        time_launches(stream, options, || unsafe {
            launch_raw(self.module.function(), stream, &plan)
        })
    }

    /// Every tensor must live on the kernel's device.
    fn check_device(&self, args: &[Arg]) -> Result<()> {
        let ours = self.module.device().context().cu_ctx();
        for (arg, param) in args.iter().zip(&self.artifacts.signature.params) {
            if let Arg::Tensor(t) = arg {
                if t.device().context().cu_ctx() != ours {
                    return Err(crate::RuntimeError::bad_argument(
                        param.name(),
                        "the tensor lives on another device",
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn device(&self) -> &Device {
        self.module.device()
    }
    pub fn abi(&self) -> &KernelAbi {
        &self.artifacts.abi
    }
    pub fn signature(&self) -> &LaunchSignature {
        &self.artifacts.signature
    }
    pub fn ptx(&self) -> &str {
        &self.artifacts.ptx
    }
    /// The PTX JIT's informational log (registers, spills).
    pub fn jit_log(&self) -> &str {
        self.module.info_log()
    }
    pub fn num_registers(&self) -> Result<i32> {
        self.module.num_registers()
    }
}

/// The PTX entry must declare exactly the parameters the ABI says the launcher packs.
fn check_ptx_params(artifacts: &Artifacts) -> Result<()> {
    let entry = &artifacts.abi.entry;
    let Some(declared) = crate::ptx_params::entry_param_sizes(&artifacts.ptx, entry) else {
        return Err(RuntimeError::MissingEntry {
            entry: entry.clone(),
        });
    };
    let packed = abi_param_sizes(&artifacts.abi);
    if declared != packed {
        return Err(RuntimeError::AbiMismatch(format!(
            "the PTX entry `{entry}` declares parameters of {declared:?} bytes; the ABI packs {packed:?}"
        )));
    }
    Ok(())
}
