#!/usr/bin/env python3
"""Side-by-side timing of attention forward kernels on one GPU, in one process.

Backends, each timed the same way (see `time_launches`):
  * PyTorch SDPA, flash back end (SDPBackend.FLASH_ATTENTION)
  * PyTorch SDPA, cuDNN back end (SDPBackend.CUDNN_ATTENTION)
  * Triton: a compact FlashAttention-2 forward written here (make_triton_attention)
  * tilec: dsl-examples/attention.tile compiled by `tilec build --emit ptx --abi-json`, loaded
    with the CUDA driver API (cuda.bindings.driver) and launched on torch's current stream,
    so the same CUDA-graph capture covers it.

Method: the median over replays of a CUDA graph that holds `--graph-launches` launches (the
per-launch time of a replay is its event-timed duration divided by the launches in it), after
warm-up; also the median of single launches, each between two events. A slow backend gets
fewer replays (and launches per graph) so that each measurement stays near 3 s; the JSON
records the counts used. FLOPs per launch are
4*B*H*S^2*D, halved for causal attention. tilec's output is checked against SDPA before it is
timed (relative L2 error). A backend that cannot run is recorded as "n/a" with the reason.

Usage (on the GPU machine):
  python3 bench/attention.py --tilec path/to/tilec --json out.json [--quick]
"""

import argparse
import ctypes
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


def build_tilec(tilec, source, head_dim, causal, block_m, block_n, workdir):
    """PTX and ABI of one attention specialization: (ptx text, abi dict).

    Asks `tilec build --emit ptx --abi-json`; if this tilec has no such option, runs the kernel
    once with `tilec run --gpu --no-reference` and reads the runtime's cache entry instead
    (`<cache dir>/attention-<key>/kernel.ptx` and `abi.json`, see docs/runtime.md)."""
    tag = f"attention_d{head_dim}_{'causal' if causal else 'full'}"
    stem = os.path.join(workdir, tag)
    consts = ["-D", f"HEAD_DIM={head_dim}", "-D", f"CAUSAL={'true' if causal else 'false'}",
              "-D", f"BLOCK_M={block_m}", "-D", f"BLOCK_N={block_n}"]
    cmd = [tilec, "build", source, "--emit", "ptx", "-o", stem + ".ptx", "--abi-json", stem + ".json"] + consts
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode == 0:
        with open(stem + ".ptx") as f:
            ptx = f.read()
        with open(stem + ".json") as f:
            return ptx, json.load(f)
    cache = os.path.join(workdir, "cache-" + tag)
    env = dict(os.environ, TILEC_CACHE_DIR=cache)
    fallback = [tilec, "run", source, "--gpu", "--no-reference", "--shape", "B=1", "--shape", "H=1",
                "--shape", "S=1", "--arg", "scale=1.0"] + consts
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
    kernels = {}
    workdir = tempfile.mkdtemp(prefix="tilec-bench-")
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

        try:
            if cu is None or cu_error:
                raise RuntimeError(cu_error)
            key = (d, causal)
            if key not in kernels:
                ptx, abi = build_tilec(args.tilec, args.source, d, causal, args.block_m, args.block_n, workdir)
                kernels[key] = TilecKernel(cu, ptx, abi, args.block_m)
            kernel = kernels[key]
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
            row["backends"]["tilec"] = entry
        except Exception as e:  # noqa: BLE001
            row["backends"]["tilec"] = {"n/a": str(e).strip() or type(e).__name__}
            if os.environ.get("TILEC_BENCH_TRACE"):
                traceback.print_exc()

        anchors = [r["graph_us"] for n, r in row["backends"].items() if n.startswith("sdpa") and "graph_us" in r]
        best = min(anchors) if anchors else None
        for r in row["backends"].values():
            if "graph_us" in r:
                r["tflops"] = row["flops"] / (r["graph_us"] * 1e-6) / 1e12
                r["speed_vs_best_sdpa"] = best / r["graph_us"] if best else None
        results.append(row)
        print_row(row)

    print_table(device_name, results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": device_name, "torch": torch.__version__, "method": {
                "graph_launches": args.graph_launches, "replays": args.replays, "warmup": args.warmup,
                "statistic": "median microseconds per launch"}, "results": results}, f, indent=2)
            f.write("\n")
    return 0


def print_row(row):
    parts = []
    for name, r in row["backends"].items():
        parts.append(f"{name}: {r['graph_us']:.1f} us" if "graph_us" in r else f"{name}: n/a")
    print(f"[{row['shape']}] " + ", ".join(parts), flush=True)


def print_table(device_name, results):
    print(f"\nAttention forward, fp16, on {device_name}: median of CUDA-graph replays, µs per launch")
    print("speed = fastest SDPA back end's time / this time (1.00 = as fast)\n")
    header = f"{'shape':<28} {'backend':<11} {'graph µs':>10} {'single µs':>10} {'TFLOP/s':>8} {'speed':>6}  note"
    print(header)
    print("-" * len(header))
    for row in results:
        for name, r in row["backends"].items():
            if "graph_us" in r:
                speed = f"{r['speed_vs_best_sdpa']:.2f}" if r.get("speed_vs_best_sdpa") else "-"
                note = f"rel err {r['rel_error_vs_sdpa']:.1e}" if "rel_error_vs_sdpa" in r else ""
                print(f"{row['shape']:<28} {name:<11} {r['graph_us']:>10.1f} {r['single_us']:>10.1f} {r['tflops']:>8.1f} {speed:>6}  {note}")
            else:
                reason = r["n/a"].replace("\n", " ")
                print(f"{row['shape']:<28} {name:<11} {'n/a':>10} {'':>10} {'':>8} {'':>6}  {reason[:100]}")


if __name__ == "__main__":
    sys.exit(main())
