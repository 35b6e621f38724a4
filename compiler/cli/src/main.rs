//! `tilec`: the command-line front of the compiler.
//!
//! Exit codes: 0 on success, 1 when the user's program (or its inputs) has errors, with
//! diagnostics on stderr, 2 on usage errors (clap's convention).

mod gpu;
mod inputs;
mod options;
mod reference_check;
mod run_interp;
mod tune_space;

use clap::{Parser, Subcommand, ValueEnum};
use options::ConstDef;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use tilec::diagnostics::{self, Diagnostic};
use tilec::driver::{self, SourceFile};
use tilec::sema::ConstOverrides;

#[derive(Parser)]
#[command(name = "tilec", version, about = "Compiler for .tile GPU kernels")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and check a program; report every error found.
    Check {
        file: PathBuf,
        /// Set a const parameter, overriding its default: -D BLOCK_M=128.
        #[arg(short = 'D', value_name = "NAME=VALUE")]
        define: Vec<ConstDef>,
    },
    /// Compile a kernel and write one of its intermediate forms.
    Build(BuildArgs),
    /// Run a kernel on seeded random inputs and summarize its outputs.
    Run(run_interp::RunArgs),
    /// Time a kernel on the GPU (CUDA-graph replays and single launches).
    Bench(gpu::BenchArgs),
    /// Print a kernel's `tune` section as JSON: {"kernel": .., "axes": [{"name", "values"}]}.
    TuneSpace(tune_space::TuneSpaceArgs),
}

#[derive(clap::Args)]
struct BuildArgs {
    file: PathBuf,
    /// What to write.
    #[arg(long, value_enum)]
    emit: Emit,
    #[arg(short = 'D', value_name = "NAME=VALUE")]
    define: Vec<ConstDef>,
    /// The kernel to compile, when the file holds several.
    #[arg(long)]
    kernel: Option<String>,
    /// Output file (default: stdout).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// GPU architecture for `--emit llvm|ptx`.
    #[arg(long, default_value = "sm_90a", value_parser = ["sm_80", "sm_90a"])]
    target: String,
    /// Warps per program (the block is 32 × N threads).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=32))]
    num_warps: u32,
    /// Print the IR after every pass (on stderr).
    #[arg(long)]
    print_ir_after_all: bool,
    /// Print the IR after the named pass (on stderr).
    #[arg(long, value_name = "PASS", value_parser = clap::builder::PossibleValuesParser::new(tilec::passes::PASS_NAMES))]
    print_ir_after: Vec<String>,
    /// With `--emit ptx`: also write the kernel ABI (how to launch the PTX) as JSON.
    #[arg(long, value_name = "PATH")]
    abi_json: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Emit {
    /// The syntax tree.
    Ast,
    /// Tile IR, as lowered from the source (before any pass).
    Ir,
    /// LLVM IR for the NVPTX back end, as generated (before LLVM's optimizations).
    Llvm,
    /// PTX assembly.
    Ptx,
}

/// How a command failed: the exit code follows from it.
enum Failure {
    /// Errors in the user's program or inputs, already printed.
    Program,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { file, define } => check(&file, &define),
        Command::Build(args) => build(&args),
        Command::Run(args) => run_interp::run(&args),
        Command::Bench(args) => gpu::bench(&args),
        Command::TuneSpace(args) => tune_space::print(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Program) => ExitCode::from(1),
    }
}

/// Reads a source file; a missing or unreadable file is reported like a program error.
fn read_source(path: &std::path::Path) -> Result<SourceFile, Failure> {
    SourceFile::read(path).map_err(|e| {
        eprintln!("error: cannot read `{}`: {e}", path.display());
        Failure::Program
    })
}

/// Prints diagnostics on stderr, in colour when stderr is a terminal.
fn report(source: &SourceFile, diags: &[Diagnostic]) {
    let color = std::io::stderr().is_terminal();
    let text = diagnostics::render_with(&source.name, &source.text, diags, color);
    let _ = std::io::stderr().write_all(text.as_bytes());
}

fn overrides(defs: &[ConstDef]) -> ConstOverrides {
    ConstOverrides {
        values: defs.iter().map(|d| (d.name.clone(), d.value)).collect(),
    }
}

fn check(path: &std::path::Path, defs: &[ConstDef]) -> Result<(), Failure> {
    let source = read_source(path)?;
    let diags = driver::check(&source, &overrides(defs));
    if diags.is_empty() {
        println!("{}: ok", source.name);
        Ok(())
    } else {
        report(&source, &diags);
        Err(Failure::Program)
    }
}

fn build(args: &BuildArgs) -> Result<(), Failure> {
    let source = read_source(&args.file)?;
    let text = match args.emit {
        Emit::Ast => match driver::parse(&source) {
            Ok(module) => format!("{module:#?}\n"),
            Err(diags) => {
                report(&source, &diags);
                return Err(Failure::Program);
            }
        },
        Emit::Ir => {
            let lowered = driver::lower(&source, args.kernel.as_deref(), &overrides(&args.define))
                .map_err(|diags| {
                    report(&source, &diags);
                    Failure::Program
                })?;
            lowered.ir.to_string()
        }
        Emit::Llvm | Emit::Ptx => {
            let options = driver::CompileOptions {
                target: tilec::codegen::GpuTarget::from_name(&args.target)
                    .expect("clap allows only known targets"),
                num_warps: args.num_warps,
            };
            let mut observe = |pass: &str, kernel: &tilec::ir::Kernel| {
                if args.print_ir_after_all || args.print_ir_after.iter().any(|p| p == pass) {
                    eprintln!("// IR after pass `{pass}`\n{kernel}");
                }
            };
            let defs = overrides(&args.define);
            let (_, compiled) = driver::build(
                &source,
                args.kernel.as_deref(),
                &defs,
                &options,
                &mut observe,
            )
            .map_err(|diags| {
                report(&source, &diags);
                Failure::Program
            })?;
            if let Some(path) = &args.abi_json {
                let json = serde_json::to_string_pretty(&compiled.abi).expect("the ABI serializes");
                write_output(Some(path), &json)?;
            }
            if matches!(args.emit, Emit::Llvm) {
                compiled.llvm_ir
            } else {
                compiled.ptx
            }
        }
    };
    write_output(args.output.as_deref(), &text)
}

/// Writes to the named file, or stdout.
fn write_output(path: Option<&std::path::Path>, text: &str) -> Result<(), Failure> {
    match path {
        Some(p) => std::fs::write(p, text).map_err(|e| {
            eprintln!("error: cannot write `{}`: {e}", p.display());
            Failure::Program
        }),
        None => {
            // A closed pipe (`tilec build .. | head`) is not an error worth a message.
            let _ = std::io::stdout().write_all(text.as_bytes());
            Ok(())
        }
    }
}
