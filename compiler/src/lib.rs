//! `tilec`: a compiler for `.tile`, a small language for tiled GPU kernels.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! source ─ syntax (lexer, parser) ─▶ AST ─ sema ─▶ tile IR ─ passes ─▶ codegen (LLVM) ─▶ PTX
//!                                                   │
//!                                                   └─ interp: the reference semantics
//! ```
//!
//! [`driver`] strings the stages together; the `tilec` binary is a thin CLI over it.

pub mod codegen;
pub mod diagnostics;
pub mod driver;
pub mod interp;
pub mod ir;
pub mod passes;
pub mod reference;
pub mod sema;
pub mod syntax;
