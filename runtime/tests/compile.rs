//! Every example through the runtime's compile path, without a GPU: PTX, ABI and launch
//! signature must agree with each other (the PTX entry declares exactly the parameters the
//! launcher packs), a cache entry must read back as written, and the launch checker must
//! accept correctly shaped arguments and compute the expected grid.

use tilec::ir::{ConstValue, DType};
use tilec_runtime::compile::{compile_artifacts, Artifacts, CompileOptions, Source};
use tilec_runtime::launch::{abi_param_sizes, plan_launch, ArgDesc, TensorArg};
use tilec_runtime::ptx_params::entry_param_sizes;
use tilec_runtime::signature::{SigDim, SigParam};
use tilec_runtime::tensor::contiguous_strides;

fn example(name: &str) -> Source {
    Source::file(format!(
        "{}/../dsl-examples/{name}.tile",
        env!("CARGO_MANIFEST_DIR")
    ))
}

fn compile(name: &str, consts: &[(String, ConstValue)]) -> Result<Artifacts, String> {
    let options = CompileOptions {
        use_cache: false,
        ..CompileOptions::default()
    };
    compile_artifacts(&example(name), None, consts, &options).map_err(|e| format!("{name}: {e}"))
}

/// Checks one compiled example; `Err` describes the first disagreement.
fn check_case(
    name: &str,
    consts: &[(String, ConstValue)],
    sizes: &[(&str, usize)],
    grid: [u32; 3],
) -> Result<(), String> {
    let artifacts = compile(name, consts)?;
    artifacts
        .signature
        .check_abi(&artifacts.abi)
        .map_err(|e| e.to_string())?;
    let declared = entry_param_sizes(&artifacts.ptx, &artifacts.abi.entry);
    if declared != Some(abi_param_sizes(&artifacts.abi)) {
        return Err(format!(
            "the PTX entry's parameters {declared:?} differ from what the launcher packs {:?}",
            abi_param_sizes(&artifacts.abi)
        ));
    }
    let plan = plan_launch(
        &artifacts.signature,
        &artifacts.abi,
        &fake_args(&artifacts, sizes),
    )
    .map_err(|e| e.to_string())?;
    if plan.grid != grid || plan.block[0] != 32 * artifacts.abi.num_warps {
        return Err(format!(
            "grid {:?} block {:?}, expected grid {grid:?}",
            plan.grid, plan.block
        ));
    }
    Ok(())
}

/// Arguments for `artifacts` with each shape symbol set from `sizes`, at distinct aligned
/// fake addresses; scalars are 1.
fn fake_args(artifacts: &Artifacts, sizes: &[(&str, usize)]) -> Vec<ArgDesc> {
    let sig = &artifacts.signature;
    let mut next_address = 1u64 << 32;
    sig.params
        .iter()
        .map(|p| match p {
            SigParam::Tensor { dtype, dims, .. } => {
                let shape: Vec<usize> = dims
                    .iter()
                    .map(|d| match d {
                        SigDim::Const(c) => *c as usize,
                        SigDim::Sym(s) => {
                            let name = &sig.symbols[*s as usize];
                            sizes
                                .iter()
                                .find(|(n, _)| n == name)
                                .map(|(_, v)| *v)
                                .expect("size given")
                        }
                    })
                    .collect();
                let dtype = DType::from(*dtype);
                let bytes = shape.iter().product::<usize>() * dtype.size_bytes() as usize;
                let address = next_address;
                next_address += (bytes as u64).next_multiple_of(256).max(256);
                ArgDesc::Tensor(TensorArg {
                    dtype,
                    strides: contiguous_strides(&shape),
                    shape,
                    address,
                    allocation_bytes: bytes,
                })
            }
            SigParam::Scalar { dtype, .. } => match DType::from(*dtype) {
                DType::I1 => ArgDesc::Bool(true),
                DType::I32 | DType::I64 => ArgDesc::Int(1),
                _ => ArgDesc::Float(1.0),
            },
        })
        .collect()
}

