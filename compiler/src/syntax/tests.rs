//! Parser and lexer tests: every construct of the language, printed as compact
//! S-expressions (with spans as `@start..end`) and snapshotted with insta; and syntax errors,
//! rendered as the user sees them.
//!
//! `check(name, src)` snapshots the tree, `check_error(name, src)` the rendered diagnostics.

use super::ast::*;
use super::parse;
use crate::diagnostics::render;
use std::fmt::Write;

/// The attention example of the language reference; it must parse.
const ATTENTION: &str = include_str!("testdata/attention.tile");

/// Compact printer. With `spans`, every node is followed by `@start..end`.
struct Printer {
    out: String,
    spans: bool,
}

impl Printer {
    fn span(&mut self, span: Span) {
        if self.spans {
            let _ = write!(self.out, "@{}..{}", span.start, span.end);
        }
    }

    fn module(&mut self, m: &Module) {
        for k in &m.kernels {
            self.kernel(k);
        }
    }

    fn kernel(&mut self, k: &Kernel) {
        let _ = write!(self.out, "kernel {}", k.name.name);
        self.span(k.span);
        self.out.push('\n');
        for p in &k.params {
            self.out.push_str("  param ");
            self.param(p);
            self.out.push('\n');
        }
        self.out.push_str("  grid");
        self.span(k.grid_span);
        for e in &k.grid {
            self.out.push(' ');
            self.expr(e);
        }
        self.out.push('\n');
        if let Some(t) = &k.tune {
            self.out.push_str("  tune");
            self.span(t.span);
            self.out.push('\n');
            for e in &t.entries {
                let _ = write!(self.out, "    {}", e.name.name);
                self.span(e.span);
                self.out.push(':');
                for v in &e.values {
                    self.out.push(' ');
                    self.expr(v);
                }
                self.out.push('\n');
            }
        }
        self.out.push_str("  body");
        self.block(&k.body, 2);
        self.out.push('\n');
    }

    fn param(&mut self, p: &Param) {
        let _ = write!(self.out, "{}", p.name.name);
        match &p.kind {
            ParamKind::Tensor {
                mutable,
                dtype,
                dims,
            } => {
                let m = if *mutable { "&mut " } else { "&" };
                let _ = write!(self.out, ": {m}{}[", dtype.name);
                self.list(dims);
                self.out.push(']');
            }
            ParamKind::Scalar { ty } => {
                let _ = write!(self.out, ": {}", ty.name);
            }
            ParamKind::Const { ty, default } => {
                let _ = write!(self.out, ": const {}", ty.name);
                if let Some(d) = default {
                    self.out.push_str(" = ");
                    self.expr(d);
                }
            }
        }
        self.span(p.span);
    }

    fn list(&mut self, items: &[Expr]) {
        for (i, e) in items.iter().enumerate() {
            if i > 0 {
                self.out.push(' ');
            }
            self.expr(e);
        }
    }

    fn indent(&mut self, level: usize) {
        self.out.push('\n');
        for _ in 0..level {
            self.out.push_str("  ");
        }
    }

    fn block(&mut self, b: &BlockExpr, level: usize) {
        self.out.push('{');
        self.span(b.span);
        for s in &b.stmts {
            self.indent(level + 1);
            self.stmt(s, level + 1);
        }
        if let Some(t) = &b.tail {
            self.indent(level + 1);
            self.out.push_str("tail ");
            self.expr_at(t, level + 1);
        }
        self.indent(level);
        self.out.push('}');
    }

