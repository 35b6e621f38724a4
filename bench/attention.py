#!/usr/bin/env python3
"""Side-by-side timing of attention forward kernels on one GPU, in one process.

Backends, each timed the same way (see `time_launches`):
  * PyTorch SDPA, flash back end (SDPBackend.FLASH_ATTENTION)
  * PyTorch SDPA, cuDNN back end (SDPBackend.CUDNN_ATTENTION)
  * Triton: a compact FlashAttention-2 forward written here (make_triton_attention)
  * tilec: dsl-examples/attention.tile compiled by `tilec build --emit ptx --abi-json`, loaded
    with the CUDA driver API (cuda.bindings.driver) and launched on torch's current stream,
    so the same CUDA-graph capture covers it.

With --autotune, tilec is also searched over its kernel's `tune { .. }` section (read with
`tilec tune-space`): every configuration is built (in parallel; one the compiler refuses is
skipped with its diagnostic), checked against SDPA, and timed briefly (--tune-launches
launches per graph, --tune-replays replays); the fastest is then timed with the full method
and reported as `tilec`, its configuration in the note column and the JSON's `config` field
(the whole search in `search`). The default configuration stays in the table as
`tilec (default)`. `num_stages` is not searched: tilec's code generator ignores it today.
The search runs after all other measurements, so a configuration that faults can only cost
the autotuned rows.

Method: the median over replays of a CUDA graph that holds `--graph-launches` launches (the
per-launch time of a replay is its event-timed duration divided by the launches in it), after
warm-up; also the median of single launches, each between two events. A slow backend gets
fewer replays (and launches per graph) so that each measurement stays near 3 s; the JSON
records the counts used. FLOPs per launch are
4*B*H*S^2*D, halved for causal attention. tilec's output is checked against SDPA before it is
timed (relative L2 error). A backend that cannot run is recorded as "n/a" with the reason.

Usage (on the GPU machine):
  python3 bench/attention.py --tilec path/to/tilec --json out.json [--quick] [--autotune]
"""

import argparse
import concurrent.futures
import ctypes
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import traceback

# (B, H, S, D, causal): the shapes the project reports, all fp16.
SHAPES = [
    (1, 8, 512, 64, False),
    (1, 8, 512, 64, True),
    (16, 32, 1024, 64, False),
    (4, 16, 4096, 128, False),
    (4, 16, 4096, 128, True),
    (2, 16, 8192, 128, False),
]
QUICK_SHAPES = [(1, 8, 512, 64, False), (1, 8, 512, 64, True)]

# tilec's output may differ from SDPA's by fp16 rounding; more than this is a wrong kernel.
MAX_REL_ERROR = 5e-3


def flops(b, h, s, d, causal):
    f = 4.0 * b * h * s * s * d
    return f / 2 if causal else f


# Time one backend on one shape for at most about this long (slow kernels get fewer samples).
BUDGET_US = 3e6


