//! The pipeline, one readable function per entry point: parse → lower → verify (→ passes →
//! codegen, in `crate::codegen`). The CLI and the runtime call these rather than the stages.
//!
//! Architecture invariant: every kernel that leaves [`lower`] has passed the IR verifier. A
//! verifier failure there is a compiler bug, reported as an internal-error diagnostic rather
//! than a panic, so the user still gets a message and exit code 1.

use crate::diagnostics::Diagnostic;
use crate::ir::verify::verify;
use crate::sema::{self, ConstOverrides, LoweredKernel};
use crate::syntax::{self, ast};
use std::path::Path;

/// A `.tile` source file held in memory, with the name diagnostics show for it.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile {
            name: name.into(),
            text: text.into(),
        }
    }

    pub fn read(path: &Path) -> std::io::Result<Self> {
        Ok(SourceFile::new(
            path.display().to_string(),
            std::fs::read_to_string(path)?,
        ))
    }
}

/// Parses a source file.
pub fn parse(source: &SourceFile) -> Result<ast::Module, Vec<Diagnostic>> {
    syntax::parse(&source.text)
}

/// Parses and checks every kernel of a file with the given const values: what `tilec check`
/// reports. An empty list means the file is fine.
pub fn check(source: &SourceFile, overrides: &ConstOverrides) -> Vec<Diagnostic> {
    match parse(source) {
        Err(diags) => diags,
        Ok(module) => sema::check_module(&module, overrides),
    }
}

/// Parses a file and lowers one kernel (`None`: the only one) to verified tile IR.
pub fn lower(
    source: &SourceFile,
    kernel: Option<&str>,
    overrides: &ConstOverrides,
) -> Result<LoweredKernel, Vec<Diagnostic>> {
    let module = parse(source)?;
    let lowered = sema::lower_kernel(&module, kernel, overrides)?;
    verify_or_internal_error(&lowered.ir, "lowering")?;
    Ok(lowered)
}

/// Runs the verifier; a failure becomes one internal-error diagnostic naming the stage.
pub fn verify_or_internal_error(
    kernel: &crate::ir::Kernel,
    after: &str,
) -> Result<(), Vec<Diagnostic>> {
    verify(kernel).map_err(|errors| {
        let mut d = Diagnostic {
            code: "tilec::internal_error",
            message: format!("internal compiler error: invalid IR after {after}"),
            labels: Vec::new(),
            help: Some("this is a bug in tilec; please report it with this program".into()),
            notes: Vec::new(),
        };
        for e in errors {
            d.notes.push(e.to_string());
        }
        vec![d]
    })
}

/// How to compile tile IR to PTX.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompileOptions {
    pub target: crate::codegen::GpuTarget,
    /// Warps per program (the block is `32 * num_warps` threads).
    pub num_warps: u32,
}

/// Runs the passes and code generation on lowered IR. `observe(pass, kernel)` sees the IR
/// after each pass (`--print-ir-after-all`). Configurations that cannot work (a tile too big
/// for the register file, shared memory past the target's limit) come back as diagnostics;
/// compiler bugs as one internal-error diagnostic.
pub fn compile(
    kernel: &crate::ir::Kernel,
    options: &CompileOptions,
    observe: &mut dyn FnMut(&str, &crate::ir::Kernel),
) -> Result<crate::codegen::CompiledKernel, Vec<Diagnostic>> {
    use crate::codegen::{self, CodegenError, CodegenOptions};
    let internal = |message: String| Diagnostic {
        code: "tilec::internal_error",
        message: format!("internal compiler error: {message}"),
        labels: Vec::new(),
        help: Some("this is a bug in tilec; please report it with this program".into()),
        notes: Vec::new(),
    };
    let mut kernel = kernel.clone();
    let pass_options = crate::passes::PassOptions {
        num_warps: options.num_warps,
        target: options.target,
    };
    crate::passes::run(&mut kernel, &pass_options, observe)
        .map_err(|e| vec![internal(e.to_string())])?;
    let codegen_options = CodegenOptions {
        target: options.target,
        num_warps: options.num_warps,
    };
    codegen::compile(&kernel, &codegen_options).map_err(|e| match e {
        CodegenError::Config(diags) => diags,
        CodegenError::Internal(message) => vec![internal(message)],
    })
}

/// Parses, lowers and compiles one kernel of a source file to PTX: [`lower`] then [`compile`].
/// Configuration diagnostics from code generation carry no spans (codegen sees only IR);
/// here they get the kernel's name as their primary span and each const parameter they
/// mention as a secondary span, labelled with the value it had.
pub fn build(
    source: &SourceFile,
    kernel: Option<&str>,
    overrides: &ConstOverrides,
    options: &CompileOptions,
    observe: &mut dyn FnMut(&str, &crate::ir::Kernel),
) -> Result<(LoweredKernel, crate::codegen::CompiledKernel), Vec<Diagnostic>> {
    let module = parse(source)?;
    let lowered = sema::lower_kernel(&module, kernel, overrides)?;
    verify_or_internal_error(&lowered.ir, "lowering")?;
    match compile(&lowered.ir, options, observe) {
        Ok(compiled) => Ok((lowered, compiled)),
        Err(diags) => {
            let ast_kernel = module
                .kernels
                .iter()
                .find(|k| k.name.name == lowered.ir.name);
            Err(match ast_kernel {
                Some(k) => diags
                    .into_iter()
                    .map(|d| attach_kernel_spans(d, k, &lowered.ir))
                    .collect(),
                None => diags,
            })
        }
    }
}

/// Gives a span-less diagnostic about a whole kernel configuration its source locations.
fn attach_kernel_spans(
    mut d: Diagnostic,
    kernel: &ast::Kernel,
    ir: &crate::ir::Kernel,
) -> Diagnostic {
    if d.labels.iter().any(|l| !l.span.is_empty()) {
        return d;
    }
    d.labels.clear();
    d.labels.push(crate::diagnostics::Label {
        span: kernel.name.span,
        message: "in this kernel, with the consts below".into(),
        primary: true,
    });
    let text = format!("{} {}", d.message, d.help.as_deref().unwrap_or(""));
    let mentions = |name: &str| {
        text.match_indices(name).any(|(i, _)| {
            let before = text[..i].chars().next_back();
            let after = text[i + name.len()..].chars().next();
            let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            !word(before) && !word(after)
        })
    };
    for param in &kernel.params {
        if let ast::ParamKind::Const { .. } = param.kind {
            let name = &param.name.name;
            if let (true, Some(value)) = (mentions(name), ir.const_value(name)) {
                d.labels.push(crate::diagnostics::Label {
                    span: param.span,
                    message: format!("{name} = {value}"),
                    primary: false,
                });
            }
        }
    }
    d
}