/// Example name, const overrides, shape-symbol sizes, and the grid they must give.
type Case = (
    &'static str,
    Vec<(String, ConstValue)>,
    Vec<(&'static str, usize)>,
    [u32; 3],
);

#[test]
fn examples_compile_to_consistent_artifacts() {
    let cases: Vec<Case> = vec![
        ("vector_add", vec![], vec![("N", 5000)], [5, 1, 1]),
        ("softmax", vec![], vec![("M", 37), ("N", 1000)], [10, 1, 1]),
        (
            "matmul",
            vec![],
            vec![("M", 100), ("N", 70), ("K", 33)],
            [2, 2, 1],
        ),
        ("layernorm", vec![], vec![("M", 33), ("N", 1000)], [9, 1, 1]),
        (
            "attention",
            vec![],
            vec![("B", 2), ("H", 3), ("S", 4097)],
            [65, 6, 1],
        ),
        (
            "attention",
            vec![
                ("HEAD_DIM".into(), ConstValue::Int(128)),
                ("CAUSAL".into(), ConstValue::Bool(true)),
            ],
            vec![("B", 1), ("H", 2), ("S", 17)],
            [1, 2, 1],
        ),
    ];
    let mut failures = Vec::new();
    for (name, consts, sizes, grid) in cases {
        match check_case(name, &consts, &sizes, grid) {
            Ok(()) => println!("ok      {name} {consts:?} {sizes:?}"),
            Err(e) => {
                println!(
                    "FAILED  {name} {consts:?} {sizes:?}: {}",
                    e.lines().next().unwrap_or_default()
                );
                failures.push(format!("{name} {consts:?}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn cache_entries_read_back_as_written() {
    let artifacts = compile("vector_add", &[]).expect("vector_add compiles");
    let dir = std::env::temp_dir().join(format!("tilec-cache-test-{}", std::process::id()));
    let entry = tilec_runtime::cache::entry_dir(&dir, "vector_add", "0123");
    tilec_runtime::cache::store(&entry, &artifacts).expect("store");
    assert_eq!(tilec_runtime::cache::load(&entry), Some(artifacts));
    std::fs::remove_file(entry.join("abi.json")).expect("remove");
    assert_eq!(
        tilec_runtime::cache::load(&entry),
        None,
        "a damaged entry is a miss"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The attention configurations the GPU suite runs (tests/gpu.rs), bf16 included through the
/// example's `DTYPE` const.
#[test]
fn gpu_suite_attention_configurations_compile() {
    let path = format!(
        "{}/../dsl-examples/attention.tile",
        env!("CARGO_MANIFEST_DIR")
    );
    let source = Source::file(&path);
    let mut failures = Vec::new();
    for (half, dtype) in [("f16", DType::F16), ("bf16", DType::BF16)] {
        for head_dim in [64i64, 128] {
            for causal in [false, true] {
                let consts = vec![
                    ("DTYPE".into(), ConstValue::DType(dtype)),
                    ("HEAD_DIM".into(), ConstValue::Int(head_dim)),
                    ("CAUSAL".into(), ConstValue::Bool(causal)),
                ];
                let options = CompileOptions {
                    use_cache: false,
                    num_warps: Some(if head_dim == 128 { 8 } else { 4 }),
                    ..CompileOptions::default()
                };
                let label = format!("{half} D={head_dim} causal={causal}");
                match compile_artifacts(&source, None, &consts, &options) {
                    Ok(a)
                        if entry_param_sizes(&a.ptx, &a.abi.entry)
                            == Some(abi_param_sizes(&a.abi)) =>
                    {
                        println!("ok      attention {label}: {} B shared", a.abi.shared_bytes)
                    }
                    Ok(_) => failures.push(format!("{label}: PTX parameters differ from the ABI")),
                    Err(e) => failures.push(format!("{label}: {e}")),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