    fn stmt(&mut self, s: &Stmt, level: usize) {
        match s {
            Stmt::Let {
                mutable,
                name,
                ty,
                value,
                span,
            } => {
                let m = if *mutable { "mut " } else { "" };
                let _ = write!(self.out, "let {m}{}", name.name);
                self.span(name.span);
                if let Some(ty) = ty {
                    self.out.push_str(": ");
                    match ty {
                        TypeExpr::Scalar(d) => self.out.push_str(&d.name),
                        TypeExpr::Tile { dtype, shape, .. } => {
                            let _ = write!(self.out, "tile<{}, [", dtype.name);
                            self.list(shape);
                            self.out.push_str("]>");
                        }
                    }
                    self.span(ty.span());
                }
                self.out.push_str(" = ");
                self.expr_at(value, level);
                self.span(*span);
            }
            Stmt::Assign {
                target,
                op,
                value,
                span,
            } => {
                let op = op.map_or("", |o| o.symbol());
                let _ = write!(self.out, "{} {op}= ", target.name);
                self.expr_at(value, level);
                self.span(*span);
            }
            Stmt::For {
                var,
                start,
                end,
                step,
                body,
                span,
            } => {
                let _ = write!(self.out, "for {} in ", var.name);
                self.expr(start);
                self.out.push_str(" .. ");
                self.expr(end);
                if let Some(step) = step {
                    self.out.push_str(" step ");
                    self.expr(step);
                }
                self.span(*span);
                self.out.push(' ');
                self.block(body, level);
            }
            Stmt::Expr { expr, span } => {
                self.out.push_str("expr ");
                self.expr_at(expr, level);
                self.span(*span);
            }
        }
    }

    fn expr(&mut self, e: &Expr) {
        self.expr_at(e, 0);
    }

    fn expr_at(&mut self, e: &Expr, level: usize) {
        match &e.kind {
            ExprKind::Int(v) => {
                let _ = write!(self.out, "{v}");
            }
            ExprKind::Float(v) => {
                let _ = write!(self.out, "{v:?}");
            }
            ExprKind::Bool(v) => {
                let _ = write!(self.out, "{v}");
            }
            ExprKind::Name(n) => self.out.push_str(&n.name),
            ExprKind::DType(d) => {
                let _ = write!(self.out, "<{}>", d.name);
            }
            ExprKind::Unary { op, operand } => {
                let op = match op {
                    UnOp::Neg => "-",
                    UnOp::Not => "!",
                };
                let _ = write!(self.out, "({op} ");
                self.expr_at(operand, level);
                self.out.push(')');
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let _ = write!(self.out, "({} ", op.symbol());
                self.expr_at(lhs, level);
                self.out.push(' ');
                self.expr_at(rhs, level);
                self.out.push(')');
            }
            ExprKind::Call { callee, args } => {
                let _ = write!(self.out, "{}", callee.name);
                self.span(callee.span);
                self.out.push('(');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    if let Some(n) = &a.name {
                        let _ = write!(self.out, "{}=", n.name);
                    }
                    self.expr_at(&a.value, level);
                }
                self.out.push(')');
            }
            ExprKind::Slice { base, dims } => {
                let _ = write!(self.out, "{}[", base.name);
                for (i, d) in dims.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    match d {
                        SliceDim::Index(e) => self.expr_at(e, level),
                        SliceDim::Range { start, len, span } => {
                            self.expr_at(start, level);
                            self.out.push_str(" ..+ ");
                            self.expr_at(len, level);
                            self.span(*span);
                        }
                        SliceDim::Full(span) => {
                            self.out.push_str("..");
                            self.span(*span);
                        }
                    }
                }
                self.out.push(']');
            }
            ExprKind::If {
                cond,
                then_block,
                else_block,
            } => {
                self.out.push_str("if ");
                self.expr_at(cond, level);
                self.out.push(' ');
                self.block(then_block, level);
                if let Some(b) = else_block {
                    self.out.push_str(" else ");
                    self.block(b, level);
                }
            }
            ExprKind::Block(b) => self.block(b, level),
            ExprKind::List(items) => {
                self.out.push('[');
                self.list(items);
                self.out.push(']');
            }
        }
        self.span(e.span);
    }
}

fn print(module: &Module, spans: bool) -> String {
    let mut p = Printer {
        out: String::new(),
        spans,
    };
    p.module(module);
    p.out
}

