//! The autotuner: times every configuration of a kernel's `tune { .. }` section on the
//! caller's arguments and keeps the fastest.
//!
//! A kernel declares its tuning space, e.g.
//! `tune { BLOCK_M: [64, 128], BLOCK_N: [32, 64, 128], num_warps: [4, 8] }`. The space is the
//! cartesian product of the axes ([`enumerate`]): a const axis becomes a `-D` override merged
//! over the caller's consts, `num_warps` becomes [`CompileOptions::num_warps`]. Each
//! configuration is compiled (through the kernel cache), loaded, and timed with the CUDA-graph
//! method of `timing.rs` at reduced counts ([`TuneOptions::search_timing`]); the fastest
//! median wins ([`choose_best`]).
//!
//! Rules, and why:
//! * A configuration the compiler refuses (a diagnostic such as the register budget), or that
//!   the driver cannot load or launch (too much shared memory, too many resources), is
//!   *skipped* and recorded with the reason ([`skip_reason`]); it never fails the tuning.
//!   Errors that are not about the configuration (bad arguments, a lost device) do.
//! * An axis the caller already fixed (`-D BLOCK_M=128`, or `num_warps` in the options) is
//!   not searched: the caller's choice stands, and a note says so.
//! * `num_stages` axes are not searched: today's code generator ignores the option (no
//!   software pipelining yet), so every value would give the same PTX. A note says so.
//! * The winner is cached on disk next to the kernel cache, in
//!   `<cache dir>/autotune/<kernel>-<key>.json` (the whole report), keyed by [`tune_key`]:
//!   the source text, kernel name, the caller's consts and options, the shape symbol values,
//!   the device name and the compiler build. A second call with the same key skips the
//!   search.
//! * The caller's output tensors are overwritten many times while tuning. [`autotune`] ends
//!   with one launch of the winning configuration on the caller's arguments, so on return the
//!   outputs hold the winner's result (for kernels that do not read their own outputs).
//!
//! The pure parts (enumeration, keys, choosing, formatting, error classification) need no
//! GPU and are tested in `runtime/tests/autotune.rs`; [`compile_config`] needs no GPU either.

use crate::cache::{self, KeyHasher};
use crate::compile::{self, Artifacts, CompileOptions, Source};
use crate::device::{Device, Stream};
use crate::error::{Result, RuntimeError};
use crate::kernel::Kernel;
use crate::launch::{Arg, ArgDesc};
use crate::signature::{LaunchSignature, SigDim, SigParam};
use crate::timing::TimingOptions;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tilec::driver::SourceFile;
use tilec::ir::ConstValue;
use tilec::sema::{ConstOverrides, TuneAxis};

/// The launch option that selects warps per program.
pub const NUM_WARPS: &str = "num_warps";
/// The launch option for the pipelining depth of loop loads (not searched; see the module doc).
pub const NUM_STAGES: &str = "num_stages";

/// One point of the tuning space: the tuned consts and, when tuned, the warps per program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TuneConfig {
    /// Tuned const values, in the order of the `tune` section.
    #[serde(with = "const_list")]
    pub consts: Vec<(String, ConstValue)>,
    /// `None` when `num_warps` is not tuned (the caller's or the compiler's default applies).
    pub num_warps: Option<u32>,
}

impl TuneConfig {
    /// The const overrides to compile with: the caller's, with this configuration's values
    /// replacing any of the same name.
    pub fn overrides(&self, caller: &[(String, ConstValue)]) -> Vec<(String, ConstValue)> {
        let mut out: Vec<(String, ConstValue)> = caller
            .iter()
            .filter(|(name, _)| !self.consts.iter().any(|(n, _)| n == name))
            .cloned()
            .collect();
        out.extend(self.consts.iter().cloned());
        out
    }

    /// The compile options: the caller's, with this configuration's `num_warps` when tuned.
    pub fn options(&self, caller: &CompileOptions) -> CompileOptions {
        CompileOptions {
            num_warps: self.num_warps.or(caller.num_warps),
            ..caller.clone()
        }
    }

