"""Benchmark: PartialJSONParser's total work must grow linearly with the document.

Feeds documents of n and 4n characters in small deltas (8 characters, the size of a
typical model token or two) and prints, for each document shape, the median time of
several runs and the ratio t(4n) / t(n). Linear work gives a ratio near 4; re-parsing
the buffer on every delta would give about 16.

Shapes:
- ``records``: an array of small objects, reading ``value`` and ``complete_fields``
  after every delta, as a progressive UI would.
- ``long_string``: one long string with escapes, fed without reading (the string scan).

Run it as a script (``python tests/benchmarks/bench_partial_json.py``) or call
``run()``, which returns the figures. It asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

try:
    from relay_lite._partial_json import PartialJSONParser
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from relay_lite._partial_json import PartialJSONParser


def records_document(size: int) -> str:
    """An array of small records, about ``size`` characters long."""
    records = []
    length = 2
    i = 0
    while length < size:
        record = {"id": i, "name": f"item {i}", "price": i * 1.25, "tags": ["a", "b\n"], "ok": i % 2 == 0}
        records.append(record)
        length += len(json.dumps(record)) + 2
        i += 1
    return json.dumps(records)


def long_string_document(size: int) -> str:
    """One string of about ``size`` characters, with an escape every so often."""
    chunk = 'lorem ipsum dolor sit amet \\"quoted\\" \\u00e9\\n '
    return '{"text": "' + chunk * (size // len(chunk) + 1) + '"}'


def time_feed(doc: str, delta: int, read: bool) -> float:
    """Seconds to feed ``doc`` in ``delta``-sized pieces (reading the value if ``read``)."""
    pieces = [doc[i : i + delta] for i in range(0, len(doc), delta)]
    parser = PartialJSONParser()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # as timeit does: collector pauses are noise here
    try:
        # CPU time of this process: other processes on a busy machine do not inflate it.
        start = time.process_time()
        for piece in pieces:
            parser.feed(piece)
            if read:
                _ = parser.value
                _ = parser.complete_fields
        parser.finish()
        return time.process_time() - start
    finally:
        if gc_was_enabled:
            gc.enable()


def run(size: int = 100_000, runs: int = 5, delta: int = 8) -> dict[str, Any]:
    """Time each shape at ``size`` and ``4 * size`` characters; return the figures.

    The result maps each shape name to ``{"n": chars, "4n": chars, "t_n": seconds,
    "t_4n": seconds, "ratio": t_4n / t_n}`` (times are medians over ``runs``).
    """
    shapes = {
        "records": (records_document, True),
        "long_string": (long_string_document, False),
    }
    figures: dict[str, Any] = {"delta": delta, "runs": runs}
    for name, (make, read) in shapes.items():
        small, large = make(size), make(4 * size)
        time_feed(small, delta, read)  # warm up
        t_small = statistics.median(time_feed(small, delta, read) for _ in range(runs))
        t_large = statistics.median(time_feed(large, delta, read) for _ in range(runs))
        figures[name] = {
            "n": len(small),
            "4n": len(large),
            "t_n": t_small,
            "t_4n": t_large,
            "ratio": t_large / t_small,
        }
    return figures


def main(argv: list[str] | None = None) -> int:
    """Print the figures; always exits 0 (timing is reported, not judged)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="n, in characters")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--delta", type=int, default=8, help="characters per feed")
    args = parser.parse_args(argv)
    figures = run(args.size, args.runs, args.delta)
    print(f"PartialJSONParser, {figures['delta']}-char deltas, median of {figures['runs']} runs")
    for name in ("records", "long_string"):
        f = figures[name]
        print(
            f"  {name:12} n={f['n']:>8} chars: {f['t_n'] * 1000:8.1f} ms   "
            f"4n={f['4n']:>8} chars: {f['t_4n'] * 1000:8.1f} ms   "
            f"ratio {f['ratio']:.2f} (linear ~4)   {f['4n'] / f['t_4n'] / 1e6:.2f} M chars/s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
