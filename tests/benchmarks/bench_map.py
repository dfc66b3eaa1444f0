"""``Client.map`` against a hand-written ``ThreadPoolExecutor`` loop over ``send()``.

Both send the same short chat calls with the same number of workers through a client of
the same settings, against ``bench_server.py`` run in its own process (as ``run.py``
does), so the server never competes with the client for the GIL. Rounds alternate the
two variants; the figure is the median over rounds of (map time / executor time),
measured in the same run. The server sends no rate-limit headers, so this is the cost of
the map's machinery (queue, pacing checks, results, progress bookkeeping), not of pacing.

    python tests/benchmarks/bench_map.py                     # 10,000 calls, 8 workers, 5 rounds
    python tests/benchmarks/bench_map.py --calls 2000 --rounds 3 --workers 16

Prints a short Markdown report, then one JSON line with every sample.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SERVER = str(HERE / "bench_server.py")
MODEL = "bench-model"
KEY = "sk-bench-not-a-real-key"


def start_server() -> tuple[subprocess.Popen[str], str]:
    """bench_server.py in its own process; its first stdout line says where it listens."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_LITE_")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    proc = subprocess.Popen([sys.executable, SERVER], stdout=subprocess.PIPE, env=env, text=True)
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{info['port']}"


def run_map(client: Any, calls: int, workers: int) -> tuple[float, float]:
    """(wall s, this process's CPU s) of ``calls`` calls through ``client.map``."""
    requests = [client.chat(MODEL).user(f"Say something about {i}.") for i in range(calls)]
    started, cpu = time.perf_counter(), time.process_time()
    texts = [result.get().text for result in client.map(requests, workers=workers)]
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert len(texts) == calls and all(texts)
    return took, cpu


def run_executor(client: Any, calls: int, workers: int) -> tuple[float, float]:
    """(wall s, CPU s) of the same calls by a hand-written executor loop over ``send()``."""
    requests = [client.chat(MODEL).user(f"Say something about {i}.") for i in range(calls)]
    started, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        texts = [reply.text for reply in pool.map(lambda request: request.send(), requests)]
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert len(texts) == calls and all(texts)
    return took, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    import relay_lite

    proc, base = start_server()
    try:
        options = {"api_key": KEY, "pool_size": args.workers, "env": {}}
        map_client = relay_lite.Client.compatible(base + "/openai/v1", **options)
        pool_client = relay_lite.Client.compatible(base + "/openai/v1", **options)
        # Warm both: connections open, lazy modules loaded, the record classes compiled.
        run_map(map_client, 200, args.workers)
        run_executor(pool_client, 200, args.workers)
        samples: dict[str, list[tuple[float, float]]] = {"map": [], "executor": []}
        load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        for round_number in range(args.rounds):
            # Alternate which goes first, so a slow spell does not favour one variant.
            order = ["map", "executor"] if round_number % 2 == 0 else ["executor", "map"]
            for variant in order:
                if variant == "map":
                    samples["map"].append(run_map(map_client, args.calls, args.workers))
                else:
                    samples["executor"].append(run_executor(pool_client, args.calls, args.workers))
        load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        map_client.close()
        pool_client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    def median_of(name: str, which: int) -> float:
        return statistics.median(sample[which] for sample in samples[name])

    walls = [m[0] / e[0] for m, e in zip(samples["map"], samples["executor"])]
    cpus = [m[1] / e[1] for m, e in zip(samples["map"], samples["executor"])]
    ratio, cpu_ratio = statistics.median(walls), statistics.median(cpus)
    print(f"## Bulk: {args.calls:,} short calls, {args.workers} workers, {args.rounds} rounds\n")
    print("| variant | median wall time | wall per call | median CPU time |")
    print("|---|---|---|---|")
    labels = (
        ("map", "`client.map(requests, workers=N)`"),
        ("executor", "`ThreadPoolExecutor` over `send()`"),
    )
    for name, label in labels:
        wall, cpu = median_of(name, 0), median_of(name, 1)
        print(f"| {label} | {wall:.2f} s | {wall / args.calls * 1e6:.0f} us | {cpu:.2f} s |")
    each = ", ".join(f"{r:.2f}" for r in walls)
    print(
        f"\nmap / executor: wall **{ratio:.2f}x** (median of per-round ratios {each}), CPU {cpu_ratio:.2f}x"
    )
    print(f"(load average {load_before:.1f} before, {load_after:.1f} after, on {os.cpu_count()} CPUs)\n")
    record = {"calls": args.calls, "workers": args.workers, "samples": samples, "ratio": ratio}
    print(json.dumps({**record, "cpu_ratio": cpu_ratio}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
