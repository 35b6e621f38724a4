//! The IR text form and the verifier.
//!
//! * `tests/ir/*.tir`: valid kernels in canonical text. [`check`] reads, verifies and prints
//!   each file; the print must equal the file (whole-line `//` comments aside, since the
//!   printer writes none) and must read back to the same print.
//! * `tests/ir/invalid/*.tir`: one broken kernel per verifier invariant; the verifier's error
//!   list is snapshotted (`snapshots/ir_text__invalid__NAME.snap`, followed by the input).
//! * Kernels broken through the builder, in ways the text cannot express.
//! * Reader errors, and a fuzz test: truncated and mutated text never makes the reader, the
//!   verifier or the printer panic.

use proptest::prelude::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tilec::ir::parse::{parse_kernel, parse_module};
use tilec::ir::print::{print_kernel, print_module};
use tilec::ir::verify::verify;
use tilec::ir::{
    BinaryOp, CmpOp, DType, InstData, Kernel, Layout, ReduceOp, TensorType, Type, UnaryOp,
    ValueList,
};
use tilec_tests::workspace_root;

fn ir_dir() -> PathBuf {
    workspace_root().join("tests").join("ir")
}

/// The `.tir` files directly in `dir`, sorted.
fn tir_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "tir"))
        .collect();
    files.sort();
    files
}

/// Every `.tir` file, valid and invalid: the material the fuzz tests cut up.
fn all_tir_files() -> Vec<PathBuf> {
    let mut files = tir_files(&ir_dir());
    files.extend(tir_files(&ir_dir().join("invalid")));
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .expect("a file name")
        .to_string_lossy()
        .into_owned()
}

