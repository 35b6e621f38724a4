//! Source text to launchable artifacts: the compiler pipeline as the runtime drives it.
//!
//! parse → lower (with const overrides) → passes → codegen gives PTX and its [`KernelAbi`];
//! the runtime adds the [`LaunchSignature`] taken from the lowered IR. [`compile_artifacts`]
//! consults the on-disk cache (`cache.rs`) first. None of this needs a GPU.

use crate::cache;
use crate::error::{Result, RuntimeError};
use crate::signature::LaunchSignature;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tilec::codegen::abi::KernelAbi;
use tilec::codegen::GpuTarget;
use tilec::driver::SourceFile;
use tilec::ir::{self, ConstValue};
use tilec::sema::ConstOverrides;

/// Where the kernel's source comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    /// Source text; `name` is the file name used in diagnostics.
    Text {
        name: String,
        text: String,
    },
}

impl Source {
    pub fn file(path: impl Into<PathBuf>) -> Source {
        Source::File(path.into())
    }
    pub fn text(text: impl Into<String>) -> Source {
        Source::Text {
            name: "<source>".into(),
            text: text.into(),
        }
    }

    /// `(file name for diagnostics, text)`.
    pub fn read(&self) -> Result<(String, String)> {
        match self {
            Source::File(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| RuntimeError::io(format!("reading {}", p.display()), e))?;
                Ok((p.display().to_string(), text))
            }
            Source::Text { name, text } => Ok((name.clone(), text.clone())),
        }
    }
}

impl From<&Path> for Source {
    fn from(p: &Path) -> Source {
        Source::File(p.to_path_buf())
    }
}

/// Choices that change the generated code (and so the cache key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompileOptions {
    /// Warps per program (the block is 32 × this); `None`: the code generator's default.
    pub num_warps: Option<u32>,
    /// Software-pipelining depth of loads in loops; `None`: the default. Part of the cache key,
    /// but today's code generator does not pipeline yet and ignores it.
    pub num_stages: Option<u32>,
    /// The PTX target, e.g. `sm_90a`.
    pub target: String,
    /// Read and write the on-disk cache.
    pub use_cache: bool,
    /// The device to load onto (for [`crate::Kernel::compile`]).
    pub device_ordinal: usize,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            num_warps: None,
            num_stages: None,
            target: "sm_90a".into(),
            use_cache: true,
            device_ordinal: 0,
        }
    }
}

/// What is needed to load and launch one kernel specialization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifacts {
    pub ptx: String,
    pub abi: KernelAbi,
    pub signature: LaunchSignature,
}

/// Parses `source` and lowers kernel `name` (the only kernel when `None`) with `consts`.
/// Diagnostics come back rendered in [`RuntimeError::Compile`].
pub fn lower(
    source: &Source,
    name: Option<&str>,
    consts: &[(String, ConstValue)],
) -> Result<ir::Kernel> {
    let (file_name, text) = source.read()?;
    lower_text(&file_name, &text, name, consts)
}

fn lower_text(
    file_name: &str,
    text: &str,
    name: Option<&str>,
    consts: &[(String, ConstValue)],
) -> Result<ir::Kernel> {
    let source = SourceFile::new(file_name, text);
    let overrides = ConstOverrides {
        values: consts.to_vec(),
    };
    let lowered = tilec::driver::lower(&source, name, &overrides).map_err(|diags| {
        RuntimeError::Compile(tilec::diagnostics::render(file_name, text, &diags))
    })?;
    Ok(lowered.ir)
}

/// Runs the passes and code generation on lowered IR. No cache: the IR has no source key.
pub fn compile_ir(kernel: &ir::Kernel, options: &CompileOptions) -> Result<Artifacts> {
    let signature = LaunchSignature::from_ir(kernel)?;
    let (ptx, abi) = generate_ptx(kernel, options)?;
    signature.check_abi(&abi)?;
    Ok(Artifacts {
        ptx,
        abi,
        signature,
    })
}

