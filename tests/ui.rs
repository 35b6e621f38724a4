//! UI tests of the front end.
//!
//! * `tests/ui/*.tile`: broken programs, one kind of error each (several independent errors in
//!   a few). Each must produce at least one diagnostic; the full rendered text is snapshotted
//!   (`tests/snapshots/ui__<name>.snap`). A first line `// overrides: NAME=VALUE, ..` passes
//!   `-D` overrides; `// kernel: NAME` lowers only that kernel (else the whole module is
//!   checked, as `tilec check` does).
//! * `tests/ui/valid/*.tile`: programs that must compile. Their IR text is snapshotted, and
//!   checked by the verifier and against the lowering invariants: element-wise operands of
//!   identical types, power-of-two extents, `for`/`if` block parameters and yields matching
//!   their results.

use std::path::{Path, PathBuf};
use tilec::diagnostics::render;
use tilec::ir::{Block, ConstValue, InstData, Kernel, Type};
use tilec::sema::{check_module, lower_kernel, ConstOverrides};

fn ui_dir() -> PathBuf {
    tilec_tests::workspace_root().join("tests/ui")
}

fn tile_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("tests/ui exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tile"))
        .collect();
    files.sort();
    files
}

/// `// overrides: A=1, B=true, C=1.5, D=bf16` on the first line.
fn overrides_of(source: &str) -> ConstOverrides {
    let mut values = Vec::new();
    if let Some(rest) = source
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("// overrides:"))
    {
        for item in rest.split(',') {
            let Some((name, value)) = item.trim().split_once('=') else {
                continue;
            };
            let value = if let Some(d) = tilec::sema::types::source_dtype(value) {
                ConstValue::DType(d)
            } else if let Ok(i) = value.parse::<i64>() {
                ConstValue::Int(i)
            } else if let Ok(b) = value.parse::<bool>() {
                ConstValue::Bool(b)
            } else {
                ConstValue::Float(value.parse().expect("override value"))
            };
            values.push((name.to_string(), value));
        }
    }
    ConstOverrides { values }
}

/// Runs the front end on a broken program and renders its diagnostics.
fn check(path: &Path) -> String {
    let source = std::fs::read_to_string(path).expect("readable test file");
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
    let kernel = source
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("// kernel:"))
        .map(str::trim);
    let diags = match (tilec::syntax::parse(&source), kernel) {
        (Err(d), _) => d,
        (Ok(module), None) => check_module(&module, &overrides_of(&source)),
        (Ok(module), Some(k)) => lower_kernel(&module, Some(k), &overrides_of(&source))
            .err()
            .unwrap_or_default(),
    };
    assert!(
        !diags.is_empty(),
        "{name} is a UI test but compiles without diagnostics"
    );
    render(name, &source, &diags)
}

#[test]
fn broken_programs() {
    let files = tile_files(&ui_dir());
    assert!(files.len() >= 30, "expected at least 30 UI tests");
    for path in files {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("?")
            .to_string();
        insta::assert_snapshot!(stem, check(&path));
    }
}

/// Lowers a valid program, checks the invariants and the verifier, returns its IR text.
fn compile(path: &Path) -> String {
    let source = std::fs::read_to_string(path).expect("readable test file");
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
    let module =
        tilec::syntax::parse(&source).unwrap_or_else(|d| panic!("{}", render(name, &source, &d)));
    let mut out = String::new();
    for k in &module.kernels {
        let lowered = lower_kernel(&module, Some(&k.name.name), &overrides_of(&source))
            .unwrap_or_else(|d| panic!("{}", render(name, &source, &d)));
        check_invariants(&lowered.ir);
        tilec::ir::verify::verify(&lowered.ir).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        out.push_str(&lowered.ir.to_string());
        for c in &lowered.const_params {
            out.push_str(&format!(
                "const_param {}: {} = {:?}\n",
                c.name, c.dtype, c.default
            ));
        }
        for t in &lowered.tune {
            let vals: Vec<String> = t.values.iter().map(|v| v.to_string()).collect();
            out.push_str(&format!("tune {}: [{}]\n", t.name, vals.join(", ")));
        }
        out.push('\n');
    }
    out
}

#[test]
fn valid_programs() {
    let files = tile_files(&ui_dir().join("valid"));
    assert!(!files.is_empty());
    for path in files {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("?")
            .to_string();
        insta::assert_snapshot!(format!("valid_{stem}"), compile(&path));
    }
}

