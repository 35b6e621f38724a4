//! The autotuning commands without a GPU: `tilec tune-space` prints a kernel's `tune` section
//! as JSON (snapshots), and `tilec bench --autotune` exits 1 with the clear no-GPU error.

use std::path::Path;
use std::process::Command;

/// Runs `tilec ARGS` from the workspace root with the GPU hidden: (exit code, stdout, stderr).
fn tilec(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tilec"))
        .args(args)
        .env("TILEC_NO_GPU", "1")
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .expect("the tilec binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Checks the exit code and snapshots the command line and its output.
fn check(name: &str, args: &[&str], expected_code: i32) {
    let (code, stdout, stderr) = tilec(args);
    let text = format!(
        "$ tilec {}\nexit code: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}",
        args.join(" ")
    );
    assert_eq!(code, expected_code, "{text}");
    insta::assert_snapshot!(name, text);
}

#[test]
fn tune_space_of_attention() {
    check(
        "tune_space_attention",
        &[
            "tune-space",
            "dsl-examples/attention.tile",
            "-D",
            "HEAD_DIM=128",
        ],
        0,
    );
}

#[test]
fn tune_space_of_vector_add() {
    check(
        "tune_space_vector_add",
        &["tune-space", "dsl-examples/vector_add.tile"],
        0,
    );
}

#[test]
fn tune_space_of_a_bad_override_is_a_diagnostic() {
    check(
        "tune_space_bad_override",
        &["tune-space", "dsl-examples/attention.tile", "-D", "BLOCK=3"],
        1,
    );
}

/// The JSON is what bench/attention.py reads: axes with names and values, in source order.
#[test]
fn tune_space_json_has_the_documented_shape() {
    let (code, stdout, stderr) = tilec(&["tune-space", "dsl-examples/matmul.tile"]);
    assert_eq!(code, 0, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON value");
    assert_eq!(json["kernel"], "matmul");
    let names: Vec<&str> = json["axes"]
        .as_array()
        .expect("axes is a list")
        .iter()
        .map(|a| a["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(
        names,
        ["BLOCK_M", "BLOCK_N", "BLOCK_K", "num_warps", "num_stages"]
    );
    assert_eq!(json["axes"][4]["values"], serde_json::json!([2, 3, 4]));
}

#[test]
fn bench_autotune_without_a_gpu_exits_1_with_a_clear_error() {
    let (code, _, stderr) = tilec(&[
        "bench",
        "dsl-examples/attention.tile",
        "--shape",
        "B=1",
        "--shape",
        "H=1",
        "--shape",
        "S=64",
        "--arg",
        "scale=0.125",
        "--autotune",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("`tilec bench` needs an NVIDIA GPU: no CUDA driver found"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
