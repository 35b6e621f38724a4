//! `tilec-runtime`: loads tilec kernels onto an NVIDIA GPU and launches them.
//!
//! The pieces, one concern per module:
//! * [`device`]: the CUDA driver (loaded dynamically: no driver is a typed error), devices and
//!   streams.
//! * [`compile`] + [`cache`]: `.tile` source to PTX, its [`KernelAbi`](tilec::codegen::abi::KernelAbi)
//!   and a [`LaunchSignature`], cached on disk.
//! * [`module`]: PTX through the driver's JIT, with its error log on failure;
//!   [`ptx_params`] checks the PTX entry's parameters against the ABI first.
//! * [`tensor`]: typed device tensors, transfers to and from the interpreter's host tensors.
//! * [`launch`]: argument checking (pure, unit-tested without a GPU), grid computation,
//!   parameter packing per the ABI, and the launch itself.
//! * [`timing`]: CUDA events and CUDA-graph replays.
//! * [`kernel`]: the user API tying these together, [`Kernel`].
//! * [`verify`]: seeded random inputs and relative-error comparison for GPU-vs-interpreter tests.
//! * [`autotune`]: times every configuration of a kernel's `tune` section, caches the winner.
//!
//! See `docs/runtime.md` for a walk-through.

pub mod autotune;
pub mod cache;
pub mod compile;
pub mod device;
pub mod error;
pub mod kernel;
pub mod launch;
pub mod module;
pub mod ptx_params;
pub mod signature;
pub mod tensor;
pub mod timing;
pub mod verify;

pub use autotune::{autotune, TuneOptions, TuneReport, TuneRequest, Tuned};
pub use compile::{Artifacts, CompileOptions, Source};
pub use device::{driver_available, Device, Stream};
pub use error::RuntimeError;
pub use kernel::Kernel;
pub use launch::{Arg, LaunchPlan};
pub use signature::LaunchSignature;
pub use tensor::DeviceTensor;
pub use timing::{Timing, TimingOptions};
