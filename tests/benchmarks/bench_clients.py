"""Measured workloads, run by ``run.py`` in child processes; each prints one JSON line.

Run with the interpreter whose packages the workload needs: the project's Python for
``relay_lite`` and raw ``urllib3``, the side virtualenv's Python for the official
``openai`` and ``anthropic`` SDKs. Nothing is imported at module level beyond the
standard library, so a workload pays only for what it uses.

    python bench_clients.py requests --base URL --variants relay_lite,urllib3 --n 2000 --rounds 5
    python bench_clients.py stream --base URL --variant relay_lite --reps 3
    python bench_clients.py rss_stream --base URL --variant relay_lite --chunks 452000
    python bench_clients.py decoders [--quick]
    python bench_clients.py profile_requests --base URL --n 2000
    python bench_clients.py profile_stream --base URL
    python bench_clients.py profile_cold --base URL --variant relay_lite
    python bench_clients.py tracemalloc_call --base URL --variant relay_lite
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from typing import Any, Callable, Iterator

MODEL = "bench-model"
KEY = "sk-bench-not-a-real-key"
PROMPT = "Say something."
MAX_TOKENS = 1024
# The latest relay_lite ChatStream, kept so rss_stream can look at what it accumulated.
LAST_STREAM: list[Any] = []

# -- one call, per client ----------------------------------------------------------------


def call_factory(variant: str, base: str) -> Callable[[], str]:
    """A function making one non-streaming chat call and returning the reply text."""
    if variant == "relay_lite":
        import relay_lite

        client = relay_lite.Client.compatible(base + "/openai/v1", api_key=KEY)

        def relay_call() -> str:
            return client.chat(MODEL).user(PROMPT).send().text

        return relay_call
    if variant == "urllib3":
        import urllib3

        http = urllib3.PoolManager()
        url = base + "/openai/v1/chat/completions"
        headers = {"Content-Type": "application/json", "Authorization": "Bearer " + KEY}

        def urllib3_call() -> str:
            body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": PROMPT}]}).encode()
            response = http.request("POST", url, body=body, headers=headers)
            return json.loads(response.data)["choices"][0]["message"]["content"]

        return urllib3_call
    if variant == "socket":
        return _socket_call(base)
    if variant == "openai_sdk":
        import openai

        sdk = openai.OpenAI(base_url=base + "/openai/v1", api_key=KEY)

        def openai_call() -> str:
            reply = sdk.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": PROMPT}])
            return reply.choices[0].message.content or ""

        return openai_call
    if variant == "anthropic_sdk":
        import anthropic

        asdk = anthropic.Anthropic(base_url=base + "/anthropic", api_key=KEY)

        def anthropic_call() -> str:
            reply = asdk.messages.create(
                model=MODEL, max_tokens=MAX_TOKENS, messages=[{"role": "user", "content": PROMPT}]
            )
            return reply.content[0].text  # type: ignore[union-attr]

        return anthropic_call
    raise SystemExit(f"unknown variant {variant!r}")


def _socket_call(base: str) -> Callable[[], str]:
    """The wire floor: pre-encoded request bytes on a raw keep-alive socket."""
    import socket

    host, port = base.split("://", 1)[1].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": PROMPT}]}).encode()
    request = (
        f"POST /openai/v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body

    def socket_call() -> str:
        sock.sendall(request)
        buf = b""
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                at = buf.lower().find(b"content-length:")
                length = int(buf[at + 15 : buf.find(b"\r\n", at)])
                if len(buf) >= end + 4 + length:
                    return buf[end + 4 : end + 4 + length].decode()
            buf += sock.recv(65536)

    return socket_call


def cmd_requests(args: argparse.Namespace) -> dict[str, Any]:
    """Per-call microseconds of N sequential calls, rounds interleaved between variants."""
    variants = args.variants.split(",")
    calls = {v: call_factory(v, args.base) for v in variants}
    for call in calls.values():  # warm up: connection open, lazy imports done
        for _ in range(max(20, args.n // 20)):
            call()
    per_call: dict[str, list[float]] = {v: [] for v in variants}
    cpu_per_call: dict[str, list[float]] = {v: [] for v in variants}
    for r in range(args.rounds):
        order = variants[r % len(variants) :] + variants[: r % len(variants)]
        for v in order:
            call = calls[v]
            cpu = time.process_time()
            start = time.perf_counter()
            for _ in range(args.n):
                call()
            per_call[v].append((time.perf_counter() - start) / args.n * 1e6)
            cpu_per_call[v].append((time.process_time() - cpu) / args.n * 1e6)
    return {"per_call_us": per_call, "cpu_per_call_us": cpu_per_call}


# -- streams -----------------------------------------------------------------------------


def stream_factory(variant: str, base: str) -> Callable[[], Iterator[str]]:
    """A function that starts one streamed call and yields its text pieces."""
    if variant == "floor":
        import urllib3

        http = urllib3.PoolManager()
        url = base + "/openai/v1/chat/completions"
        return _floor_stream(http, url)
    if variant == "floor_big":
        import urllib3

        return _floor_stream(urllib3.PoolManager(), base + "/big/v1/chat/completions")
    if variant in ("relay_lite", "relay_lite_big", "relay_lite_anthropic"):
        import relay_lite

        if variant == "relay_lite_anthropic":
            client = relay_lite.Client.anthropic(api_key=KEY, base_url=base + "/anthropic")
        else:
            route = "/big/v1" if variant == "relay_lite_big" else "/openai/v1"
            client = relay_lite.Client.compatible(base + route, api_key=KEY)

        def relay_stream() -> Iterator[str]:
            with client.chat(MODEL).user(PROMPT).max_tokens(MAX_TOKENS).stream() as stream:
                LAST_STREAM[:] = [stream]
                yield from stream.text()

        return relay_stream
    if variant == "openai_sdk":
        import openai

        sdk = openai.OpenAI(base_url=base + "/openai/v1", api_key=KEY)

        def openai_stream() -> Iterator[str]:
            stream = sdk.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": PROMPT}], stream=True
            )
            for chunk in stream:
                if chunk.choices:
                    content = chunk.choices[0].delta.content
                    if content:
                        yield content

        return openai_stream
    if variant == "anthropic_sdk":
        import anthropic

        asdk = anthropic.Anthropic(base_url=base + "/anthropic", api_key=KEY)

        def anthropic_stream() -> Iterator[str]:
            stream = asdk.messages.create(
                model=MODEL,
                max_tokens=MAX_TOKENS,
                messages=[{"role": "user", "content": PROMPT}],
                stream=True,
            )
            for event in stream:
                if event.type == "content_block_delta" and event.delta.type == "text_delta":
                    yield event.delta.text

        return anthropic_stream
    raise SystemExit(f"unknown variant {variant!r}")


def _floor_stream(http: Any, url: str) -> Callable[[], Iterator[str]]:
    """Raw urllib3: read1 loop, split lines, json.loads each ``data:`` line."""
    headers = {"Content-Type": "application/json", "Authorization": "Bearer " + KEY}

    def floor_stream() -> Iterator[str]:
        body = json.dumps(
            {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}], "stream": True}
        ).encode()
        response = http.request("POST", url, body=body, headers=headers, preload_content=False)
        read = getattr(response, "read1", None)
        chunks = iter(lambda: read(65536), b"") if read is not None else response.stream(65536)
        pending = b""
        for data in chunks:
            lines = (pending + data).split(b"\n")
            pending = lines.pop()
            for line in lines:
                if line.startswith(b"data: "):
                    payload = line[6:]
                    if payload == b"[DONE]":
                        continue
                    chunk = json.loads(payload)
                    choices = chunk["choices"]
                    if choices:
                        content = choices[0]["delta"].get("content")
                        if content:
                            yield content
        response.release_conn()

    return floor_stream


def cmd_stream(args: argparse.Namespace) -> dict[str, Any]:
    """Time to first chunk and total time of whole streams (one warm-up first)."""
    start_stream = stream_factory(args.variant, args.base)
    runs = []
    for rep in range(args.reps + args.warmup):
        count = 0
        ttfc = None
        cpu = time.process_time()
        start = time.perf_counter()
        for _ in start_stream():
            if ttfc is None:
                ttfc = time.perf_counter() - start
            count += 1
        total = time.perf_counter() - start
        cpu = time.process_time() - cpu
        if rep >= args.warmup:
            runs.append({"ttfc": ttfc, "total": total, "cpu": cpu, "chunks": count})
    return {"runs": runs}


def _hwm_bytes() -> int:
    """Peak RSS of this process image (VmHWM; ru_maxrss would include the parent's peak)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cmd_rss_stream(args: argparse.Namespace) -> dict[str, Any]:
    """Resident memory while consuming the ~100 MB stream: at 10%, 50% and 100%."""
    start_stream = stream_factory(args.variant, args.base)
    marks = {int(args.chunks * 0.1): "10%", int(args.chunks * 0.5): "50%", args.chunks: "100%"}
    rss: dict[str, int] = {"before": _rss_bytes()}
    count = 0
    text_chars = 0
    start = time.perf_counter()
    for piece in start_stream():
        count += 1
        text_chars += len(piece)
        label = marks.get(count)
        if label:
            rss[label] = _rss_bytes()
    elapsed = time.perf_counter() - start
    peak = _hwm_bytes()
    result = {"rss": rss, "peak": peak, "chunks": count, "text_chars": text_chars, "seconds": elapsed}
    if LAST_STREAM:
        # What the stream keeps to build stream.response: the accumulator's text pieces.
        acc = getattr(getattr(LAST_STREAM[0], "_parser", None), "acc", None)
        parts = getattr(acc, "text_parts", None)
        if isinstance(parts, list):
            result["kept_text_parts"] = len(parts)
            result["kept_text_bytes"] = sum(sys.getsizeof(p) for p in parts) + sys.getsizeof(parts)
    return result


# -- decoders ----------------------------------------------------------------------------


def _time_decoder(pieces: list[bytes]) -> tuple[float, float]:
    """(wall, CPU) seconds to feed ``pieces`` to a new SSEDecoder and close it, GC paused."""
    from relay_lite._sse import SSEDecoder

    decoder = SSEDecoder()
    gc.disable()
    try:
        cpu = time.process_time()
        start = time.perf_counter()
        for p in pieces:
            decoder.feed(p)
        decoder.close()
        return time.perf_counter() - start, time.process_time() - cpu
    finally:
        gc.enable()


def _scaling(small: bytes, large: bytes, piece: int, runs: int) -> dict[str, float]:
    """Time n and 4n alternately (so a slow spell hits both); medians and pairwise ratios."""
    split_small = [small[i : i + piece] for i in range(0, len(small), piece)]
    split_large = [large[i : i + piece] for i in range(0, len(large), piece)]
    _time_decoder(split_small)  # warm up
    walls: tuple[list[float], list[float]] = ([], [])
    cpus: tuple[list[float], list[float]] = ([], [])
    for r in range(runs):
        order = (0, 1) if r % 2 == 0 else (1, 0)
        for which in order:
            wall, cpu = _time_decoder(split_small if which == 0 else split_large)
            walls[which].append(wall)
            cpus[which].append(cpu)
    med = statistics.median
    grows = _superlinear(split_small, split_large)
    return {
        "superlinear": grows,
        "t_n": med(walls[0]),
        "t_4n": med(walls[1]),
        "ratio": med([b / a for a, b in zip(*walls)]),
        "cpu_n": med(cpus[0]),
        "cpu_4n": med(cpus[1]),
        "cpu_ratio": med([b / a for a, b in zip(*cpus)]),
    }


def _superlinear(small: list[bytes], large: list[bytes]) -> list[dict[str, Any]]:
    """cProfile both sizes; the functions whose own time grew most beyond 4x."""
    import cProfile
    import pstats

    own: list[dict[str, float]] = []
    for pieces in (small, large):
        profile = cProfile.Profile()
        profile.enable()
        _time_decoder(pieces)
        profile.disable()
        table: dict[str, float] = {}
        for (filename, line, name), (_cc, _n, tottime, _ct, _callers) in pstats.Stats(profile).stats.items():  # type: ignore[attr-defined]
            table[name if filename == "~" else f"{_short(filename)}:{line}({name})"] = tottime
        own.append(table)
    rows = []
    for func, t_large in own[1].items():
        t_small = own[0].get(func, 0.0)
        rows.append(
            {
                "func": func,
                "own_n_ms": t_small * 1e3,
                "own_4n_ms": t_large * 1e3,
                "beyond_4x_ms": (t_large - 4 * t_small) * 1e3,
            }
        )
    rows.sort(key=lambda r: -r["beyond_4x_ms"])
    return rows[:5]


def cmd_decoders(args: argparse.Namespace) -> dict[str, Any]:
    """SSEDecoder time for n and 4n bytes in several shapes; then bench_partial_json.run()."""
    from bench_server import openai_stream_parts

    runs = 7 if args.quick else 9
    _, block, _ = openai_stream_parts(1000)

    def events(size: int) -> bytes:
        return (block * (size // len(block) + 1))[:size].rsplit(b"\n\n", 1)[0] + b"\n\n"

    def crlf_events(size: int) -> bytes:
        return events(size).replace(b"\n", b"\r\n")

    def long_line(size: int) -> bytes:
        return b"data: " + b"x" * size + b"\n\n"

    n_big = 512 * 1024 if args.quick else 2 * 1024 * 1024
    n_small = 256 * 1024 if args.quick else 512 * 1024
    shapes = [
        ("OpenAI events, 64 KiB reads", events, n_big, 65536),
        ("OpenAI events, 16-byte reads", events, n_small, 16),
        ("CRLF events, 64 KiB reads", crlf_events, n_big, 65536),
        ("one long data line, 256-byte reads", long_line, n_big, 256),
    ]
    sse = []
    for name, make, n, piece in shapes:
        small, large = make(n), make(4 * n)
        sse.append(
            {
                "shape": name,
                "n": len(small),
                "4n": len(large),
                "runs": runs,
                **_scaling(small, large, piece, runs),
            }
        )

    import bench_partial_json

    # run() is called several times and the median call (by ratio) is kept per shape.
    calls = [
        bench_partial_json.run(size=50_000, runs=3) if args.quick else bench_partial_json.run()
        for _ in range(3)
    ]
    partial: dict[str, Any] = {"calls": len(calls), "delta": calls[0]["delta"], "runs": calls[0]["runs"]}
    for shape in ("records", "long_string"):
        ranked = sorted((c[shape] for c in calls), key=lambda f: f["ratio"])
        partial[shape] = ranked[len(ranked) // 2]
        partial[shape]["all_ratios"] = [f["ratio"] for f in ranked]
    import bench_anthropic_tool_args

    tool_args = bench_anthropic_tool_args.run(fragments=5_000 if args.quick else 20_000)
    return {"sse": sse, "partial_json": partial, "anthropic_tool_args": tool_args}


# -- profiles ----------------------------------------------------------------------------


def _group(filename: str, name: str) -> str:
    path = filename.replace("\\", "/")
    if "/relay_lite/" in path:
        return "relay_lite"
    if "/urllib3/" in path:
        return "urllib3"
    if path.endswith("/http/client.py"):
        return "http.client"
    if "/json/" in path:
        return "json"
    if path.endswith(("/socket.py", "/ssl.py", "/selectors.py")):
        return "socket"
    if "/email/" in path:
        return "email (header parsing)"
    if path == "~":
        if "socket" in name or "recv" in name or "send" in name:
            return "socket"
        if "json" in name or "scanner" in name or "encode" in name and "Encoder" in name:
            return "json"
        return "C builtins"
    return "other stdlib"


def _short(filename: str) -> str:
    path = filename.replace("\\", "/")
    for marker in ("/relay_lite/", "/urllib3/", "/site-packages/", "/lib/python"):
        at = path.find(marker)
        if at >= 0:
            start = at + 1 if marker in ("/relay_lite/", "/urllib3/") else at + len(marker)
            return path[start:]
    return path


def profile_summary(profile: Any, units: int, top: int = 14) -> dict[str, Any]:
    """Top functions by own time and totals per package, in microseconds per unit."""
    import pstats

    stats = pstats.Stats(profile)
    rows = []
    groups: dict[str, float] = {}
    total = 0.0
    for (filename, line, name), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        group = _group(filename, name)
        groups[group] = groups.get(group, 0.0) + tottime
        total += tottime
        where = name if filename == "~" else f"{_short(filename)}:{line}({name})"
        rows.append(
            {
                "func": where,
                "group": group,
                "own_us": tottime / units * 1e6,
                "cum_us": cumtime / units * 1e6,
                "calls": ncalls / units,
            }
        )
    rows.sort(key=lambda r: -r["own_us"])
    return {
        "units": units,
        "total_us": total / units * 1e6,
        "groups_us": {k: v / units * 1e6 for k, v in sorted(groups.items(), key=lambda kv: -kv[1])},
        "top": rows[:top],
        "top_relay_lite": [r for r in rows if r["group"] == "relay_lite"][:10],
        "top_relay_lite_cum": sorted(
            (r for r in rows if r["group"] == "relay_lite"), key=lambda r: -r["cum_us"]
        )[:10],
    }


def cmd_profile_requests(args: argparse.Namespace) -> dict[str, Any]:
    import cProfile

    out = {}
    for variant in ("urllib3", "relay_lite"):
        call = call_factory(variant, args.base)
        for _ in range(50):
            call()
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.n):
            call()
        profile.disable()
        out[variant] = profile_summary(profile, args.n)
    return out


def cmd_profile_stream(args: argparse.Namespace) -> dict[str, Any]:
    import cProfile

    out = {}
    for variant in ("floor", "relay_lite"):
        start_stream = stream_factory(variant, args.base)
        count = sum(1 for _ in start_stream())
        profile = cProfile.Profile()
        profile.enable()
        count = sum(1 for _ in start_stream())
        profile.disable()
        out[variant] = profile_summary(profile, count)
    return out


def cmd_profile_cold(args: argparse.Namespace) -> dict[str, Any]:
    """Profile, in this fresh process, the first call after import and client set-up.

    (Import and client set-up are profiled by ``profile_import``.)
    """
    import cProfile

    call = call_factory(args.variant, args.base)
    profile = cProfile.Profile()
    profile.enable()
    call()
    profile.disable()
    return profile_summary(profile, 1, top=20)


def cmd_profile_import(args: argparse.Namespace) -> dict[str, Any]:
    """cProfile of ``import relay_lite`` + ``Client.compatible()`` after ``import urllib3``.

    Runs in a fresh process. cProfile itself does not import dataclasses; pstats does,
    so it is imported only afterwards.
    """
    import cProfile

    import urllib3  # noqa: F401 - the baseline, already paid

    before = set(sys.modules)
    profile = cProfile.Profile()
    profile.enable()
    import relay_lite

    relay_lite.Client.compatible(args.base + "/openai/v1", api_key=KEY)
    profile.disable()
    new = sorted(set(sys.modules) - before)
    summary = profile_summary(profile, 1, top=25)
    import pstats

    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    by_func: dict[str, float] = {}
    calls: dict[str, int] = {}
    for (filename, _line, name), (_cc, ncalls, _tt, cumtime, _callers) in stats.items():
        key = f"{_short(filename)}({name})"
        by_func[key] = by_func.get(key, 0.0) + cumtime
        calls[key] = calls.get(key, 0) + ncalls
    picks = {
        "dataclass creation (`dataclasses._process_class`)": "3.{}/dataclasses.py(_process_class)",
        "`import dataclasses` (with inspect, ast, dis)": "3.{}/dataclasses.py(<module>)",
        "`import platform` (for the User-Agent)": "3.{}/platform.py(<module>)",
        "Record class creation (`Record.__init_subclass__`)": "relay_lite/_record.py(__init_subclass__)",
        "`relay_lite.protocols.openai` import (in `Client()`)": "relay_lite/protocols/openai.py(<module>)",
    }
    minor = sys.version_info[1]
    named = {}
    for label, key in picks.items():
        key = key.format(minor)
        named[label] = {"us": by_func.get(key, 0.0) * 1e6, "calls": calls.get(key, 0)}
    summary.update({"new_modules": new, "named": named})
    return summary


def cmd_tracemalloc_call(args: argparse.Namespace) -> dict[str, Any]:
    """Python allocations still held after import + one call, by file."""
    import tracemalloc

    tracemalloc.start()
    before = set(sys.modules)
    call = call_factory(args.variant, args.base)
    call()
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    stats = snapshot.statistics("filename")
    total = sum(s.size for s in stats)
    by_group: dict[str, int] = {}
    for s in stats:
        filename = s.traceback[0].filename
        by_group[_group(filename, "")] = by_group.get(_group(filename, ""), 0) + s.size
    return {
        "total_bytes": total,
        "by_group": dict(sorted(by_group.items(), key=lambda kv: -kv[1])),
        "top": [{"file": _short(s.traceback[0].filename), "bytes": s.size} for s in stats[:12]],
        "new_modules": sorted(set(sys.modules) - before),
    }


def cmd_shapes(args: argparse.Namespace) -> dict[str, Any]:
    """Per-event and bulk streams, relay_lite vs the lean parser vs raw urllib3 (issue 14)."""
    import bench_shapes

    result = bench_shapes.run(args.base, args.rounds, args.warmup)
    result["ttfc"] = bench_shapes.run_ttfc(args.base, args.rounds, max(20, args.n))
    return result


def cmd_profile_shapes(args: argparse.Namespace) -> dict[str, Any]:
    """cProfile of relay_lite and the lean parser on one stream of each provider and shape."""
    import bench_shapes

    return {
        f"{p}/{s}": bench_shapes.profile(args.base, p, s)
        for p in bench_shapes.PROVIDERS
        for s in bench_shapes.STREAM_SHAPES
    }


COMMANDS = {
    "requests": cmd_requests,
    "stream": cmd_stream,
    "rss_stream": cmd_rss_stream,
    "decoders": cmd_decoders,
    "profile_requests": cmd_profile_requests,
    "profile_stream": cmd_profile_stream,
    "profile_cold": cmd_profile_cold,
    "profile_import": cmd_profile_import,
    "tracemalloc_call": cmd_tracemalloc_call,
    "shapes": cmd_shapes,
    "profile_shapes": cmd_profile_shapes,
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("--base", default="")
    parser.add_argument("--variant", default="relay_lite")
    parser.add_argument("--variants", default="relay_lite,urllib3")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--chunks", type=int, default=0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one core")
    args = parser.parse_args()
    if args.cpu is not None and hasattr(os, "sched_setaffinity") and args.cpu in os.sched_getaffinity(0):
        os.sched_setaffinity(0, {args.cpu})
    result = COMMANDS[args.command](args)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