/// The text without its whole-line `//` comments.
fn strip_comment_lines(text: &str) -> String {
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Reads, verifies and prints the kernels of one canonical file; returns them.
fn check(path: &Path) -> Vec<Kernel> {
    let text = read(path);
    let name = path.display();
    let kernels = parse_module(&text).unwrap_or_else(|e| panic!("{name}:{e}"));
    assert!(!kernels.is_empty(), "{name}: no kernels");
    for kernel in &kernels {
        if let Err(errors) = verify(kernel) {
            let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!(
                "{name}: @{} does not verify:\n{}",
                kernel.name,
                list.join("\n")
            );
        }
    }
    let printed = print_module(&kernels);
    assert_eq!(
        printed,
        strip_comment_lines(&text),
        "{name}: the print differs from the (canonical) input"
    );
    let reread = parse_module(&printed).unwrap_or_else(|e| panic!("{name}, printed:{e}"));
    assert_eq!(
        print_module(&reread),
        printed,
        "{name}: print(parse(print)) changed"
    );
    kernels
}

#[test]
fn valid_kernels_round_trip() {
    let files = tir_files(&ir_dir());
    assert!(files.len() >= 8, "expected at least 8 files in tests/ir");
    for path in files {
        check(&path);
    }
}

/// Opcode names and layout kinds used anywhere in `kernel`.
fn collect_coverage(
    kernel: &Kernel,
    opcodes: &mut BTreeSet<String>,
    layouts: &mut BTreeSet<String>,
) {
    kernel.walk_insts(kernel.entry, &mut |inst| {
        opcodes.insert(kernel.insts[inst].opcode().to_string());
    });
    for (_, value) in kernel.values.iter() {
        let mut layout = value.ty.as_tile().and_then(|t| t.layout.as_ref());
        while let Some(l) = layout {
            let (kind, parent) = match l {
                Layout::Blocked(_) => ("blocked", None),
                Layout::Slice { parent, .. } => ("slice", Some(&**parent)),
                Layout::Mma(_) => ("mma", None),
                Layout::DotOperand { parent, .. } => ("dot_op", Some(&**parent)),
                Layout::Shared(_) => ("shared", None),
            };
            layouts.insert(kind.to_string());
            layout = parent;
        }
    }
}

/// Guards the corpus: it must keep covering every opcode and layout kind.
#[test]
fn valid_corpus_covers_every_opcode_and_layout() {
    let mut opcodes = BTreeSet::new();
    let mut layouts = BTreeSet::new();
    let mut kernel_count = 0;
    for path in tir_files(&ir_dir()) {
        for kernel in parse_module(&read(&path)).expect("valid corpus parses") {
            collect_coverage(&kernel, &mut opcodes, &mut layouts);
            kernel_count += 1;
        }
    }
    let mut expected: BTreeSet<String> = [
        "const",
        "program_id",
        "num_programs",
        "dim",
        "select",
        "cast",
        "splat",
        "broadcast",
        "expand_dims",
        "iota",
        "dot",
        "transpose",
        "load",
        "store",
        "convert_layout",
        "for",
        "if",
        "yield",
        "return",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let names = UnaryOp::ALL.iter().map(|op| op.name());
    let names = names.chain(BinaryOp::ALL.iter().map(|op| op.name()));
    let names = names.chain(CmpOp::ALL.iter().map(|op| op.name()));
    let names = names.chain(ReduceOp::ALL.iter().map(|op| op.name()));
    expected.extend(names.map(str::to_string));
    let missing: Vec<&String> = expected.difference(&opcodes).collect();
    assert!(
        missing.is_empty(),
        "opcodes missing from tests/ir: {missing:?}"
    );
    let all_layouts = ["blocked", "dot_op", "mma", "shared", "slice"];
    assert_eq!(layouts, all_layouts.iter().map(|s| s.to_string()).collect());
    assert!(
        kernel_count > tir_files(&ir_dir()).len(),
        "some file must hold several kernels"
    );
}

/// The verifier's errors for one kernel, one per line.
fn error_list(kernel: &Kernel) -> String {
    match verify(kernel) {
        Ok(()) => "verifies without errors".to_string(),
        Err(errors) => errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

#[test]
fn invalid_kernels_report_every_error() {
    let files = tir_files(&ir_dir().join("invalid"));
    assert!(files.len() >= 15, "expected at least 15 broken kernels");
    for path in files {
        let text = read(&path);
        let kernel = parse_kernel(&text).unwrap_or_else(|e| panic!("{}:{e}", path.display()));
        assert!(verify(&kernel).is_err(), "{} verifies", path.display());
        // Errors first, then the input they are about, so a snapshot reads on its own.
        let report = format!("{}\n\n---- input\n{text}", error_list(&kernel));
        insta::with_settings!({ omit_expression => true }, {
            insta::assert_snapshot!(format!("invalid__{}", file_stem(&path)), report);
        });
    }
}

/// A small valid kernel to break through the builder.
fn loop_kernel() -> Kernel {
    parse_kernel(
        "kernel @k(%out: &mut i32[16], %flag: i1)
            grid [1]
        {
            %c0 = const 0 : i32
            %c1 = const 1 : i32
            %s = for %i = %c0 to %c1 step %c1 iter(%acc = %c0) -> (i32) {
                %next = add %acc, %i : i32
                yield %next
            }
            if %flag {
                store %out[%c0], %s
                yield
            } else {
                yield
            }
            return
        }",
    )
    .expect("the loop kernel parses")
}

/// Breakage that the text form cannot express: shared and cyclic blocks, stale tables,
/// dangling handles, tensors made by instructions.
#[test]
fn builder_made_breakage() {
    let fine = loop_kernel();
    assert_eq!(verify(&fine), Ok(()));
    let entry_insts = fine.blocks[fine.entry].insts.clone();
    let (for_inst, if_inst) = (entry_insts[2], entry_insts[3]);
    let InstData::For { body, .. } = fine.insts[for_inst].clone() else {
        panic!("the third instruction is the loop")
    };
    let mut cases = Vec::new();

    // The if's then block is the loop body too.
    let mut k = fine.clone();
    if let InstData::If { then_block, .. } = &mut k.insts[if_inst] {
        *then_block = body;
    }
    cases.push(("block shared by two instructions", k));

    // The loop body holds the loop itself: a cycle.
    let mut k = fine.clone();
    k.blocks[body].insts.insert(0, for_inst);
    cases.push(("loop inside its own body", k));

    // The body's parent field and the instruction's block field are stale.
    let mut k = fine.clone();
    k.blocks[body].parent = Some(if_inst);
    k.inst_block[for_inst] = Some(body);
    cases.push(("stale parent and inst_block", k));

    // The induction variable is an f32 and a carried value is missing from the body.
    let mut k = fine.clone();
    let iv = k.blocks[body].params[0];
    k.values[iv].ty = Type::Scalar(DType::F32);
    let mut k2 = fine.clone();
    k2.blocks[body].params.truncate(1);
    cases.push(("f32 induction variable", k));
    cases.push(("missing body parameter", k2));

    // An operand that does not exist, and a value table that disagrees with the result list.
    let mut k = fine.clone();
    if let InstData::Yield { args } = &mut k.insts[*k.blocks[body].insts.last().expect("yield")] {
        *args = ValueList::from_slice(&[tilec::ir::Value::from_u32(999)]);
    }
    let c1 = k.results[entry_insts[1]][0];
    k.results[entry_insts[0]] = ValueList::from_slice(&[c1]);
    cases.push(("dangling operand and swapped results", k));

    // The kernel parameters and the entry block disagree; a dim makes a tensor.
    let mut k = fine.clone();
    k.blocks[k.entry].params.pop();
    let tensor = Type::Tensor(TensorType {
        dtype: DType::F32,
        dims: vec![tilec::ir::Dim::Sym(7)],
        mutable: false,
    });
    let out = k.params[0].value;
    let entry = k.entry;
    let dim = k.create_inst(
        InstData::Dim {
            tensor: out,
            dim: 0,
        },
        &[tensor],
    );
    k.blocks[entry].insts.insert(0, dim);
    k.inst_block[dim] = Some(entry);
    cases.push(("entry parameters and a tensor result", k));

    let report: Vec<String> = cases
        .iter()
        .map(|(what, kernel)| format!("== {what}\n{}\n", error_list(kernel)))
        .collect();
    insta::assert_snapshot!("builder_made_breakage", report.join("\n"));
}

/// Values with repeated source names print as `%n.1`, `%n.2`, avoiding names already taken
/// literally; parameters keep their names; unnamed values are numbered.
#[test]
fn repeated_names_are_disambiguated() {
    let mut k = Kernel::new("names");
    let x = k.add_param("x", Type::Scalar(DType::I32));
    k.grid = vec![tilec::ir::GridExpr::Const(1)];
    let entry = k.entry;
    let add = |k: &mut Kernel, name: Option<&str>| {
        let inst = k.append_inst(
            entry,
            InstData::Binary {
                op: BinaryOp::Add,
                args: [x, x],
            },
            &[Type::Scalar(DType::I32)],
        );
        let v = k.result(inst);
        if let Some(name) = name {
            k.set_name(v, name);
        }
    };
    for name in [
        Some("acc"),
        Some("acc.1"),
        None,
        Some("acc"),
        Some("x"),
        Some("acc"),
        Some("b c"),
        None,
    ] {
        add(&mut k, name);
    }
    k.append_inst(entry, InstData::Return, &[]);
    assert_eq!(verify(&k), Ok(()));
    let printed = print_kernel(&k);
    insta::assert_snapshot!("repeated_names", printed);
    let reread = parse_kernel(&printed).expect("the print reads back");
    assert_eq!(print_kernel(&reread), printed);
}

#[test]
fn comments_are_ignored() {
    let commented = "// a kernel
kernel @k() // trailing comment
    grid [1] // grid
{
    // nothing to do
    return // done
}
";
    let canonical = "kernel @k()\n    grid [1]\n{\n    return\n}\n";
    assert_eq!(
        print_kernel(&parse_kernel(commented).expect("parses")),
        canonical
    );
}

#[test]
fn unnamed_values_read_back_unnamed() {
    let k = parse_kernel("kernel @k(%n: i32)\n    grid [1]\n{\n    %7 = neg %n : i32\n    %x = neg %7 : i32\n    return\n}\n")
        .expect("parses");
    let names: Vec<Option<&str>> = k.values.values().map(|v| v.name.as_deref()).collect();
    assert_eq!(names, [Some("n"), None, Some("x")]);
    assert!(print_kernel(&k).contains("%0 = neg %n : i32\n    %x = neg %0 : i32"));
}

/// Reader errors: one line per case, `input => line:column: message`.
#[test]
fn reader_errors() {
    let header = "kernel @k(%n: i32, %t: &f32[N])\n    symbols [N]\n    grid [1]\n{\n";
    let bodies = [
        "    %a = add %n, %m : i32\n",
        "    %a = frobnicate %n : i32\n",
        "    %a = add %n, %n\n",
        "    add %n, %n : i32\n",
        "    %a = add %n, %n : i32\n    %a = add %n, %n : i32\n",
        "    %a = const 99999999999999999999 : i64\n",
        "    %a = load %t[%n ..+ 4294967296] fill 0.0 : tile<f32, [4]>\n",
        "    %a = load %t[%n] : f32\n",
        "    %a = iota axis 0 : tile<i32, [4], #striped<>>\n",
        "    %a = iota axis 0 : tile<i32, [4], #mma<2, wpc = [1, 1]>>\n",
        "    %a = iota axis 0 : tile<q8, [4]>\n",
        "    %a = const 1 : &f32[M]\n",
        "    %a, %b = for %i = %n to %n step %n iter(%c = %n) -> (i32) {\n        yield %c\n    }\n",
        "    %a = if %n -> (i32) {\n        yield %n\n    }\n",
        "    %a = neg %n : i32 $\n",
        "    %3x = neg %n : i32\n",
        "    %a = neg %n : i32\n",
    ];
    let mut report = Vec::new();
    for body in bodies {
        let text = format!("{header}{body}");
        let outcome = match parse_kernel(&text) {
            Ok(_) => "parses".to_string(),
            Err(e) => e.to_string(),
        };
        report.push(format!(
            "{} => {outcome}",
            body.trim_end().replace('\n', "⏎")
        ));
    }
    let others = [
        "kernel k() grid [1] { return }",
        "kernel @k(%x: &f32[M]) grid [1] { return }",
        "kernel @k() grid [M] { return }",
        "kernel @k() grid [1.5] { return }",
        "kernel @k() grid [(((1] { return }",
        "kernel @k() grid [1] { return } kernel @j() grid [1] { return }",
        "",
    ];
    for text in others {
        let outcome = match parse_kernel(text) {
            Ok(_) => "parses".to_string(),
            Err(e) => e.to_string(),
        };
        report.push(format!("{text} => {outcome}"));
    }
    insta::assert_snapshot!("reader_errors", report.join("\n"));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let depth = 10_000;
    let grid = format!(
        "kernel @k() grid [{}1{}] {{ return }}",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    assert!(parse_kernel(&grid).unwrap_err().message.contains("nesting"));
    let layout = format!(
        "kernel @k() grid [1] {{ %a = iota axis 0 : tile<i32, [4], {}#mma<v2, wpc = [1, 1]>{}> return }}",
        "#slice<dim = 0, ".repeat(depth),
        ">".repeat(depth)
    );
    assert!(parse_kernel(&layout)
        .unwrap_err()
        .message
        .contains("nesting"));
    let blocks = format!(
        "kernel @k(%c: i1) grid [1] {{ {} return }}",
        "if %c { ".repeat(depth)
    );
    assert!(parse_kernel(&blocks)
        .unwrap_err()
        .message
        .contains("nesting"));
}

/// Reads `text`; whatever it gives must verify, print and re-read without panicking, and a
/// print must read back to the same print.
fn read_without_panic(text: &str) {
    let Ok(kernels) = parse_module(text) else {
        return;
    };
    for kernel in &kernels {
        let _ = verify(kernel);
    }
    let printed = print_module(&kernels);
    let reread = parse_module(&printed)
        .unwrap_or_else(|e| panic!("the print of read text does not read back: {e}\n{printed}"));
    assert_eq!(print_module(&reread), printed);
}

#[test]
fn truncated_text_never_panics() {
    for path in all_tir_files() {
        let text = read(&path);
        for (cut, _) in text.char_indices().step_by(3) {
            read_without_panic(&text[..cut]);
        }
    }
}

/// Pieces of IR text that mutations insert.
const FRAGMENTS: &[&str] = &[
    "%",
    "%0",
    "%x",
    "@",
    "#",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "<",
    ">",
    ",",
    ":",
    "=",
    "->",
    "..+",
    "-",
    "1",
    "0",
    "4294967296",
    "1e999",
    "nan",
    "tile<",
    "#slice<dim = 0, ",
    "yield",
    "return",
    "for",
    "if",
    "else",
    "\n",
    " ",
    "//",
    "é",
    "axis",
    "fill",
    "i1",
    "&mut ",
];

#[derive(Clone, Debug)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, fragment: usize },
    Duplicate { at: usize, len: usize },
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1usize..20).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), 0..FRAGMENTS.len())
            .prop_map(|(at, fragment)| Edit::Insert { at, fragment }),
        (any::<usize>(), 1usize..60).prop_map(|(at, len)| Edit::Duplicate { at, len }),
    ]
}

