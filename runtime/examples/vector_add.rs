//! Compiles `dsl-examples/vector_add.tile`, adds two vectors on the GPU, checks the result.
//!
//! Run with `cargo run -p tilec-runtime --example vector_add [N]`. Without a GPU it prints a
//! notice and exits successfully.

use tilec::ir::DType;
use tilec_runtime::verify::{random_tensor, to_f64, Rng};
use tilec_runtime::{Arg, CompileOptions, Device, DeviceTensor, Kernel, RuntimeError, Source};

fn main() -> Result<(), RuntimeError> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1 << 20);

    // 1. A device and a stream. No driver or no GPU is a typed error, not a crash.
    let device = match Device::new(0) {
        Ok(d) => d,
        Err(e @ (RuntimeError::NoDriver | RuntimeError::NoDevice { .. })) => {
            println!("vector_add example: no GPU here ({e}); nothing to do.");
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let stream = device.new_stream()?;

    // 2. Compile (or fetch from ~/.cache/tilec) and load the kernel. Consts could be set here:
    //    &[("BLOCK".into(), ConstValue::Int(512))].
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../dsl-examples/vector_add.tile"
    );
    let kernel = Kernel::compile(
        Source::file(path),
        Some("vector_add"),
        &[],
        &CompileOptions::default(),
    )?;

    // 3. Inputs on the device; the output poisoned so unwritten elements would show.
    let mut rng = Rng::new(42);
    let (x_host, y_host) = (
        random_tensor(&mut rng, DType::F32, &[n]),
        random_tensor(&mut rng, DType::F32, &[n]),
    );
    let x = DeviceTensor::from_host(&stream, &x_host)?;
    let y = DeviceTensor::from_host(&stream, &y_host)?;
    let out = DeviceTensor::uninit(&device, DType::F32, &[n])?;
    out.fill_poison(&stream)?;

    // 4. Launch: arguments are checked against the kernel's parameters first (dtypes, shapes,
    //    the shared size N, alignment); the grid cdiv(N, BLOCK) comes from the kernel.
    kernel.launch(
        &stream,
        &[Arg::Tensor(&x), Arg::Tensor(&y), Arg::Tensor(&out)],
    )?;

    // 5. Back to the host (waits for the launch) and check.
    let got = to_f64(&out.to_host(&stream)?);
    let (xs, ys) = (to_f64(&x_host), to_f64(&y_host));
    let wrong = (0..n)
        .filter(|&i| (got[i] - (xs[i] + ys[i]) as f32 as f64).abs() > 0.0)
        .count();
    println!(
        "vector_add on {}: {n} elements, {wrong} wrong",
        device.name()?
    );
    if wrong > 0 {
        std::process::exit(1);
    }
    Ok(())
}
