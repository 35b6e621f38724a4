//! GPU targets, LLVM's NVPTX target machine, and PTX emission.
//!
//! Two targets today: `sm_80` (A100) and `sm_90a` (H100; the `a` enables wgmma for a later
//! pass). Both emit PTX ISA 8.0. LLVM runs its standard `O3` pipeline on the module before
//! the NVPTX back end prints PTX.

use inkwell::module::Module;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{
    CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine, TargetTriple,
};
use inkwell::OptimizationLevel;
use std::fmt;
use std::sync::Once;

pub const TRIPLE: &str = "nvptx64-nvidia-cuda";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GpuTarget {
    Sm80,
    Sm90a,
}

impl GpuTarget {
    pub const ALL: [GpuTarget; 2] = [GpuTarget::Sm80, GpuTarget::Sm90a];

    /// The name ptxas and `-arch` use: `sm_80`, `sm_90a`.
    pub fn name(self) -> &'static str {
        match self {
            GpuTarget::Sm80 => "sm_80",
            GpuTarget::Sm90a => "sm_90a",
        }
    }

    pub fn from_name(name: &str) -> Option<GpuTarget> {
        GpuTarget::ALL.into_iter().find(|t| t.name() == name)
    }

    /// LLVM target features: the PTX ISA version to emit.
    pub fn features(self) -> &'static str {
        "+ptx80"
    }

    /// The most dynamic shared memory one program may use, in bytes.
    pub fn shared_memory_limit(self) -> u32 {
        match self {
            GpuTarget::Sm80 => 163 * 1024,
            GpuTarget::Sm90a => 227 * 1024,
        }
    }
}

impl fmt::Display for GpuTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn initialize() {
    static INIT: Once = Once::new();
    INIT.call_once(|| Target::initialize_nvptx(&InitializationConfig::default()));
}

/// The NVPTX target machine for `target`.
pub fn target_machine(target: GpuTarget) -> Result<TargetMachine, String> {
    initialize();
    let triple = TargetTriple::create(TRIPLE);
    let llvm_target = Target::from_triple(&triple).map_err(|e| e.to_string())?;
    llvm_target
        .create_target_machine(
            &triple,
            target.name(),
            target.features(),
            OptimizationLevel::Aggressive,
            RelocMode::Default,
            CodeModel::Default,
        )
        .ok_or_else(|| format!("LLVM cannot create a target machine for {target}"))
}

/// Sets the module's triple and data layout for `machine`.
pub fn configure_module(module: &Module<'_>, machine: &TargetMachine) {
    module.set_triple(&machine.get_triple());
    module.set_data_layout(&machine.get_target_data().get_data_layout());
}

/// Runs LLVM's `O3` pipeline, then the NVPTX back end; returns the PTX text.
pub fn emit_ptx(module: &Module<'_>, machine: &TargetMachine) -> Result<String, String> {
    module
        .run_passes("default<O3>", machine, PassBuilderOptions::create())
        .map_err(|e| format!("LLVM optimization failed: {e}"))?;
    let buffer = machine
        .write_to_memory_buffer(module, FileType::Assembly)
        .map_err(|e| format!("NVPTX code generation failed: {e}"))?;
    String::from_utf8(buffer.as_slice().to_vec()).map_err(|_| "PTX is not UTF-8".to_string())
}