    /// `BLOCK_M=128 BLOCK_N=64 num_warps=8`; `(defaults)` for the empty configuration.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .consts
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        if let Some(w) = self.num_warps {
            parts.push(format!("{NUM_WARPS}={w}"));
        }
        if parts.is_empty() {
            "(defaults)".into()
        } else {
            parts.join(" ")
        }
    }
}

/// The configurations to try, and notes on the axes that are not searched.
#[derive(Clone, Debug, PartialEq)]
pub struct TuneSpace {
    pub configs: Vec<TuneConfig>,
    pub notes: Vec<String>,
}

/// The cartesian product of `axes` (the last axis varies fastest), leaving out `num_stages`
/// and every axis the caller fixed in `caller_consts` or `caller_options`. A kernel without a
/// `tune` section has one configuration: the empty one (its defaults).
pub fn enumerate(
    axes: &[TuneAxis],
    caller_consts: &[(String, ConstValue)],
    caller_options: &CompileOptions,
) -> TuneSpace {
    let mut notes = Vec::new();
    let mut searched: Vec<&TuneAxis> = Vec::new();
    for axis in axes {
        let values = axis
            .values
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let caller_value = caller_consts
            .iter()
            .rev()
            .find(|(n, _)| *n == axis.name)
            .map(|(_, v)| v.to_string())
            .or_else(|| match axis.name.as_str() {
                NUM_WARPS => caller_options.num_warps.map(|w| w.to_string()),
                NUM_STAGES => caller_options.num_stages.map(|s| s.to_string()),
                _ => None,
            });
        if axis.name == NUM_STAGES {
            notes.push(format!(
                "{NUM_STAGES} [{values}] not searched: the code generator does not pipeline \
                 loads yet, so every value gives the same code"
            ));
        } else if let Some(v) = caller_value {
            notes.push(format!(
                "{} [{values}] not searched: fixed to {v} by the caller",
                axis.name
            ));
        } else {
            searched.push(axis);
        }
    }
    // Odometer over the searched axes.
    let mut configs = Vec::new();
    let mut digits = vec![0usize; searched.len()];
    if searched.iter().all(|a| !a.values.is_empty()) {
        loop {
            configs.push(config_at(&searched, &digits));
            let mut axis = searched.len();
            loop {
                if axis == 0 {
                    return TuneSpace { configs, notes };
                }
                axis -= 1;
                digits[axis] += 1;
                if digits[axis] < searched[axis].values.len() {
                    break;
                }
                digits[axis] = 0;
            }
        }
    }
    TuneSpace { configs, notes }
}

/// The configuration that picks value `digits[i]` of axis `i`.
fn config_at(axes: &[&TuneAxis], digits: &[usize]) -> TuneConfig {
    let mut config = TuneConfig {
        consts: Vec::new(),
        num_warps: None,
    };
    for (axis, &d) in axes.iter().zip(digits) {
        let value = axis.values[d];
        if axis.name == NUM_WARPS {
            // sema accepts only powers of two from 1 to 32 here.
            config.num_warps = u32::try_from(value.as_i64()).ok();
        } else {
            config.consts.push((axis.name.clone(), value));
        }
    }
    config
}

/// The value of each shape symbol of `sig` in `args` (taken from the first tensor that names
/// it; the launch checker verifies that the others agree). Symbols no argument names are
/// left out.
pub fn shape_symbols(sig: &LaunchSignature, args: &[ArgDesc]) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for (index, name) in sig.symbols.iter().enumerate() {
        let value = sig.params.iter().zip(args).find_map(|(param, arg)| {
            let (SigParam::Tensor { dims, .. }, ArgDesc::Tensor(t)) = (param, arg) else {
                return None;
            };
            let dim = dims.iter().position(|d| *d == SigDim::Sym(index as u32))?;
            t.shape.get(dim).map(|&n| n as i64)
        });
        if let Some(v) = value {
            out.push((name.clone(), v));
        }
    }
    out
}