/// Compiles kernel `name` of `source` with `consts`, through the cache when enabled.
pub fn compile_artifacts(
    source: &Source,
    name: Option<&str>,
    consts: &[(String, ConstValue)],
    options: &CompileOptions,
) -> Result<Artifacts> {
    let (file_name, text) = source.read()?;
    let options = &with_launch_overrides(options, consts);
    let entry = options
        .use_cache
        .then(cache::cache_dir)
        .flatten()
        .map(|dir| {
            cache::entry_dir(
                &dir,
                name.unwrap_or("kernel"),
                &cache_key(&text, name, consts, options),
            )
        });
    if let Some(hit) = entry.as_deref().and_then(cache::load) {
        if hit.signature.check_abi(&hit.abi).is_ok() {
            return Ok(hit);
        }
    }
    let kernel = lower_text(&file_name, &text, name, consts)?;
    let artifacts = compile_ir(&kernel, options)?;
    if let Some(entry) = entry {
        // A cache that cannot be written only costs time; the compiled kernel is still good.
        let _ = cache::store(&entry, &artifacts);
    }
    Ok(artifacts)
}

/// `-D num_warps=8` / `-D num_stages=3` (which sema accepts as launch-option overrides) fill
/// in the options that the caller left unset.
fn with_launch_overrides(
    options: &CompileOptions,
    consts: &[(String, ConstValue)],
) -> CompileOptions {
    let given = |name: &str| {
        consts
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| u32::try_from(v.as_i64()).ok())
    };
    CompileOptions {
        num_warps: options.num_warps.or_else(|| given("num_warps")),
        num_stages: options.num_stages.or_else(|| given("num_stages")),
        ..options.clone()
    }
}

/// The cache key of one compilation.
pub fn cache_key(
    text: &str,
    name: Option<&str>,
    consts: &[(String, ConstValue)],
    options: &CompileOptions,
) -> String {
    let mut consts: Vec<String> = consts.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    consts.sort();
    let mut h = cache::KeyHasher::default();
    h.field("compiler", cache::compiler_fingerprint().as_bytes())
        .field("source", text.as_bytes())
        .field("kernel", name.unwrap_or("").as_bytes())
        .field("consts", consts.join(";").as_bytes())
        .field("num_warps", format!("{:?}", options.num_warps).as_bytes())
        .field("num_stages", format!("{:?}", options.num_stages).as_bytes())
        .field("target", options.target.as_bytes());
    h.finish()
}

/// Warps per program when neither the options nor the caller choose.
pub const DEFAULT_NUM_WARPS: u32 = 4;

/// The compiler's back half: the IR passes, then LLVM code generation to PTX.
fn generate_ptx(kernel: &ir::Kernel, options: &CompileOptions) -> Result<(String, KernelAbi)> {
    let target = GpuTarget::from_name(&options.target).ok_or_else(|| {
        RuntimeError::Compile(format!(
            "unknown GPU target `{}` (known: {})",
            options.target,
            GpuTarget::ALL.map(|t| t.name()).join(", ")
        ))
    })?;
    let num_warps = options.num_warps.unwrap_or(DEFAULT_NUM_WARPS);
    let compile_options = tilec::driver::CompileOptions { target, num_warps };
    let compiled = tilec::driver::compile(kernel, &compile_options, &mut |_, _| {})
        .map_err(|diags| RuntimeError::Compile(describe_diagnostics(&diags)))?;
    Ok((compiled.ptx, compiled.abi))
}

/// Diagnostics without source text (the kernel came as IR): code, message, help and notes.
fn describe_diagnostics(diags: &[tilec::diagnostics::Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&format!("error[{}]: {}\n", d.code, d.message));
        if let Some(help) = &d.help {
            out.push_str(&format!("  help: {help}\n"));
        }
        for note in &d.notes {
            out.push_str(&format!("  note: {note}\n"));
        }
    }
    out
}