def time_launches(torch, fn, graph_launches, replays, warmup):
    """Median microseconds per launch: (CUDA-graph replays, single launches, counts used)."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    end.synchronize()
    estimate = max(start.elapsed_time(end) * 1000.0, 1.0)
    while replays > 5 and estimate * graph_launches * (replays + 1) > BUDGET_US:
        replays //= 2
    while graph_launches > 1 and estimate * graph_launches * (replays + 1) > BUDGET_US:
        graph_launches //= 2
    single = []
    for _ in range(replays):
        start.record()
        fn()
        end.record()
        end.synchronize()
        single.append(start.elapsed_time(end) * 1000.0)
    # Warm up on a side stream before capture, as torch recommends (lazy initialisation
    # inside a capture is not allowed).
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        fn()
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(graph_launches):
            fn()
    for _ in range(min(warmup, 5)):
        graph.replay()
    torch.cuda.synchronize()
    replayed = []
    for _ in range(replays):
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        replayed.append(start.elapsed_time(end) * 1000.0 / graph_launches)
    counts = {"graph_launches": graph_launches, "replays": replays}
    return statistics.median(replayed), statistics.median(single), counts


def rel_error(torch, out, ref):
    out, ref = out.float(), ref.float()
    return (torch.linalg.vector_norm(out - ref) / torch.linalg.vector_norm(ref)).item()


class TilecKernel:
    """A tilec PTX module launched through the CUDA driver API per the kernel ABI
    (compiler/src/codegen/abi.rs): a tensor of rank r is its .u64 address, r .u32 sizes and
    r-1 .u64 strides in elements; an f32 scalar is .f32."""

    def __init__(self, cu, ptx, abi, block_m):
        self.cu = cu
        self.abi = abi
        self.block_m = block_m
        err, self.module = cu.cuModuleLoadData(ptx.encode() + b"\0")
        check(cu, err, "cuModuleLoadData")
        err, self.function = cu.cuModuleGetFunction(self.module, abi["entry"].encode())
        check(cu, err, "cuModuleGetFunction")
        self.shared = int(abi.get("shared_bytes", 0))
        if self.shared > 48 * 1024:
            attr = cu.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
            (err,) = cu.cuFuncSetAttribute(self.function, attr, self.shared)
            check(cu, err, "cuFuncSetAttribute")
        self.threads = 32 * int(abi["num_warps"])
        self.params = [abi_param(p) for p in abi["params"]]

    def pack(self, tensors, scalars):
        """ctypes objects for every PTX parameter, in order, and the void* array."""
        objects = []
        tensor_iter, scalar_iter = iter(tensors), iter(scalars)
        for kind, dtype, rank in self.params:
            if kind == "Tensor":
                t = next(tensor_iter)
                assert t.dim() == rank and t.is_contiguous() and t.data_ptr() % 16 == 0
                objects.append(ctypes.c_uint64(t.data_ptr()))
                objects.extend(ctypes.c_uint32(n) for n in t.shape)
                objects.extend(ctypes.c_uint64(s) for s in t.stride()[:-1])
            else:
                value = next(scalar_iter)
                if dtype != "F32":
                    raise ValueError(f"scalar parameter of type {dtype} is not supported here")
                objects.append(ctypes.c_float(value))
        pointers = (ctypes.c_void_p * len(objects))(*[ctypes.addressof(o) for o in objects])
        return objects, pointers

    def launcher(self, torch, q, k, v, out, scale):
        b, h, s, _ = q.shape
        grid = (math.ceil(s / self.block_m), b * h, 1)
        objects, pointers = self.pack([q, k, v, out], [scale])
        cu = self.cu

        def launch():
            stream = cu.CUstream(torch.cuda.current_stream().cuda_stream)
            (err,) = cu.cuLaunchKernel(
                self.function, *grid, self.threads, 1, 1, self.shared, stream,
                ctypes.addressof(pointers), 0)
            check(cu, err, "cuLaunchKernel")

        launch.keepalive = (objects, pointers)
        return launch


def make_triton_attention():
    """A compact FlashAttention-2 forward in Triton (the same algorithm as
    dsl-examples/attention.tile), written for this benchmark. Returns run(q, k, v, scale, causal)."""
    import triton
    import triton.language as tl

    @triton.jit
    def forward(Q, K, V, O, stride_bh, stride_s, S, qk_scale,
                HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, CAUSAL: tl.constexpr):
        start_m = tl.program_id(0) * BLOCK_M
        base = tl.program_id(1).to(tl.int64) * stride_bh
        rows = start_m + tl.arange(0, BLOCK_M)
        dims = tl.arange(0, HEAD_DIM)
        q = tl.load(Q + base + rows[:, None] * stride_s + dims[None, :], mask=rows[:, None] < S, other=0.0)
        m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
        l_i = tl.zeros([BLOCK_M], tl.float32)
        acc = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)
        if CAUSAL:
            end_n = tl.minimum(S, start_m + BLOCK_M)
        else:
            end_n = S
        for start_n in range(0, end_n, BLOCK_N):
            cols = start_n + tl.arange(0, BLOCK_N)
            kt = tl.load(K + base + cols[None, :] * stride_s + dims[:, None], mask=cols[None, :] < S, other=0.0)
            s = tl.dot(q, kt) * qk_scale
            s = tl.where(cols[None, :] < S, s, float("-inf"))
            if CAUSAL:
                s = tl.where(cols[None, :] <= rows[:, None], s, float("-inf"))
            m_new = tl.maximum(m_i, tl.max(s, 1))
            p = tl.math.exp2(s - m_new[:, None])
            alpha = tl.math.exp2(m_i - m_new)
            l_i = l_i * alpha + tl.sum(p, 1)
            v = tl.load(V + base + cols[:, None] * stride_s + dims[None, :], mask=cols[:, None] < S, other=0.0)
            acc = acc * alpha[:, None] + tl.dot(p.to(tl.float16), v)
            m_i = m_new
        out = acc / l_i[:, None]
        tl.store(O + base + rows[:, None] * stride_s + dims[None, :], out.to(tl.float16), mask=rows[:, None] < S)

    def run(q, k, v, scale, causal, out):
        b, h, s, d = q.shape
        block_m, block_n = 128, 64
        grid = (triton.cdiv(s, block_m), b * h)
        forward[grid](q, k, v, out, s * d, d, s, scale * 1.4426950408889634,
                      HEAD_DIM=d, BLOCK_M=block_m, BLOCK_N=block_n, CAUSAL=causal,
                      num_warps=4 if d <= 64 else 8, num_stages=3)
        return out

    return run


def abi_param(p):
    """(kind, dtype, rank) of one serialized AbiParam ({"Tensor": {...}} or {"Scalar": {...}})."""
    (kind, body), = p.items()
    return kind, body["dtype"], int(body.get("rank", 0))


def check(cu, err, call):
    if err != cu.CUresult.CUDA_SUCCESS:
        raise RuntimeError(f"{call} failed: {err}")


def const_text(value):
    """A const value as `-D` takes it: true/false for booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def config_text(consts, num_warps):
    """`BLOCK_M=128 BLOCK_N=64 num_warps=8` (num_warps left out when not chosen)."""
    parts = [f"{name}={const_text(value)}" for name, value in consts.items()]
    if num_warps is not None:
        parts.append(f"num_warps={num_warps}")
    return " ".join(parts)