/// The byte offset of char boundary number `at % (chars + 1)`.
fn boundary(text: &str, at: usize) -> usize {
    let count = text.chars().count() + 1;
    text.char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .nth(at % count)
        .unwrap_or(text.len())
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut out = text.to_string();
    match *edit {
        Edit::Delete { at, len } => {
            let start = boundary(text, at);
            let end = boundary(&text[start..], len) + start;
            let end = end.min(text.len()).max(start);
            out.replace_range(start..end, "");
        }
        Edit::Insert { at, fragment } => out.insert_str(boundary(text, at), FRAGMENTS[fragment]),
        Edit::Duplicate { at, len } => {
            let start = boundary(text, at);
            let end = (boundary(&text[start..], len) + start).min(text.len());
            let piece = text[start..end].to_string();
            out.insert_str(end, &piece);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_text_never_panics(
        file in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit_strategy(), 1..6),
    ) {
        let files = all_tir_files();
        let mut text = read(&files[file.index(files.len())]);
        for edit in &edits {
            text = apply(&text, edit);
        }
        read_without_panic(&text);
    }
}

/// A way to damage a kernel's tables; indices wrap around a little past each table's end, so
/// dangling handles occur too.
#[derive(Clone, Debug)]
enum Damage {
    Operand { inst: u32, value: u32 },
    InsertInst { inst: u32, block: u32, at: usize },
    RemoveInst { block: u32, at: usize },
    ChildBlock { inst: u32, block: u32 },
    ValueType { value: u32, ty: usize },
    Result { inst: u32, value: u32 },
    BlockParam { block: u32, value: u32 },
}

fn damage_strategy() -> impl Strategy<Value = Damage> {
    let n = any::<u32>();
    prop_oneof![
        (n, n).prop_map(|(inst, value)| Damage::Operand { inst, value }),
        (n, n, any::<usize>()).prop_map(|(inst, block, at)| Damage::InsertInst { inst, block, at }),
        (n, any::<usize>()).prop_map(|(block, at)| Damage::RemoveInst { block, at }),
        (n, n).prop_map(|(inst, block)| Damage::ChildBlock { inst, block }),
        (n, any::<usize>()).prop_map(|(value, ty)| Damage::ValueType { value, ty }),
        (n, n).prop_map(|(inst, value)| Damage::Result { inst, value }),
        (n, n).prop_map(|(block, value)| Damage::BlockParam { block, value }),
    ]
}

/// Applies `d`; true if it surely breaks an intact kernel (a second placement of an
/// instruction, an extra block parameter or result), false if it may be harmless.
fn damage(k: &mut Kernel, d: &Damage) -> bool {
    use tilec::ir::{Block, Inst, Value};
    let wrap = |x: u32, len: usize| x % (len as u32 + 2);
    let inst = |x: u32, k: &Kernel| Inst::from_u32(wrap(x, k.insts.len()));
    let block = |x: u32, k: &Kernel| Block::from_u32(wrap(x, k.blocks.len()));
    let value = |x: u32, k: &Kernel| Value::from_u32(wrap(x, k.values.len()));
    match *d {
        Damage::Operand { inst: i, value: v } => {
            let (i, v) = (inst(i, k), value(v, k));
            if let Some(data) = k.insts.get_mut(i) {
                let mut first = true;
                data.map_args(|old| if std::mem::take(&mut first) { v } else { old });
            }
        }
        Damage::InsertInst {
            inst: i,
            block: b,
            at,
        } => {
            let (i, b) = (inst(i, k), block(b, k));
            if let Some(data) = k.blocks.get_mut(b) {
                let at = at % (data.insts.len() + 1);
                data.insts.insert(at, i);
                return true;
            }
        }
        Damage::RemoveInst { block: b, at } => {
            let b = block(b, k);
            if let Some(data) = k.blocks.get_mut(b) {
                if !data.insts.is_empty() {
                    let at = at % data.insts.len();
                    data.insts.remove(at);
                }
            }
        }
        Damage::ChildBlock { inst: i, block: b } => {
            let (i, b) = (inst(i, k), block(b, k));
            match k.insts.get_mut(i) {
                Some(InstData::For { body, .. }) => *body = b,
                Some(InstData::If { else_block, .. }) => *else_block = b,
                _ => {}
            }
        }
        Damage::ValueType { value: v, ty } => {
            let v = value(v, k);
            let types = [
                Type::Scalar(DType::I32),
                Type::Scalar(DType::F32),
                Type::tile(DType::F32, vec![64]),
                Type::tile(DType::I1, vec![3, 0]),
                Type::Tensor(TensorType {
                    dtype: DType::F16,
                    dims: vec![tilec::ir::Dim::Sym(9)],
                    mutable: true,
                }),
            ];
            if let Some(data) = k.values.get_mut(v) {
                data.ty = types[ty % types.len()].clone();
            }
        }
        Damage::Result { inst: i, value: v } => {
            let (i, v) = (inst(i, k), value(v, k));
            if k.insts.is_valid(i) {
                k.results[i].push(v);
                return true;
            }
        }
        Damage::BlockParam { block: b, value: v } => {
            let (b, v) = (block(b, k), value(v, k));
            if let Some(data) = k.blocks.get_mut(b) {
                data.params.push(v);
                return true;
            }
        }
    }
    false
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// The verifier and the printer survive (and terminate on) kernels whose tables are
    /// inconsistent, as a buggy pass might leave them; the verifier must notice.
    #[test]
    fn damaged_tables_never_panic(
        file in any::<prop::sample::Index>(),
        damages in prop::collection::vec(damage_strategy(), 1..4),
    ) {
        let files = tir_files(&ir_dir());
        let mut kernel = parse_module(&read(&files[file.index(files.len())]))
            .expect("the valid corpus parses")
            .remove(0);
        for (i, d) in damages.iter().enumerate() {
            let surely_broken = damage(&mut kernel, d);
            let _ = print_kernel(&kernel);
            let verdict = verify(&kernel);
            // Later damage may repair earlier damage, so only the first is judged.
            if i == 0 && surely_broken {
                prop_assert!(verdict.is_err(), "{d:?} went unnoticed");
            }
        }
    }
}
