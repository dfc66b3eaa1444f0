"""Benchmark: base64 float32 embeddings against decimal float lists, bytes and read time.

Builds one OpenAI-style embeddings reply both ways -- ``encoding_format: "base64"`` (what
``Client.embed`` asks for) and ``"float"`` (what Ollama and llama.cpp send) -- for the same
random float32 vectors (like real embeddings: many significant digits), and prints:

- the body sizes and their ratio (float / base64): what the wire saves;
- the median time of ``parse_embeddings`` (``json.loads`` included) on each body and the
  ratio (float / base64): what reading the reply costs.

Both figures are measured in the same run; nothing here is a pass/fail test. Run it as a
script (``python tests/benchmarks/bench_embeddings.py [--inputs N --dimensions D]``) or
call ``run()``, which returns the figures.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import statistics
import struct
import sys
import time
from pathlib import Path
from typing import Any

try:
    from relay_lite.protocols._embeddings import parse_embeddings
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from relay_lite.protocols._embeddings import parse_embeddings


def bodies(inputs: int, dimensions: int, seed: int = 0) -> tuple[bytes, bytes]:
    """(base64 body, float body) of the same float32 vectors."""
    rng = random.Random(seed)
    packed = [
        struct.pack(f"<{dimensions}f", *(rng.gauss(0, 0.05) for _ in range(dimensions)))
        for _ in range(inputs)
    ]
    usage = {"prompt_tokens": inputs * 8, "total_tokens": inputs * 8}

    def reply(embedding: Any) -> bytes:
        data = [{"object": "embedding", "index": i, "embedding": embedding(p)} for i, p in enumerate(packed)]
        return json.dumps({"object": "list", "data": data, "model": "m", "usage": usage}).encode()

    as_base64 = reply(lambda p: base64.b64encode(p).decode("ascii"))
    # float32 values printed as Python prints the double they widen to, as servers do.
    as_floats = reply(lambda p: list(struct.unpack(f"<{dimensions}f", p)))
    return as_base64, as_floats


def read_time(body: bytes, inputs: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        parse_embeddings(json.loads(body), inputs)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(inputs: int = 256, dimensions: int = 1536, repeats: int = 7) -> dict[str, float]:
    """The figures: sizes in bytes, median read times in seconds, and the two ratios."""
    as_base64, as_floats = bodies(inputs, dimensions)
    assert (
        parse_embeddings(json.loads(as_base64), inputs).vectors
        == parse_embeddings(json.loads(as_floats), inputs).vectors
    )
    base64_time = read_time(as_base64, inputs, repeats)
    float_time = read_time(as_floats, inputs, repeats)
    return {
        "base64_bytes": len(as_base64),
        "float_bytes": len(as_floats),
        "size_ratio": len(as_floats) / len(as_base64),
        "base64_seconds": base64_time,
        "float_seconds": float_time,
        "time_ratio": float_time / base64_time,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--inputs", type=int, default=256)
    parser.add_argument("--dimensions", type=int, default=1536)
    args = parser.parse_args()
    figures = run(args.inputs, args.dimensions)
    print(f"{args.inputs} vectors of {args.dimensions} float32 values")
    print(
        f"body: base64 {figures['base64_bytes'] / 1e6:.2f} MB, float {figures['float_bytes'] / 1e6:.2f} MB "
        f"(float/base64 {figures['size_ratio']:.2f}x)"
    )
    print(
        f"read: base64 {figures['base64_seconds'] * 1e3:.1f} ms, "
        f"float {figures['float_seconds'] * 1e3:.1f} ms "
        f"(float/base64 {figures['time_ratio']:.2f}x)"
    )


if __name__ == "__main__":
    main()