def define_args(consts):
    args = []
    for name, value in consts.items():
        args += ["-D", f"{name}={const_text(value)}"]
    return args


def first_message(text):
    """The message of the first diagnostic in tilec's stderr (`  × message`), else its first line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("× "):
            return line[2:].strip()
    return lines[0] if lines else "failed without a message"


def build_tilec(tilec, source, consts, num_warps, workdir):
    """PTX and ABI of one attention specialization: (ptx text, abi dict).

    `consts` are the -D values (they must include BLOCK_M, which sets the launch grid);
    `num_warps` is None for tilec's default. Asks `tilec build --emit ptx --abi-json`; if this
    tilec has no such option, runs the kernel once with `tilec run --gpu --no-reference` and
    reads the runtime's cache entry instead (`<cache dir>/attention-<key>/kernel.ptx` and
    `abi.json`, see docs/runtime.md). Raises RuntimeError with tilec's messages on failure."""
    tag = "attention_" + "_".join(f"{n}{const_text(v)}" for n, v in consts.items())
    tag += f"_w{num_warps}" if num_warps is not None else ""
    stem = os.path.join(workdir, tag)
    flags = define_args(consts) + (["--num-warps", str(num_warps)] if num_warps is not None else [])
    cmd = [tilec, "build", source, "--emit", "ptx", "-o", stem + ".ptx", "--abi-json", stem + ".json"] + flags
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode == 0:
        with open(stem + ".ptx") as f:
            ptx = f.read()
        with open(stem + ".json") as f:
            return ptx, json.load(f)
    if "unexpected argument '--abi-json'" not in run.stderr:
        # A diagnostic (e.g. the register budget): this configuration cannot be built.
        raise RuntimeError(run.stderr.strip() or f"{' '.join(cmd)} failed")
    cache = os.path.join(workdir, "cache-" + tag)
    env = dict(os.environ, TILEC_CACHE_DIR=cache)
    fallback = [tilec, "run", source, "--gpu", "--no-reference", "--shape", "B=1", "--shape", "H=1",
                "--shape", "S=1", "--arg", "scale=1.0"] + flags
    second = subprocess.run(fallback, capture_output=True, text=True, env=env)
    entries = sorted(os.listdir(cache)) if os.path.isdir(cache) else []
    entries = [e for e in entries if e.startswith("attention-")]
    if second.returncode != 0 or len(entries) != 1:
        raise RuntimeError(
            f"{' '.join(cmd)} failed:\n{run.stderr.strip()}\n"
            f"and {' '.join(fallback)} failed:\n{second.stderr.strip()}")
    with open(os.path.join(cache, entries[0], "kernel.ptx")) as f:
        ptx = f.read()
    with open(os.path.join(cache, entries[0], "abi.json")) as f:
        return ptx, json.load(f)


