//! `tilec run --gpu` and `tilec bench` without a GPU: a clear error and exit code 1, never a
//! panic. `TILEC_NO_GPU=1` makes the runtime act as if no driver were installed, so this
//! holds on GPU machines too.

use std::path::Path;
use std::process::Command;

fn tilec_without_gpu(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tilec"))
        .args(args)
        .env("TILEC_NO_GPU", "1")
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .expect("the tilec binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn gpu_commands_without_a_gpu_exit_1_with_a_clear_error() {
    let cases: [&[&str]; 2] = [
        &[
            "run",
            "dsl-examples/vector_add.tile",
            "--gpu",
            "--shape",
            "N=10",
        ],
        &[
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
        ],
    ];
    for args in cases {
        let (code, stderr) = tilec_without_gpu(args);
        assert_eq!(code, 1, "tilec {args:?}: {stderr}");
        assert!(
            stderr.contains("needs an NVIDIA GPU: no CUDA driver found"),
            "tilec {args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "tilec {args:?}: {stderr}");
    }
}