/// The lowering invariants (the verifier's rules that sema is responsible for).
fn check_invariants(k: &Kernel) {
    let ty = |v| k.value_type(v).clone();
    let ok_block = |b: Block| {
        let insts = &k.blocks[b].insts;
        let last = insts.last().expect("blocks are not empty");
        assert!(
            k.insts[*last].is_terminator(),
            "{b} ends without a terminator"
        );
        for i in &insts[..insts.len() - 1] {
            assert!(!k.insts[*i].is_terminator(), "terminator inside {b}");
        }
    };
    ok_block(k.entry);
    k.walk_insts(k.entry, &mut |inst| {
        let data = &k.insts[inst];
        for r in k.inst_results(inst) {
            if let Type::Tile(t) = ty(*r) {
                assert!(
                    t.shape.iter().all(|d| d.is_power_of_two()) && !t.shape.is_empty(),
                    "{inst}: bad tile shape {:?}",
                    t.shape
                );
            }
        }
        match data {
            InstData::Binary { args, .. } | InstData::Cmp { args, .. } => {
                assert_eq!(ty(args[0]), ty(args[1]), "{inst}: operand types differ")
            }
            InstData::Select { args } => {
                assert_eq!(ty(args[1]), ty(args[2]), "{inst}: select operands");
                assert_eq!(ty(args[0]), ty(args[1]).with_dtype(tilec::ir::DType::I1));
            }
            InstData::For { init, body, .. } => {
                let params = &k.blocks[*body].params;
                assert_eq!(params.len(), init.len() + 1, "{inst}: body params");
                for (i, (p, r)) in params[1..].iter().zip(k.inst_results(inst)).enumerate() {
                    assert_eq!(ty(*p), ty(init[i]));
                    assert_eq!(ty(*p), ty(*r));
                }
                check_yield(k, *body, k.inst_results(inst));
            }
            InstData::If {
                then_block,
                else_block,
                ..
            } => {
                check_yield(k, *then_block, k.inst_results(inst));
                check_yield(k, *else_block, k.inst_results(inst));
            }
            _ => {}
        }
        for child in data.child_blocks() {
            ok_block(child);
        }
    });
}

fn check_yield(k: &Kernel, b: Block, results: &[tilec::ir::Value]) {
    let last = *k.blocks[b].insts.last().expect("non-empty block");
    let InstData::Yield { args } = &k.insts[last] else {
        panic!("{b} does not end in yield");
    };
    assert_eq!(args.len(), results.len(), "{b}: yield count");
    for (a, r) in args.iter().zip(results) {
        assert_eq!(k.value_type(*a), k.value_type(*r), "{b}: yield type");
    }
}

/// Systematic mutations of every test program (each token deleted, doubled, replaced by its
/// neighbour, each number replaced by edge values): whatever still parses must lower to IR
/// or diagnostics, never panic.
#[test]
fn mutated_programs_never_panic() {
    let mut files = tile_files(&ui_dir());
    files.extend(tile_files(&ui_dir().join("valid")));
    let mut panics = Vec::new();
    let mut lowered = 0;
    for path in files {
        let source = std::fs::read_to_string(&path).expect("readable test file");
        let Ok(tokens) = tilec::syntax::lexer::tokenize(&source) else {
            continue;
        };
        let spans: Vec<(usize, usize)> = tokens.iter().map(|t| (t.0, t.2)).collect();
        let mut variants = Vec::new();
        for (i, &(s, e)) in spans.iter().enumerate() {
            let text = &source[s..e];
            variants.push(format!("{}{}", &source[..s], &source[e..]));
            variants.push(format!("{}{text} {text}{}", &source[..s], &source[e..]));
            if let Some(&(ns, ne)) = spans.get(i + 1) {
                variants.push(format!(
                    "{}{}{}",
                    &source[..s],
                    &source[ns..ne],
                    &source[e..]
                ));
            }
            if text.chars().all(|c| c.is_ascii_digit()) {
                for edge in [
                    "0",
                    "1",
                    "3",
                    "2147483648",
                    "1048576",
                    "9223372036854775807",
                ] {
                    variants.push(format!("{}{edge}{}", &source[..s], &source[e..]));
                }
            }
        }
        for v in variants {
            let Ok(module) = tilec::syntax::parse(&v) else {
                continue;
            };
            lowered += 1;
            let r = std::panic::catch_unwind(|| check_module(&module, &overrides_of(&v)));
            if r.is_err() {
                panics.push(v);
            }
        }
    }
    assert!(lowered > 1000, "too few mutants parsed: {lowered}");
    assert!(
        panics.is_empty(),
        "sema panicked on:\n{}",
        panics.join("\n-----\n")
    );
}

/// The deepest nesting the parser accepts lowers without overflowing the stack; deeper
/// nesting is a diagnostic.
#[test]
fn deep_nesting_does_not_overflow() {
    for depth in [28, 2000] {
        let expr = format!("{}1.0{}", "(".repeat(depth), ")".repeat(depth));
        let sum = vec!["1.0"; depth].join(" + ");
        let loops = format!(
            "{}let mut z = 0;{}",
            "for i in range(2) { ".repeat(depth),
            "}".repeat(depth)
        );
        for body in [format!("let x = {expr};"), format!("let y = {sum};"), loops] {
            let source = format!("kernel k(out: &mut f32[4]) grid [1] {{ {body} }}");
            match tilec::syntax::parse(&source) {
                Ok(module) => {
                    let _ = check_module(&module, &ConstOverrides::default());
                }
                Err(d) => assert!(depth > 28, "{}", render("deep.tile", &source, &d)),
            }
        }
    }
}