def read_tune_space(tilec, source, fixed):
    """The configurations of the kernel's tune section: ([(tuned consts, num_warps)], notes).

    Reads `tilec tune-space`. Axes whose const the shape fixes (`fixed`: HEAD_DIM, CAUSAL)
    and num_stages (tilec's code generator ignores it today) are not searched."""
    run = subprocess.run([tilec, "tune-space", source] + define_args(fixed), capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"tilec tune-space failed: {first_message(run.stderr)}")
    searched, notes = [], []
    for axis in json.loads(run.stdout)["axes"]:
        if axis["name"] == "num_stages":
            notes.append(f"num_stages {axis['values']} not searched: tilec does not pipeline yet")
        elif axis["name"] in fixed:
            notes.append(f"{axis['name']} not searched: fixed by the shape")
        else:
            searched.append(axis)
    configs = []
    for values in itertools.product(*[axis["values"] for axis in searched]):
        consts, num_warps = {}, None
        for axis, value in zip(searched, values):
            if axis["name"] == "num_warps":
                num_warps = int(value)
            else:
                consts[axis["name"]] = value
        configs.append((consts, num_warps))
    return configs, notes


class TilecBuilds:
    """tilec kernels, built on first use and kept for every shape: one per (consts, num_warps).
    Builds run in parallel (tilec processes); loading stays on this thread, whose current
    CUDA context is torch's."""

    def __init__(self, cu, tilec, source, workdir):
        self.cu, self.tilec, self.source, self.workdir = cu, tilec, source, workdir
        self.kernels = {}  # config_text(consts, num_warps) -> TilecKernel, or the error text

    def get(self, variants):
        """A TilecKernel or an error text for each (consts, num_warps) in `variants`."""
        missing = []
        for consts, num_warps in variants:
            tag = config_text(consts, num_warps)
            if tag not in self.kernels and all(tag != config_text(*m) for m in missing):
                missing.append((consts, num_warps))
        workers = max(1, min(len(missing), os.cpu_count() or 4))
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            jobs = [pool.submit(build_tilec, self.tilec, self.source, c, w, self.workdir) for c, w in missing]
            for (consts, num_warps), job in zip(missing, jobs):
                tag = config_text(consts, num_warps)
                try:
                    ptx, abi = job.result()
                    self.kernels[tag] = TilecKernel(self.cu, ptx, abi, int(consts["BLOCK_M"]))
                except Exception as e:  # noqa: BLE001 - a configuration that fails is skipped
                    self.kernels[tag] = first_message(str(e)) or type(e).__name__
        return [self.kernels[config_text(c, w)] for c, w in variants]