/// The key of a tuning result: everything the winner depends on. The caller's consts are
/// sorted (their order does not matter); the shape symbols keep the signature's order.
pub fn tune_key(
    source_text: &str,
    kernel: Option<&str>,
    caller_consts: &[(String, ConstValue)],
    caller_options: &CompileOptions,
    shape_symbols: &[(String, i64)],
    device_name: &str,
) -> String {
    let mut consts: Vec<String> = caller_consts
        .iter()
        .map(|(n, v)| format!("{n}={v:?}"))
        .collect();
    consts.sort();
    let symbols: Vec<String> = shape_symbols
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect();
    let mut h = KeyHasher::default();
    h.field("format", b"autotune v1")
        .field("compiler", cache::compiler_fingerprint().as_bytes())
        .field("source", source_text.as_bytes())
        .field("kernel", kernel.unwrap_or("").as_bytes())
        .field("consts", consts.join(";").as_bytes())
        .field(
            "num_warps",
            format!("{:?}", caller_options.num_warps).as_bytes(),
        )
        .field(
            "num_stages",
            format!("{:?}", caller_options.num_stages).as_bytes(),
        )
        .field("target", caller_options.target.as_bytes())
        .field("symbols", symbols.join(";").as_bytes())
        .field("device", device_name.as_bytes());
    h.finish()
}

/// How one configuration fared.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TuneOutcome {
    /// Median microseconds per launch, as `timing.rs` measures them.
    Timed {
        graph_median_us: f64,
        single_median_us: f64,
    },
    /// Not timed: the compiler's diagnostic, or why the driver refused it.
    Skipped { reason: String },
}

/// One configuration and its outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TuneEntry {
    pub config: TuneConfig,
    pub outcome: TuneOutcome,
}

impl TuneEntry {
    /// The CUDA-graph median, when timed and finite.
    pub fn graph_us(&self) -> Option<f64> {
        match self.outcome {
            TuneOutcome::Timed {
                graph_median_us, ..
            } if graph_median_us.is_finite() => Some(graph_median_us),
            _ => None,
        }
    }
}

/// Everything a tuning run found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TuneReport {
    pub kernel: String,
    pub device: String,
    /// The [`tune_key`] this report is stored under.
    pub key: String,
    pub shape_symbols: Vec<(String, i64)>,
    /// Axes not searched, and why.
    pub notes: Vec<String>,
    /// Every configuration tried, in enumeration order.
    pub entries: Vec<TuneEntry>,
    /// Index of the fastest entry; `None` when every configuration was skipped.
    pub best: Option<usize>,
    /// Read from the tuning cache: no search ran in this call, and `entries` are the
    /// timings of the run that searched.
    #[serde(default)]
    pub from_cache: bool,
}

impl TuneReport {
    pub fn best_entry(&self) -> Option<&TuneEntry> {
        self.best.and_then(|i| self.entries.get(i))
    }

    /// One line per configuration ([`format_entry`]), the best marked with `*`.
    pub fn lines(&self, flops: Option<f64>) -> Vec<String> {
        self.entries
            .iter()
            .enumerate()
            .map(|(i, e)| format_entry(e, flops, self.best == Some(i)))
            .collect()
    }
}

/// The entry with the smallest finite CUDA-graph median (the first of equals).
pub fn choose_best(entries: &[TuneEntry]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, e) in entries.iter().enumerate() {
        if let Some(us) = e.graph_us() {
            if best.is_none_or(|(_, b)| us < b) {
                best = Some((i, us));
            }
        }
    }
    best.map(|(i, _)| i)
}

/// TFLOP/s of `flops` operations in `us` microseconds.
pub fn tflops(flops: f64, us: f64) -> f64 {
    flops / (us * 1e-6) / 1e12
}

/// `* BLOCK_M=128 BLOCK_N=64 num_warps=8    812.40 µs   169.2 TFLOP/s`, or the
/// configuration and `skipped: <reason>`.
pub fn format_entry(entry: &TuneEntry, flops: Option<f64>, is_best: bool) -> String {
    let mark = if is_best { '*' } else { ' ' };
    let config = entry.config.describe();
    match &entry.outcome {
        TuneOutcome::Timed {
            graph_median_us, ..
        } => {
            let rate = flops.map_or("-".to_string(), |f| {
                format!("{:.1}", tflops(f, *graph_median_us))
            });
            format!("{mark} {config:<40} {graph_median_us:>10.2} µs {rate:>8} TFLOP/s")
        }
        TuneOutcome::Skipped { reason } => format!("{mark} {config:<40} skipped: {reason}"),
    }
}

