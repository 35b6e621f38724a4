//! The `tilec` binary end to end: each case is a command line, its expected exit code, and a
//! snapshot of what it printed (stdout, then stderr).

use std::path::Path;
use std::process::Command;

/// Runs `tilec ARGS` from the workspace root; checks the exit code and snapshots the output.
fn check(name: &str, args: &[&str], expected_code: i32) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(env!("CARGO_BIN_EXE_tilec"))
        .args(args)
        .current_dir(&root)
        .output()
        .expect("the tilec binary runs");
    let text = format!(
        "$ tilec {}\nexit code: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(expected_code), "{text}");
    insta::assert_snapshot!(name, text);
}

#[test]
fn check_ok() {
    check("check_ok", &["check", "dsl-examples/attention.tile"], 0);
}

#[test]
fn check_error_exits_1() {
    check("check_error", &["check", "tests/ui/unknown_name.tile"], 1);
}

#[test]
fn missing_file_exits_1() {
    check("missing_file", &["check", "no/such/file.tile"], 1);
}

#[test]
fn usage_error_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_tilec"))
        .args(["build", "x.tile", "--emit", "nonsense"])
        .output()
        .expect("the tilec binary runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_define_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_tilec"))
        .args(["check", "dsl-examples/attention.tile", "-D", "BLOCK_M"])
        .output()
        .expect("the tilec binary runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn unknown_const_override_exits_1() {
    check(
        "unknown_override",
        &["check", "dsl-examples/attention.tile", "-D", "BLOCK_Q=64"],
        1,
    );
}

#[test]
fn emit_ir() {
    check(
        "emit_ir_vector_add",
        &["build", "dsl-examples/vector_add.tile", "--emit", "ir"],
        0,
    );
}

#[test]
fn run_interp_vector_add() {
    check(
        "run_interp_vector_add",
        &[
            "run",
            "dsl-examples/vector_add.tile",
            "--interp",
            "--shape",
            "N=1000",
        ],
        0,
    );
}

#[test]
fn run_interp_missing_shape_exits_1() {
    check(
        "run_missing_shape",
        &["run", "dsl-examples/vector_add.tile", "--interp"],
        1,
    );
}

/// Every broken program of the UI corpus: `tilec check` exits 1 and prints a diagnostic with a
/// labelled source span (miette's `╭─[file:line:col]` frame), never a panic.
#[test]
fn every_ui_program_fails_check_with_a_span() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files: Vec<_> = std::fs::read_dir(root.join("tests/ui"))
        .expect("tests/ui exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tile"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 30,
        "the UI corpus has {} programs",
        files.len()
    );
    for file in files {
        let source = std::fs::read_to_string(&file).expect("readable");
        let mut args = vec!["check".to_string(), file.display().to_string()];
        // `// kernel: NAME` selects one kernel, which only `build` does.
        if let Some(name) = source
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("// kernel:"))
        {
            args = [
                "build",
                &file.display().to_string(),
                "--emit",
                "ir",
                "--kernel",
                name.trim(),
            ]
            .map(String::from)
            .to_vec();
        }
        // `// overrides: A=1, B=2` on the first line become -D options, as in tests/ui.rs.
        if let Some(rest) = source
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("// overrides:"))
        {
            for item in rest.split(',') {
                args.push("-D".into());
                args.push(item.trim().to_string());
            }
        }
        let out = Command::new(env!("CARGO_BIN_EXE_tilec"))
            .args(&args)
            .current_dir(&root)
            .output()
            .expect("the tilec binary runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", file.display());
        assert!(
            stderr.contains("╭─["),
            "{}: no labelled span in:\n{stderr}",
            file.display()
        );
        assert!(!stderr.contains("panicked"), "{}: {stderr}", file.display());
    }
}

#[test]
fn configuration_past_the_register_budget_is_a_diagnostic() {
    check(
        "register_budget",
        &[
            "build",
            "dsl-examples/attention.tile",
            "--emit",
            "ptx",
            "-o",
            "/dev/null",
            "-D",
            "BLOCK_M=128",
            "-D",
            "BLOCK_N=128",
        ],
        1,
    );
}

#[test]
fn emit_ptx_with_abi() {
    let dir = std::env::temp_dir().join(format!("tilec-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ptx = dir.join("k.ptx");
    let abi = dir.join("k.json");
    let out = Command::new(env!("CARGO_BIN_EXE_tilec"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .args([
            "build",
            "dsl-examples/attention.tile",
            "--emit",
            "ptx",
            "--target",
            "sm_80",
        ])
        .arg("-o")
        .arg(&ptx)
        .arg("--abi-json")
        .arg(&abi)
        .output()
        .expect("the tilec binary runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ptx = std::fs::read_to_string(&ptx).unwrap();
    assert!(ptx.contains(".target sm_80") && ptx.contains("mma.sync.aligned.m16n8k16"));
    let abi: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&abi).unwrap()).unwrap();
    assert_eq!(abi["entry"], "attention");
    assert_eq!(abi["target"], "sm_80");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_interp_attention_bf16_against_reference() {
    check(
        "run_attention_bf16",
        &[
            "run",
            "dsl-examples/attention.tile",
            "--interp",
            "--reference",
            "--shape",
            "B=1",
            "--shape",
            "H=2",
            "--shape",
            "S=77",
            "--arg",
            "scale=0.125",
            "-D",
            "DTYPE=bf16",
            "-D",
            "CAUSAL=true",
        ],
        0,
    );
}