def run_tilec(torch, kernel, q, k, v, scale, reference, args):
    """Checks one tilec kernel's output against the reference, then times it: a result entry."""
    if isinstance(kernel, str):
        raise RuntimeError(kernel)
    out = torch.full_like(q, float("nan"))
    launch = kernel.launcher(torch, q, k, v, out, scale)
    launch()
    torch.cuda.synchronize()
    err = rel_error(torch, out, reference)
    entry = {"rel_error_vs_sdpa": err, "num_warps": kernel.abi["num_warps"], "shared_bytes": kernel.shared}
    if not err <= MAX_REL_ERROR:
        entry["n/a"] = f"wrong result: relative error {err:.2e} vs SDPA (limit {MAX_REL_ERROR:.0e})"
    else:
        graph_us, single_us, counts = time_launches(torch, launch, args.graph_launches, args.replays, args.warmup)
        entry.update({"graph_us": graph_us, "single_us": single_us, **counts})
    return entry


def search_tilec(torch, candidates, q, k, v, scale, reference, args):
    """Checks and briefly times every candidate (config text, kernel or error text).
    Returns (index of the fastest or None, one log entry per candidate)."""
    best, best_us, log = None, None, []
    for index, (config, kernel) in enumerate(candidates):
        row = {"config": config}
        try:
            if isinstance(kernel, str):
                raise RuntimeError(kernel)
            out = torch.full_like(q, float("nan"))
            launch = kernel.launcher(torch, q, k, v, out, scale)
            launch()
            torch.cuda.synchronize()
            err = rel_error(torch, out, reference)
            if not err <= MAX_REL_ERROR:
                raise RuntimeError(f"wrong result: relative error {err:.2e} vs SDPA")
            graph_us, _, _ = time_launches(torch, launch, args.tune_launches, args.tune_replays, 2)
            row["graph_us"] = graph_us
            if best_us is None or graph_us < best_us:
                best, best_us = index, graph_us
        except Exception as e:  # noqa: BLE001 - a configuration that fails is skipped
            row["skipped"] = (str(e).strip() or type(e).__name__).splitlines()[0]
        log.append(row)
    return best, log


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tilec", default="tilec", help="the tilec binary")
    parser.add_argument("--source", default=os.path.join(os.path.dirname(__file__), "..", "dsl-examples", "attention.tile"))
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--block-m", type=int, default=64)
    parser.add_argument("--block-n", type=int, default=64)
    parser.add_argument("--graph-launches", type=int, default=20)
    parser.add_argument("--replays", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="only the two smallest shapes")
    parser.add_argument("--autotune", action="store_true", help="also search tilec's tune space per shape")
    parser.add_argument("--tune-launches", type=int, default=5, help="launches per graph while searching")
    parser.add_argument("--tune-replays", type=int, default=5, help="graph replays per configuration while searching")
    args = parser.parse_args()

    try:
        import torch
        import torch.nn.functional as F
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except Exception as e:  # noqa: BLE001 - report whatever stops the import
        print(f"error: PyTorch is not usable here: {e}", file=sys.stderr)
        return 1
    if not torch.cuda.is_available():
        print("error: no CUDA GPU visible to PyTorch", file=sys.stderr)
        return 1
    try:
        from cuda.bindings import driver as cu
        cu_error = None
    except Exception as e:  # noqa: BLE001
        cu, cu_error = None, f"cuda.bindings is not importable: {e}"

    device_name = torch.cuda.get_device_name()
    torch.zeros(1, device="cuda")  # creates torch's (primary) context, current on this thread
    if cu is not None:
        (err,) = cu.cuInit(0)
        if err != cu.CUresult.CUDA_SUCCESS:
            cu_error = f"cuInit failed: {err}"

    try:
        triton_run, triton_error = make_triton_attention(), None
    except Exception as e:  # noqa: BLE001
        triton_run, triton_error = None, f"Triton is not usable: {e}"

    results = []
    workdir = tempfile.mkdtemp(prefix="tilec-bench-")
    builds = TilecBuilds(cu, args.tilec, args.source, workdir) if cu is not None and not cu_error else None
    spaces = {}  # (D, causal) -> (candidate configurations, notes)
    inputs = []  # per row of `results`: (q, k, v, scale, reference), for the search
    for (b, h, s, d, causal) in (QUICK_SHAPES if args.quick else SHAPES):
        shape = f"B{b} H{h} S{s} D{d}{' causal' if causal else ''}"
        gen = torch.Generator(device="cuda").manual_seed(0)
        q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=torch.float16, generator=gen) for _ in range(3))
        scale = 1.0 / math.sqrt(d)
        row = {"shape": shape, "B": b, "H": h, "S": s, "D": d, "causal": causal, "flops": flops(b, h, s, d, causal), "backends": {}}

        def sdpa(backend):
            def fn():
                with sdpa_kernel(backend):
                    return F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale)
            return fn

        candidates = [("sdpa-flash", lambda: sdpa(SDPBackend.FLASH_ATTENTION)), ("sdpa-cudnn", lambda: sdpa(SDPBackend.CUDNN_ATTENTION))]
        reference = None
        for name, make in candidates:
            try:
                fn = make()
                out = fn()
                torch.cuda.synchronize()
                reference = out if reference is None else reference
                graph_us, single_us, counts = time_launches(torch, fn, args.graph_launches, args.replays, args.warmup)
                row["backends"][name] = {"graph_us": graph_us, "single_us": single_us, **counts}
            except Exception as e:  # noqa: BLE001 - an unavailable back end is a result, not a crash
                row["backends"][name] = {"n/a": str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}
        if reference is None:
            with sdpa_kernel(SDPBackend.MATH):
                reference = F.scaled_dot_product_attention(q.float(), k.float(), v.float(), is_causal=causal, scale=scale)

        try:
            if triton_run is None:
                raise RuntimeError(triton_error)
            out = torch.empty_like(q)
            fn = lambda: triton_run(q, k, v, scale, causal, out)  # noqa: E731
            fn()
            torch.cuda.synchronize()
            err = rel_error(torch, out, reference)
            entry = {"rel_error_vs_sdpa": err}
            if not err <= MAX_REL_ERROR:
                entry["n/a"] = f"wrong result: relative error {err:.2e} vs SDPA (limit {MAX_REL_ERROR:.0e})"
            else:
                graph_us, single_us, counts = time_launches(torch, fn, args.graph_launches, args.replays, args.warmup)
                entry.update({"graph_us": graph_us, "single_us": single_us, **counts})
            row["backends"]["triton"] = entry
        except Exception as e:  # noqa: BLE001
            row["backends"]["triton"] = {"n/a": (str(e).strip() or type(e).__name__).splitlines()[0]}

        default_name = "tilec (default)" if args.autotune else "tilec"
        default = {"HEAD_DIM": d, "CAUSAL": causal, "BLOCK_M": args.block_m, "BLOCK_N": args.block_n}
        try:
            if builds is None:
                raise RuntimeError(cu_error)
            (kernel,) = builds.get([(default, None)])
            row["backends"][default_name] = run_tilec(torch, kernel, q, k, v, scale, reference, args)
        except Exception as e:  # noqa: BLE001
            row["backends"][default_name] = {"n/a": first_message(str(e)) or type(e).__name__}
            if os.environ.get("TILEC_BENCH_TRACE"):
                traceback.print_exc()

        add_rates(row)
        results.append(row)
        inputs.append((q, k, v, scale, reference))
        print_row(row)

    # The search runs after every other measurement: a configuration that faults (a sticky
    # CUDA error) can then only cost the autotuned rows, never the anchors or the default.
    for row, (q, k, v, scale, reference) in zip(results if args.autotune else [], inputs):
        d, causal = row["D"], row["causal"]
        fixed = {"HEAD_DIM": d, "CAUSAL": causal}
        default = {**fixed, "BLOCK_M": args.block_m, "BLOCK_N": args.block_n}
        try:
            if builds is None:
                raise RuntimeError(cu_error)
            if (d, causal) not in spaces:
                spaces[(d, causal)] = read_tune_space(args.tilec, args.source, fixed)
            configs, notes = spaces[(d, causal)]
            # The tuned consts go over the default ones, so BLOCK_M (the grid) is always set.
            kernels = builds.get([({**default, **consts}, num_warps) for consts, num_warps in configs])
            candidates = [(config_text(c, w), kern) for (c, w), kern in zip(configs, kernels)]
            winner, log = search_tilec(torch, candidates, q, k, v, scale, reference, args)
            if winner is None:
                raise RuntimeError("no configuration of the tune space built and ran correctly")
            entry = run_tilec(torch, kernels[winner], q, k, v, scale, reference, args)
            entry.update({"config": candidates[winner][0], "search": log, "search_notes": notes})
            row["backends"]["tilec"] = entry
        except Exception as e:  # noqa: BLE001
            row["backends"]["tilec"] = {"n/a": (str(e).strip() or type(e).__name__).splitlines()[0]}
            if os.environ.get("TILEC_BENCH_TRACE"):
                traceback.print_exc()
        add_rates(row)
        print_row(row)

    print_table(device_name, results)
    if args.json:
        with open(args.json, "w") as f:
            method = {"graph_launches": args.graph_launches, "replays": args.replays, "warmup": args.warmup,
                      "statistic": "median microseconds per launch"}
            if args.autotune:
                method["search"] = {"graph_launches": args.tune_launches, "replays": args.tune_replays, "warmup": 2}
            json.dump({"device": device_name, "torch": torch.__version__, "method": method,
                       "results": results}, f, indent=2)
            f.write("\n")
    return 0