/// Why `err` rules out one configuration (a one-line reason), or `None` when the error is
/// not about the configuration and must end the tuning (bad arguments, a lost device, no
/// memory).
pub fn skip_reason(err: &RuntimeError) -> Option<String> {
    match err {
        RuntimeError::Compile(text) => Some(first_message(text)),
        RuntimeError::JitFailed { code, log } => Some(format!(
            "the CUDA JIT rejected the PTX ({code}): {}",
            first_message(log)
        )),
        RuntimeError::BadLaunch(_)
        | RuntimeError::MissingEntry { .. }
        | RuntimeError::AbiMismatch(_) => Some(err.to_string()),
        // Too many registers or threads for the block: a property of the configuration.
        // These launch errors are not sticky; the context stays usable.
        RuntimeError::Driver { name, .. }
            if name.contains("OUT_OF_RESOURCES") || name.contains("INVALID_VALUE") =>
        {
            Some(err.to_string())
        }
        _ => None,
    }
}

/// The first message of rendered diagnostics (`  × message`), of codegen diagnostics
/// (`error[code]: message`), or else the first non-empty line.
fn first_message(text: &str) -> String {
    for line in text.lines().map(str::trim) {
        if let Some(message) = line.strip_prefix("× ") {
            return message.trim().to_string();
        }
        if line.starts_with("error[") {
            if let Some((_, message)) = line.split_once("]: ") {
                return message.trim().to_string();
            }
        }
    }
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("failed without a message")
        .to_string()
}

/// Where the tuning result of `kernel` under `key` is stored.
pub fn cache_path(cache_dir: &Path, kernel: &str, key: &str) -> PathBuf {
    let mut path = cache::entry_dir(&cache_dir.join("autotune"), kernel, key).into_os_string();
    path.push(".json");
    PathBuf::from(path)
}

/// Reads a stored report; `None` when missing, unreadable, for another key, or without a
/// timed winner (a miss, never an error).
pub fn load_cached(path: &Path, key: &str) -> Option<TuneReport> {
    let text = std::fs::read_to_string(path).ok()?;
    let report: TuneReport = serde_json::from_str(&text).ok()?;
    let valid = report.key == key && report.best_entry()?.graph_us().is_some();
    valid.then_some(report)
}