/// Parses `src` (which must parse) and returns its tree, with spans.
fn tree(src: &str) -> String {
    match parse(src) {
        Ok(m) => print(&m, true),
        Err(d) => panic!("unexpected errors:\n{}", render("test.tile", src, &d)),
    }
}

/// Wraps statements in a minimal kernel.
fn in_kernel(body: &str) -> String {
    format!("kernel k() grid [1] {{\n{body}\n}}\n")
}

/// Parses `src` (which must fail) and returns the rendered diagnostics.
fn errors(src: &str) -> String {
    match parse(src) {
        Ok(m) => panic!("expected errors, got:\n{}", print(&m, false)),
        Err(d) => render("test.tile", src, &d),
    }
}

macro_rules! check {
    ($name:ident, $src:expr) => {
        #[test]
        fn $name() {
            let src: String = $src.into();
            insta::assert_snapshot!(tree(&src));
        }
    };
}

macro_rules! check_error {
    ($name:ident, $src:expr) => {
        #[test]
        fn $name() {
            let src: String = $src.into();
            insta::assert_snapshot!(errors(&src));
        }
    };
}

// ------------------------------------------------------------------ whole programs

#[test]
fn attention_example() {
    let module = match parse(ATTENTION) {
        Ok(m) => m,
        Err(d) => panic!("{}", render("attention.tile", ATTENTION, &d)),
    };
    insta::assert_snapshot!(print(&module, false));
}

check!(
    empty_kernel_and_two_kernels,
    "kernel a() grid [1] {}\nkernel b(x: f32,) grid [1, 2, 3] { }"
);

// ------------------------------------------------------------------ items

check!(
    params_of_every_kind,
    "kernel k(q: &f16[B, H * 2], out: &mut bf16[S], s: f32, const N: i32 = 64, const C: bool) grid [cdiv(S, N)] {}"
);
check!(
    dtype_names_in_type_positions,
    "kernel k(q: &DT[S], s: DT, const DT: dtype = f16, const ACC: dtype = DT) grid [1] {
        let a: tile<DT, [4]> = zeros([4], ACC) as DT;
        let b: DT = cast(a, DT);
    }"
);
check!(
    tune_section,
    "kernel k(const BM: i32 = 64) grid [1] tune { BM: [64, 128], num_warps: [4, 8], } {}"
);

// ------------------------------------------------------------------ statements

check!(
    let_forms,
    in_kernel("let a = 1; let mut b = 2.5; let c: f32 = 1e-3; let d: tile<f16, [M, 2]> = zeros([M, 2], f16);")
);
check!(
    assignments,
    in_kernel("x = 1; x += 2; x -= 3; x *= 4; x /= 5;")
);
check!(
    for_loops_and_range_forms,
    in_kernel("for i in range(n) { } for i in range(1, n) { x += i; } for i in range(0, n, 2) { }")
);
check!(
    if_statements_need_no_semicolon,
    in_kernel("if c { x = 1; } if c { } else { x = 2; } store(o[0], x); { let y = 1; } ;")
);
check!(
    else_if_chain,
    in_kernel("if a { x = 1; } else if b { x = 2; } else { x = 3; } if a { } else if b { }")
);
check!(
    block_tails,
    in_kernel("let e = if c { 1 } else { 2 }; let f = { let t = 1; t * 2 }; if c { 1 } else { 2 }")
);
check!(
    if_without_else_at_end_is_a_statement,
    in_kernel("if c { store(o[0], 1.0); }")
);

// ------------------------------------------------------------------ expressions