def add_rates(row):
    """TFLOP/s and speed relative to the fastest SDPA back end, for every timed backend."""
    anchors = [r["graph_us"] for n, r in row["backends"].items() if n.startswith("sdpa") and "graph_us" in r]
    best = min(anchors) if anchors else None
    for r in row["backends"].values():
        if "graph_us" in r:
            r["tflops"] = row["flops"] / (r["graph_us"] * 1e-6) / 1e12
            r["speed_vs_best_sdpa"] = best / r["graph_us"] if best else None


def print_row(row):
    parts = []
    for name, r in row["backends"].items():
        parts.append(f"{name}: {r['graph_us']:.1f} us" if "graph_us" in r else f"{name}: n/a")
    print(f"[{row['shape']}] " + ", ".join(parts), flush=True)


def print_table(device_name, results):
    print(f"\nAttention forward, fp16, on {device_name}: median of CUDA-graph replays, µs per launch")
    print("speed = fastest SDPA back end's time / this time (1.00 = as fast)\n")
    header = f"{'shape':<28} {'backend':<15} {'graph µs':>10} {'single µs':>10} {'TFLOP/s':>8} {'speed':>6}  note"
    print(header)
    print("-" * len(header))
    for row in results:
        for name, r in row["backends"].items():
            if "graph_us" in r:
                speed = f"{r['speed_vs_best_sdpa']:.2f}" if r.get("speed_vs_best_sdpa") else "-"
                note = f"rel err {r['rel_error_vs_sdpa']:.1e}" if "rel_error_vs_sdpa" in r else ""
                if "config" in r:
                    note = f"{r['config']}; {note}"
                print(f"{row['shape']:<28} {name:<15} {r['graph_us']:>10.1f} {r['single_us']:>10.1f} {r['tflops']:>8.1f} {speed:>6}  {note}")
            else:
                reason = r["n/a"].replace("\n", " ")
                print(f"{row['shape']:<28} {name:<15} {'n/a':>10} {'':>10} {'':>8} {'':>6}  {reason[:100]}")


if __name__ == "__main__":
    sys.exit(main())