/// Stores a report atomically (a temporary file renamed into place).
pub fn store_cached(path: &Path, report: &TuneReport) -> Result<()> {
    let dir = path.parent().ok_or_else(|| {
        RuntimeError::io(
            "the tuning cache path has no parent",
            std::io::ErrorKind::InvalidInput.into(),
        )
    })?;
    std::fs::create_dir_all(dir)
        .map_err(|e| RuntimeError::io(format!("creating {}", dir.display()), e))?;
    let stored = TuneReport {
        from_cache: false,
        ..report.clone()
    };
    // Timings are finite (NaN would not read back from JSON): `valid` in `load_cached`.
    let text = serde_json::to_string_pretty(&stored).expect("tuning reports serialize");
    let tmp = dir.join(format!(".tmp-{}-autotune.json", std::process::id()));
    std::fs::write(&tmp, text + "\n")
        .map_err(|e| RuntimeError::io(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| RuntimeError::io(format!("renaming to {}", path.display()), e))
}

/// What to tune: one kernel of a source, with the caller's consts and compile options.
#[derive(Clone, Debug)]
pub struct TuneRequest {
    pub source: Source,
    /// `None`: the file's only kernel.
    pub kernel: Option<String>,
    /// The caller's `-D` values; tuned consts are merged over them.
    pub consts: Vec<(String, ConstValue)>,
    pub options: CompileOptions,
}

/// How hard to search.
#[derive(Clone, Debug, PartialEq)]
pub struct TuneOptions {
    /// Timing counts per configuration during the search (kept small: the caller re-times
    /// the winner with the full method).
    pub search_timing: TimingOptions,
    /// Read and write the tuning cache (it also needs `options.use_cache` and a cache
    /// directory, see `cache.rs`).
    pub use_cache: bool,
}

impl Default for TuneOptions {
    fn default() -> Self {
        TuneOptions {
            search_timing: TimingOptions {
                warmup: 3,
                single_launches: 5,
                launches_per_graph: 10,
                graph_replays: 10,
            },
            use_cache: true,
        }
    }
}

/// A tuning run's result: the report and the winning kernel, loaded on the stream's device
/// (`None` when every configuration was skipped).
#[derive(Debug)]
pub struct Tuned {
    pub report: TuneReport,
    pub kernel: Option<Kernel>,
}

/// The kernel's tuning space with the caller's consts: lowers the kernel once (no code
/// generation). The kernel must lower with the caller's consts alone, i.e. every const
/// without a default must be given.
pub fn tune_space(request: &TuneRequest) -> Result<(tilec::ir::Kernel, TuneSpace)> {
    let (file_name, text) = request.source.read()?;
    let overrides = ConstOverrides {
        values: request.consts.clone(),
    };
    let lowered = tilec::driver::lower(
        &SourceFile::new(file_name.clone(), text.clone()),
        request.kernel.as_deref(),
        &overrides,
    )
    .map_err(|diags| {
        RuntimeError::Compile(tilec::diagnostics::render(&file_name, &text, &diags))
    })?;
    let space = enumerate(&lowered.tune, &request.consts, &request.options);
    Ok((lowered.ir, space))
}

/// Compiles one configuration (through the kernel cache when the options allow). Needs no
/// GPU. A configuration the compiler refuses is a [`RuntimeError::Compile`].
pub fn compile_config(request: &TuneRequest, config: &TuneConfig) -> Result<Artifacts> {
    compile::compile_artifacts(
        &request.source,
        request.kernel.as_deref(),
        &config.overrides(&request.consts),
        &config.options(&request.options),
    )
}

/// Tunes `request` on `args` (launch arguments as for [`Kernel::launch`]) on `stream`'s
/// device: the cached winner when there is one, else a search over the whole space, calling
/// `observe` after each configuration. **The caller's output tensors are clobbered**; the
/// last launch is one run of the winner, so they end up holding its result.
pub fn autotune(
    request: &TuneRequest,
    stream: &Stream,
    args: &[Arg],
    tune: &TuneOptions,
    observe: &mut dyn FnMut(&TuneEntry),
) -> Result<Tuned> {
    // Read the source once, so the key and every compilation see the same text.
    let (file_name, text) = request.source.read()?;
    let request = &TuneRequest {
        source: Source::Text {
            name: file_name,
            text: text.clone(),
        },
        ..request.clone()
    };
    let (ir, space) = tune_space(request)?;
    let signature = LaunchSignature::from_ir(&ir)?;
    let descs: Vec<ArgDesc> = args.iter().map(Arg::describe).collect();
    let symbols = shape_symbols(&signature, &descs);
    let device = stream.device();
    let device_name = device.name()?;
    let key = tune_key(
        &text,
        request.kernel.as_deref(),
        &request.consts,
        &request.options,
        &symbols,
        &device_name,
    );
    let cache_file = (tune.use_cache && request.options.use_cache)
        .then(cache::cache_dir)
        .flatten()
        .map(|dir| cache_path(&dir, &ir.name, &key));

    if let Some(path) = &cache_file {
        if let Some((report, kernel)) = cached_winner(request, path, &key, &device) {
            kernel.launch(stream, args)?;
            stream.synchronize()?;
            return Ok(Tuned {
                report,
                kernel: Some(kernel),
            });
        }
    }
    let (entries, kernel) = search(request, space.configs, &device, stream, args, tune, observe)?;
    let report = TuneReport {
        kernel: ir.name.clone(),
        device: device_name,
        key,
        shape_symbols: symbols,
        notes: space.notes,
        best: choose_best(&entries),
        entries,
        from_cache: false,
    };
    if let Some(k) = &kernel {
        k.launch(stream, args)?;
        stream.synchronize()?;
        if let Some(path) = &cache_file {
            // A cache that cannot be written only costs a search next time.
            let _ = store_cached(path, &report);
        }
    }
    Ok(Tuned { report, kernel })
}

/// The stored report under `key` and its winner, compiled (a kernel-cache hit) and loaded.
/// `None` on a miss, or when the winner no longer compiles or loads (search again).
fn cached_winner(
    request: &TuneRequest,
    path: &Path,
    key: &str,
    device: &Device,
) -> Option<(TuneReport, Kernel)> {
    let mut report = load_cached(path, key)?;
    let best = report.best_entry()?.config.clone();
    let kernel = compile_config(request, &best)
        .and_then(|a| Kernel::load(a, device))
        .ok()?;
    report.from_cache = true;
    Some((report, kernel))
}

/// Times every configuration, in order, calling `observe` after each. Returns the entries and
/// the fastest kernel (the same rule as [`choose_best`]), or the first error that is not a
/// skip.
fn search(
    request: &TuneRequest,
    configs: Vec<TuneConfig>,
    device: &Device,
    stream: &Stream,
    args: &[Arg],
    tune: &TuneOptions,
    observe: &mut dyn FnMut(&TuneEntry),
) -> Result<(Vec<TuneEntry>, Option<Kernel>)> {
    let mut entries = Vec::new();
    let mut winner: Option<(f64, Kernel)> = None;
    for config in configs {
        let outcome = match time_config(request, &config, device, stream, args, tune) {
            Ok((timing, kernel)) => {
                let us = timing.graph_median_us;
                if us.is_finite() && winner.as_ref().is_none_or(|(best, _)| us < *best) {
                    winner = Some((us, kernel));
                }
                TuneOutcome::Timed {
                    graph_median_us: us,
                    single_median_us: timing.single_median_us,
                }
            }
            Err(e) => match skip_reason(&e) {
                Some(reason) => TuneOutcome::Skipped { reason },
                None => return Err(e),
            },
        };
        let entry = TuneEntry { config, outcome };
        observe(&entry);
        entries.push(entry);
    }
    Ok((entries, winner.map(|(_, k)| k)))
}

/// Compiles, loads and times one configuration.
fn time_config(
    request: &TuneRequest,
    config: &TuneConfig,
    device: &Device,
    stream: &Stream,
    args: &[Arg],
    tune: &TuneOptions,
) -> Result<(crate::timing::Timing, Kernel)> {
    let kernel = Kernel::load(compile_config(request, config)?, device)?;
    let timing = kernel.time(stream, args, &tune.search_timing)?;
    Ok((timing, kernel))
}

/// JSON for a const value: a number, a boolean, or a dtype's name (`"bf16"`).
pub fn const_to_json(value: ConstValue) -> serde_json::Value {
    match value {
        ConstValue::Int(i) => serde_json::Value::from(i),
        ConstValue::Float(f) => serde_json::Value::from(f),
        ConstValue::Bool(b) => serde_json::Value::from(b),
        ConstValue::DType(d) => serde_json::Value::from(d.name()),
    }
}

/// The inverse of [`const_to_json`]; `None` for anything else.
pub fn const_from_json(value: &serde_json::Value) -> Option<ConstValue> {
    match value {
        serde_json::Value::Bool(b) => Some(ConstValue::Bool(*b)),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(ConstValue::Int)
            .or_else(|| n.as_f64().map(ConstValue::Float)),
        serde_json::Value::String(name) => tilec::ir::DType::from_name(name).map(ConstValue::DType),
        _ => None,
    }
}

/// `(name, ConstValue)` lists as JSON objects `{"name": .., "value": ..}` (ConstValue itself
/// is not serializable).
mod const_list {
    use super::{const_from_json, const_to_json};
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use tilec::ir::ConstValue;

    #[derive(Serialize, Deserialize)]
    struct Named {
        name: String,
        value: serde_json::Value,
    }

    pub fn serialize<S: Serializer>(
        list: &[(String, ConstValue)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        list.iter()
            .map(|(name, v)| Named {
                name: name.clone(),
                value: const_to_json(*v),
            })
            .collect::<Vec<_>>()
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, ConstValue)>, D::Error> {
        Vec::<Named>::deserialize(d)?
            .into_iter()
            .map(|n| match const_from_json(&n.value) {
                Some(v) => Ok((n.name, v)),
                None => Err(D::Error::custom(format!(
                    "`{}` is not a const value",
                    n.name
                ))),
            })
            .collect()
    }
}