check!(
    precedence,
    in_kernel("let a = 1 + 2 * 3 - 4 / 5 % 6; let b = a < 1 || b >= 2 && !c; let c = -x * y; let d = (a + b) * c;")
);
check!(
    casts_desugar_to_calls,
    in_kernel(
        "let a = x as f16; let b = -x as f32 * 2; let c = x as f32 as bf16; let d = cast(x, i64);"
    )
);
check!(
    all_comparison_operators,
    in_kernel("let a = x == y; let b = x != y; let c = x < y; let d = x <= y; let e = x > y; let f = x >= y;")
);
check!(
    calls_with_named_args_and_lists,
    in_kernel("let a = load(q[b, s ..+ 64, ..], fill = -inf); let m = max(s, axis = 1); let z = full([M, N], 0.0, f32); let e = f();")
);
check!(
    literals,
    in_kernel("let a = 0x1F; let b = 1_000_000; let c = 1.5e3; let d = 2E+2; let e = true; let f = false; let g = 9223372036854775807;")
);
check!(
    comments,
    in_kernel("// line comment\nlet a = /* inline */ 1; /* multi\nline */ let b = 2; // trailing")
);
check!(
    expression_statement_and_tail,
    in_kernel("store(o[0], 1); -x")
);

// ------------------------------------------------------------------ lexical errors

check_error!(error_string_literal, in_kernel("let s = \"hello\";"));
check_error!(
    error_unknown_characters,
    in_kernel("let a = b ^ c; let d = e @ f;")
);
check_error!(
    error_unterminated_comment,
    in_kernel("let a = 1; /* never closed, it's \"text\" @")
);
check_error!(
    error_int_literal_too_large,
    in_kernel("let a = 9223372036854775808;")
);
check_error!(error_float_without_fraction, in_kernel("let a = 2.;"));
check_error!(error_float_without_leading_digit, in_kernel("let a = .5;"));
check_error!(
    error_float_exponent_without_digits,
    in_kernel("let a = 1e-;")
);
check_error!(error_non_ascii, in_kernel("let ä = 1;"));

// ------------------------------------------------------------------ syntax errors

check_error!(error_missing_semicolon, in_kernel("let a = 1\nlet b = 2;"));
check_error!(error_chained_comparison, in_kernel("let a = x < y < z;"));
check_error!(error_assign_in_condition, in_kernel("if x = 1 { }"));
check_error!(
    error_dotdot_range_in_slice,
    in_kernel("let a = load(q[0 .. 4]);")
);
check_error!(error_python_slice, in_kernel("let a = load(q[0:4]);"));
check_error!(error_python_full_slice, in_kernel("let a = load(q[:, 0]);"));
check_error!(
    error_dotdot_with_length,
    in_kernel("let a = load(q[.. 4]);")
);
check_error!(error_keyword_as_name, in_kernel("let range = 1;"));
check_error!(
    error_unclosed_delimiter,
    "kernel k() grid [1] {\n  let a = f(1;\n"
);
check_error!(error_mismatched_delimiter, in_kernel("let a = f(1];"));
check_error!(error_unexpected_closing, "kernel k() grid [1] { } }");
check_error!(error_unexpected_eof, "kernel k() grid [1]");
check_error!(error_missing_expression, in_kernel("let a = ;"));
check_error!(error_unknown_type, in_kernel("let a: vec<f32, [4]> = x;"));
check_error!(
    error_range_too_many_args,
    in_kernel("for i in range(0, 1, 2, 3) { }")
);
check_error!(error_range_no_args, in_kernel("for i in range() { }"));
check_error!(error_statement_outside_kernel, "let a = 1;");
check_error!(
    error_nesting_too_deep,
    in_kernel(&format!("let a = {}1{};", "(".repeat(40), ")".repeat(40)))
);
check_error!(
    error_expression_too_long,
    in_kernel(&format!("let a = 1{};", " + 1".repeat(200)))
);
check!(
    slices_without_spaces,
    in_kernel("let a = load(q[0..+4, ..]); let b = load(q[i, 0x1_0..+N]);")
);
check_error!(error_hex_without_digits, in_kernel("let a = 0x_;"));
check_error!(
    error_recovery_reports_independent_mistakes,
    in_kernel("let a = 1 2;\nlet b = f(1, 2 3);\nlet c = 3;\nlet d = x < y < z;")
);
check_error!(
    error_recovery_stops_after_unbalanced_skip,
    in_kernel("if x = 1 { y = 2; } z = 3;\nlet w = 1 2;")
);
