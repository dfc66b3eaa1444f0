"""relay_lite benchmarks: one command, one Markdown report.

From a fresh clone (any Python 3.9+ on Linux with urllib3 installed, e.g. the README's
``.venv``)::

    python tests/benchmarks/run.py                  # full run, about 5 minutes
    python tests/benchmarks/run.py --quick          # fewer repetitions, under 2 minutes
    python tests/benchmarks/run.py --output tests/benchmarks/RESULTS.md

For the comparison rows it creates (or reuses) a side virtualenv, by default
``/tmp/relay-bench-sdks``, with the official SDKs from PyPI::

    python -m venv /tmp/relay-bench-sdks
    /tmp/relay-bench-sdks/bin/python -m pip install openai anthropic

(``--sdk-venv PATH`` picks another place, ``--no-sdks`` skips them). If the install
fails, the SDK rows are left out with a note and everything else still runs.

relay_lite is imported from this checkout (its root is put on ``PYTHONPATH`` of every
child process). A local server (``bench_server.py``) runs in its own process and sends
pre-rendered bytes; every workload (``bench_clients.py`` or a ``-c`` script) runs in a
child process, so neither the server nor this script shares a GIL with what is measured.
Every figure is a median of repeated runs, variants interleaved, and is reported as a
ratio to a baseline measured in the same run. Sections:

1. import: ``import relay_lite`` vs ``import urllib3`` (and the SDKs) in fresh interpreters
2. cold call: a whole process that imports, builds a client, makes one call and exits
3. request overhead: sequential keep-alive calls vs raw ``urllib3`` + ``json.loads``
4. streaming: a 20,000-chunk SSE stream vs a raw urllib3 read1 + split + json.loads floor
5. memory: peak RSS after one call; RSS while consuming a ~100 MB stream
6. decoder scaling: SSEDecoder at n and 4n bytes; bench_partial_json.run()

Where a target is missed, the report names the cause measured with cProfile (or
``-X importtime`` / tracemalloc for import and memory).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CLIENTS = str(HERE / "bench_clients.py")
SERVER = str(HERE / "bench_server.py")
DEFAULT_VENV = "/tmp/relay-bench-sdks"
SDK_PACKAGES = ("openai", "anthropic")

TARGETS = {
    "import": 1.2,  # relay_lite / urllib3, at most
    "cold": 1.3,  # relay_lite process / raw urllib3 process, at most
    "requests": 1.25,  # per-call time / raw urllib3 + json, at most
    "stream_floor": 0.7,  # chunks/s / floor chunks/s, at least
    "stream_sdk": 2.0,  # chunks/s / official SDK chunks/s, at least
    "rss": 1.2,  # peak RSS / urllib3 alone, at most
    "decoder": (3.0, 5.0),  # t(4n) / t(n)
}

SETTINGS = {
    "full": {
        "import_runs": 21,
        "cold_runs": 15,
        "req_n": 2000,
        "req_rounds": 7,
        "sdk_req_n": 300,
        "sdk_req_rounds": 5,
        "stream_rounds": 3,
        "stream_reps": 3,
        "sdk_stream_rounds": 3,
        "sdk_stream_reps": 1,
        "rss_stream_reps": 3,
        "profile_n": 2000,
        "importtime_runs": 7,
    },
    "quick": {
        "import_runs": 15,
        "cold_runs": 7,
        "req_n": 500,
        "req_rounds": 5,
        "sdk_req_n": 100,
        "sdk_req_rounds": 3,
        "stream_rounds": 1,
        "stream_reps": 3,
        "sdk_stream_rounds": 1,
        "sdk_stream_reps": 1,
        "rss_stream_reps": 1,
        "profile_n": 500,
        "importtime_runs": 5,
    },
}

MODEL = "bench-model"
KEY = "sk-bench-not-a-real-key"


def log(message: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# -- child processes -------------------------------------------------------------------------


def child_env(sdk: bool) -> dict[str, str]:
    """The environment of a measured child: no proxies, no relay_lite/SDK settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RELAY_LITE_", "OPENAI_", "ANTHROPIC_", "PYTHON"))
        and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    if not sdk:
        env["PYTHONPATH"] = str(REPO)
    return env


def run_child(python: str, args: list[str], *, sdk: bool = False, timeout: float = 600) -> tuple[float, Any]:
    """Run a child to completion; return (wall seconds, its last stdout line as JSON)."""
    start = time.perf_counter()
    proc = subprocess.run(
        [python, *args],
        env=child_env(sdk),
        cwd="/tmp" if os.path.isdir("/tmp") else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=timeout,
        text=True,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"child {args[:2]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    lines = proc.stdout.strip().splitlines()
    return wall, json.loads(lines[-1]) if lines else None


def clients(python: str, command: str, *options: str, sdk: bool = False) -> Any:
    return run_child(python, [CLIENTS, command, *options], sdk=sdk)[1]


# -- the side virtualenv with the official SDKs ----------------------------------------------


class Sdks:
    def __init__(self, python: Optional[str], versions: dict[str, str], note: str) -> None:
        self.python = python
        self.versions = versions
        self.note = note

    def has(self, package: str) -> bool:
        return self.python is not None and package in self.versions


def _sdk_versions(python: Path) -> dict[str, str]:
    code = (
        "import importlib, json\nout = {}\n"
        f"for name in {SDK_PACKAGES!r}:\n"
        "    try:\n        out[name] = importlib.import_module(name).__version__\n"
        "    except Exception:\n        pass\nprint(json.dumps(out))"
    )
    try:
        proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=120)
        return json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else {}
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return {}


def setup_sdks(venv: str, skip: bool) -> Sdks:
    if skip:
        return Sdks(None, {}, "official SDK rows skipped (--no-sdks)")
    python = Path(venv) / "bin" / "python"
    versions = _sdk_versions(python) if python.exists() else {}
    if len(versions) < len(SDK_PACKAGES):
        log(f"creating the SDK virtualenv {venv} (python -m venv + pip install {' '.join(SDK_PACKAGES)})")
        try:
            if not python.exists():
                subprocess.run(
                    [sys.executable, "-m", "venv", venv], check=True, capture_output=True, timeout=300
                )
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *SDK_PACKAGES],
                check=True,
                capture_output=True,
                timeout=900,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            if isinstance(detail, bytes):
                detail = detail.decode("utf-8", "replace")
            log(f"SDK install failed: {exc} {detail[-500:]}")
        versions = _sdk_versions(python) if python.exists() else {}
    missing = [p for p in SDK_PACKAGES if p not in versions]
    note = f"side virtualenv {venv}: " + ", ".join(f"{k} {v}" for k, v in versions.items())
    if missing:
        note += f"; could not install {', '.join(missing)}: those rows are skipped"
    return Sdks(str(python) if versions else None, versions, note)


# -- the server ------------------------------------------------------------------------------


class Server:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, SERVER], stdout=subprocess.PIPE, env=child_env(False), text=True
        )
        assert self.proc.stdout is not None
        info = json.loads(self.proc.stdout.readline())
        self.base = f"http://127.0.0.1:{info['port']}"
        self.big_chunks = info["big_chunks"]
        self.big_bytes = info["big_bytes"]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# -- 1. import -------------------------------------------------------------------------------

IMPORT_CODE = "import time\nt = time.perf_counter()\nimport {module}\nprint(repr(time.perf_counter() - t))"


def bench_import(cfg: dict[str, Any], sdks: Sdks) -> dict[str, Any]:
    variants = [("urllib3", sys.executable, False), ("relay_lite", sys.executable, False)]
    for package in SDK_PACKAGES:
        if sdks.has(package):
            variants.append((package, str(sdks.python), True))
    for module, python, sdk in variants:  # warm up: write .pyc files, fill the page cache
        run_child(python, ["-c", IMPORT_CODE.format(module=module)], sdk=sdk)
    samples: dict[str, list[float]] = {v[0]: [] for v in variants}
    for i in range(cfg["import_runs"]):
        for module, python, sdk in variants[i % len(variants) :] + variants[: i % len(variants)]:
            _, seconds = run_child(python, ["-c", IMPORT_CODE.format(module=module)], sdk=sdk)
            samples[module].append(seconds)
    return {"samples": samples, "median": {k: median(v) for k, v in samples.items()}}


def importtime_cause(runs: int) -> list[tuple[str, float]]:
    """Median self time (µs) of each module that relay_lite imports beyond urllib3."""
    per_module: dict[str, list[float]] = {}
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import urllib3; import relay_lite"],
            env=child_env(False),
            capture_output=True,
            text=True,
            cwd="/tmp",
        )
        after_urllib3 = False
        for line in proc.stderr.splitlines():
            if not line.startswith("import time:") or "|" not in line:
                continue
            parts = line[len("import time:") :].split("|")
            try:
                self_us = float(parts[0])
            except ValueError:
                continue
            name = parts[2].rstrip()
            if after_urllib3:
                per_module.setdefault(name.strip(), []).append(self_us)
            if name.strip() == "urllib3" and len(name) - len(name.lstrip()) <= 1:
                after_urllib3 = True
    rows = [(name, median(v)) for name, v in per_module.items()]
    return sorted(rows, key=lambda r: -r[1])


# -- 2. cold call + 5a. RSS after one call --------------------------------------------------

COLD_PREFIX = "import time, resource\nt0 = time.perf_counter()\n"
COLD_SUFFIX = (
    "import json\nprint(json.dumps({{'import': t1 - t0, 'client': t2 - t1, 'call': t3 - t2, "
    "'rss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 'ok': len(text) > 10}}))"
)
COLD_SCRIPTS = {
    "python -c pass": "t1 = t2 = t3 = t0\ntext = 'nothing at all'\n",
    "urllib3": (
        "import json, urllib3\nt1 = time.perf_counter()\nhttp = urllib3.PoolManager()\n"
        "t2 = time.perf_counter()\n"
        "body = json.dumps({{'model': {model!r}, 'messages': [{{'role': 'user', 'content': 'Say something.'}}]}})\n"
        "r = http.request('POST', {base!r} + '/openai/v1/chat/completions', body=body.encode(),\n"
        "                 headers={{'Content-Type': 'application/json', 'Authorization': 'Bearer ' + {key!r}}})\n"
        "text = json.loads(r.data)['choices'][0]['message']['content']\nt3 = time.perf_counter()\n"
    ),
    "relay_lite": (
        "import relay_lite\nt1 = time.perf_counter()\n"
        "client = relay_lite.Client.compatible({base!r} + '/openai/v1', api_key={key!r})\n"
        "t2 = time.perf_counter()\n"
        "text = client.chat({model!r}).user('Say something.').send().text\nt3 = time.perf_counter()\n"
    ),
    "openai": (
        "import openai\nt1 = time.perf_counter()\n"
        "client = openai.OpenAI(base_url={base!r} + '/openai/v1', api_key={key!r})\n"
        "t2 = time.perf_counter()\n"
        "r = client.chat.completions.create(model={model!r}, messages=[{{'role': 'user', "
        "'content': 'Say something.'}}])\ntext = r.choices[0].message.content\nt3 = time.perf_counter()\n"
    ),
    "anthropic": (
        "import anthropic\nt1 = time.perf_counter()\n"
        "client = anthropic.Anthropic(base_url={base!r} + '/anthropic', api_key={key!r})\n"
        "t2 = time.perf_counter()\n"
        "r = client.messages.create(model={model!r}, max_tokens=1024, messages=[{{'role': 'user', "
        "'content': 'Say something.'}}])\ntext = r.content[0].text\nt3 = time.perf_counter()\n"
    ),
}


def bench_cold(cfg: dict[str, Any], sdks: Sdks, base: str) -> dict[str, Any]:
    variants = [(n, sys.executable, False) for n in ("python -c pass", "urllib3", "relay_lite")]
    variants += [(p, str(sdks.python), True) for p in SDK_PACKAGES if sdks.has(p)]
    codes = {
        name: COLD_PREFIX + COLD_SCRIPTS[name].format(base=base, key=KEY, model=MODEL) + COLD_SUFFIX.format()
        for name, _, _ in variants
    }
    for name, python, sdk in variants:  # warm up
        run_child(python, ["-c", codes[name]], sdk=sdk)
    samples: dict[str, list[dict[str, float]]] = {v[0]: [] for v in variants}
    for i in range(cfg["cold_runs"]):
        for name, python, sdk in variants[i % len(variants) :] + variants[: i % len(variants)]:
            wall, inner = run_child(python, ["-c", codes[name]], sdk=sdk)
            if not inner.get("ok"):
                raise RuntimeError(f"cold call {name} returned no text")
            inner["wall"] = wall
            samples[name].append(inner)
    med = {
        name: {key: median([s[key] for s in runs]) for key in ("wall", "import", "client", "call", "rss_kb")}
        for name, runs in samples.items()
    }
    return {"samples": samples, "median": med}


# -- 3. request overhead ---------------------------------------------------------------------


def bench_requests(cfg: dict[str, Any], sdks: Sdks, base: str) -> dict[str, Any]:
    main = clients(
        sys.executable,
        "requests",
        "--base",
        base,
        "--variants",
        "urllib3,relay_lite,socket",
        "--n",
        str(cfg["req_n"]),
        "--rounds",
        str(cfg["req_rounds"]),
    )["per_call_us"]
    sdk_variants = [f"{p}_sdk" for p in SDK_PACKAGES if sdks.has(p)]
    if sdk_variants:
        main.update(
            clients(
                str(sdks.python),
                "requests",
                "--base",
                base,
                "--variants",
                ",".join(sdk_variants),
                "--n",
                str(cfg["sdk_req_n"]),
                "--rounds",
                str(cfg["sdk_req_rounds"]),
                sdk=True,
            )["per_call_us"]
        )
    return {"samples": main, "median": {k: median(v) for k, v in main.items()}}


# -- 4. streaming ----------------------------------------------------------------------------


def bench_stream(cfg: dict[str, Any], sdks: Sdks, base: str) -> dict[str, Any]:
    plan = [("floor", sys.executable, False), ("relay_lite", sys.executable, False)]
    plan.append(("relay_lite_anthropic", sys.executable, False))
    sdk_plan = [(f"{p}_sdk", str(sdks.python), True) for p in SDK_PACKAGES if sdks.has(p)]
    runs: dict[str, list[dict[str, float]]] = {v[0]: [] for v in plan + sdk_plan}
    for i in range(cfg["stream_rounds"]):
        for variant, python, sdk in plan[i % len(plan) :] + plan[: i % len(plan)]:
            out = clients(
                python, "stream", "--base", base, "--variant", variant, "--reps", str(cfg["stream_reps"])
            )
            runs[variant] += out["runs"]
    for _ in range(cfg["sdk_stream_rounds"]):
        for variant, python, sdk in sdk_plan:
            out = clients(
                python,
                "stream",
                "--base",
                base,
                "--variant",
                variant,
                "--reps",
                str(cfg["sdk_stream_reps"]),
                sdk=sdk,
            )
            runs[variant] += out["runs"]
    med = {}
    for variant, items in runs.items():
        if not items:
            continue
        if any(r["chunks"] != items[0]["chunks"] for r in items):
            raise RuntimeError(f"{variant}: chunk counts differ between runs")
        med[variant] = {
            "chunks": items[0]["chunks"],
            "chunks_per_s": median([r["chunks"] / r["total"] for r in items]),
            "ttfc_ms": median([r["ttfc"] * 1000 for r in items]),
            "total_ms": median([r["total"] * 1000 for r in items]),
            "runs": len(items),
        }
    return {"samples": runs, "median": med}


# -- 5b. memory while streaming ~100 MB ------------------------------------------------------


def bench_rss_stream(cfg: dict[str, Any], server: Server) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {"floor_big": [], "relay_lite_big": []}
    for _ in range(cfg["rss_stream_reps"]):
        for variant in runs:
            out = clients(
                sys.executable,
                "rss_stream",
                "--base",
                server.base,
                "--variant",
                variant,
                "--chunks",
                str(server.big_chunks),
            )
            if out["chunks"] != server.big_chunks:
                raise RuntimeError(f"{variant} got {out['chunks']} of {server.big_chunks} chunks")
            runs[variant].append(out)
    med: dict[str, dict[str, float]] = {}
    for variant, items in runs.items():
        m = {label: median([r["rss"][label] for r in items]) for label in ("before", "10%", "50%", "100%")}
        m["growth"] = median([r["rss"]["100%"] - r["rss"]["10%"] for r in items])
        m["peak"] = median([r["peak"] for r in items])
        m["text_chars"] = items[0]["text_chars"]
        m["seconds"] = median([r["seconds"] for r in items])
        if "kept_text_parts" in items[0]:
            m["kept_text_parts"] = items[0]["kept_text_parts"]
            m["kept_text_bytes"] = median([r["kept_text_bytes"] for r in items])
        med[variant] = m
    return {"samples": runs, "median": med, "bytes": server.big_bytes, "chunks": server.big_chunks}


# -- report ----------------------------------------------------------------------------------


def machine_info(sdks: Sdks) -> list[tuple[str, str]]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    os_name = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = f"{line.split('=', 1)[1].strip(chr(34))} ({platform.platform()})"
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    import urllib3

    versions = subprocess.run(
        [sys.executable, "-c", "import relay_lite; print(relay_lite.__version__)"],
        env=child_env(False),
        capture_output=True,
        text=True,
    ).stdout.strip()
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        ("CPU", cpu),
        ("cores", f"{os.cpu_count()} (usable by this process: {affinity})"),
        ("memory", mem),
        ("OS", os_name),
        ("Python", f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})"),
        ("urllib3", urllib3.__version__),
        ("relay_lite", f"{versions} (from {REPO})"),
        ("official SDKs", sdks.note),
    ]


def fmt_ratio(value: float) -> str:
    return f"{value:.2f}x"


def verdict(ok: bool) -> str:
    return "yes" if ok else "**NO**"


class Report:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.summary: list[tuple[str, str, str, bool]] = []
        self.gaps: list[str] = []

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.lines.append("| " + " | ".join(header) + " |")
        self.lines.append("|" + "|".join("---" for _ in header) + "|")
        for row in rows:
            self.lines.append("| " + " | ".join(row) + " |")
        self.lines.append("")

    def target(self, name: str, figure: str, target: str, ok: bool) -> str:
        self.summary.append((name, figure, target, ok))
        return verdict(ok)


def _profile_lines(
    summary: dict[str, Any], unit: str, baseline: Optional[dict[str, Any]] = None
) -> list[str]:
    groups = summary["groups_us"]
    if baseline is not None:
        base_groups = baseline["groups_us"]
        names = sorted(
            set(groups) | set(base_groups), key=lambda g: -(groups.get(g, 0) - base_groups.get(g, 0))
        )
        parts = [f"{g} {groups.get(g, 0) - base_groups.get(g, 0):+.1f}" for g in names]
        lines = [
            f"  - cProfile own time per {unit}, relay_lite run minus baseline run (µs, profiler overhead "
            f"included; totals {summary['total_us']:.1f} vs {baseline['total_us']:.1f}): " + ", ".join(parts)
        ]
    else:
        lines = [
            f"  - cProfile own time per {unit} by package (µs): "
            + ", ".join(f"{g} {v:.1f}" for g, v in groups.items())
        ]
    tops = ", ".join(
        f"`{r['func']}` {r['own_us']:.2f} µs ({r['calls']:.2f} calls)" for r in summary["top_relay_lite"][:6]
    )
    lines.append(f"  - relay_lite functions with the most own time per {unit}: {tops}")
    top_all = ", ".join(f"`{r['func']}` {r['own_us']:.2f}" for r in summary["top"][:6])
    lines.append(f"  - all functions, most own time per {unit} (µs): {top_all}")
    return lines


def write_report(path: Path, ctx: dict[str, Any]) -> None:
    r = Report()
    cfg = ctx["cfg"]
    sdks: Sdks = ctx["sdks"]

    # 1. import
    imp = ctx["import"]["median"]
    ratio = imp["relay_lite"] / imp["urllib3"]
    sec1 = Report()
    sec1.add("## 1. Import", "")
    sec1.add(
        f"Fresh interpreter per sample; `time.perf_counter()` around the import statement inside the child. "
        f"Median of {cfg['import_runs']} runs per variant, variants interleaved, after one warm-up run each "
        "(`.pyc` files written). relay_lite's figure includes importing urllib3.",
        "",
    )
    rows = [
        [
            "`import relay_lite`",
            f"{imp['urllib3'] * 1000:.1f} ms (`import urllib3`)",
            f"{imp['relay_lite'] * 1000:.1f} ms",
            fmt_ratio(ratio),
            "≤ 1.2x",
            r.target("import vs urllib3", fmt_ratio(ratio), "≤ 1.2x", ratio <= TARGETS["import"]),
        ]
    ]
    for package in SDK_PACKAGES:
        if package in imp:
            rows.append(
                [
                    f"vs `import {package}` (side venv)",
                    f"{imp[package] * 1000:.1f} ms",
                    f"{imp['relay_lite'] * 1000:.1f} ms",
                    fmt_ratio(imp["relay_lite"] / imp[package]),
                    "—",
                    "—",
                ]
            )
    sec1.table(["measure", "baseline", "relay_lite", "ratio", "target", "met?"], rows)
    if ratio > TARGETS["import"]:
        cause = ctx["importtime"]
        total = sum(v for _, v in cause)
        top = ", ".join(f"`{name}` {us / 1000:.2f} ms" for name, us in cause[:10])
        gap = f"+{(imp['relay_lite'] - imp['urllib3']) * 1000:.1f} ms"
        line = (
            f"- **import: {fmt_ratio(ratio)} vs ≤ 1.2x ({gap} over urllib3).** Measured cause (`-X importtime`, "
            f"median self time of the {len(cause)} modules imported after urllib3, {cfg['importtime_runs']} runs, "
            f"sum {total / 1000:.1f} ms with importtime's overhead): {top}."
        )
        sec1.add(line, "")
        r.gaps.append(line)

    # 2. cold call
    cold = ctx["cold"]["median"]
    base_wall = cold["urllib3"]["wall"]
    ratio = cold["relay_lite"]["wall"] / base_wall
    sec2 = Report()
    sec2.add("## 2. Cold call", "")
    sec2.add(
        "A whole process (`python -c ...`): import, build a client, one non-streaming chat call to the local "
        "server, exit; wall time measured by the parent (interpreter start-up included: what a Lambda cold "
        f"start pays). Median of {cfg['cold_runs']} runs per variant, interleaved. The phase columns are "
        "measured inside the child.",
        "",
    )
    rows = []
    for name in cold:
        c = cold[name]
        rows.append(
            [
                f"`{name}`",
                f"{c['wall'] * 1000:.1f} ms",
                f"{c['import'] * 1000:.1f}",
                f"{c['client'] * 1000:.2f}",
                f"{c['call'] * 1000:.2f}",
                fmt_ratio(c["wall"] / base_wall),
            ]
        )
    sec2.table(
        ["process", "wall", "import ms", "client ms", "first call ms", "ratio to urllib3 script"], rows
    )
    rows = [
        [
            "cold call",
            f"{base_wall * 1000:.1f} ms (raw urllib3 script)",
            f"{cold['relay_lite']['wall'] * 1000:.1f} ms",
            fmt_ratio(ratio),
            "≤ 1.3x",
            r.target("cold call vs urllib3 script", fmt_ratio(ratio), "≤ 1.3x", ratio <= TARGETS["cold"]),
        ]
    ]
    for package in SDK_PACKAGES:
        if package in cold:
            rows.append(
                [
                    f"vs official `{package}` SDK",
                    f"{cold[package]['wall'] * 1000:.1f} ms",
                    f"{cold['relay_lite']['wall'] * 1000:.1f} ms",
                    fmt_ratio(cold["relay_lite"]["wall"] / cold[package]["wall"]),
                    "—",
                    "—",
                ]
            )
    sec2.table(["measure", "baseline", "relay_lite", "ratio", "target", "met?"], rows)
    if ratio > TARGETS["cold"]:
        rl, u3 = cold["relay_lite"], cold["urllib3"]
        line = (
            f"- **cold call: {fmt_ratio(ratio)} vs ≤ 1.3x (+{(rl['wall'] - u3['wall']) * 1000:.1f} ms).** Phases "
            f"(relay_lite vs urllib3): import +{(rl['import'] - u3['import']) * 1000:.1f} ms, client "
            f"+{(rl['client'] - u3['client']) * 1000:.2f} ms, first call +{(rl['call'] - u3['call']) * 1000:.2f} ms."
        )
        prof = ctx.get("profile_cold")
        if prof:
            cum = ", ".join(
                f"`{x['func']}` {x['cum_us'] / 1000:.2f} ms"
                for x in prof["relay_lite"]["top_relay_lite_cum"][:6]
            )
            line += f" cProfile of the relay_lite child, relay_lite functions by cumulative time: {cum}."
        sec2.add(line, "")
        r.gaps.append(line)

    # 3. request overhead
    req = ctx["requests"]["median"]
    ratio = req["relay_lite"] / req["urllib3"]
    sec3 = Report()
    sec3.add("## 3. Request overhead (keep-alive)", "")
    sec3.add(
        f"One child process; {cfg['req_n']} sequential non-streaming calls per round, {cfg['req_rounds']} rounds, "
        "variants interleaved round by round, each on its own kept-alive connection after a warm-up. relay_lite: "
        "`client.chat(model).user(prompt).send()` (builder included); baseline: `PoolManager.request` with a "
        "`json.dumps` body + `json.loads` of the reply. The raw-socket row (pre-encoded request bytes, no HTTP "
        "library) is the server + kernel round trip: the floor under both.",
        "",
    )
    rows = [
        [
            "per call",
            f"{req['urllib3']:.1f} µs",
            f"{req['relay_lite']:.1f} µs",
            fmt_ratio(ratio),
            "≤ 1.25x",
            r.target(
                "request overhead vs urllib3+json", fmt_ratio(ratio), "≤ 1.25x", ratio <= TARGETS["requests"]
            ),
        ]
    ]
    rows.append(["raw socket round trip (server + kernel)", f"{req['socket']:.1f} µs", "—", "—", "—", "—"])
    for package in SDK_PACKAGES:
        key = f"{package}_sdk"
        if key in req:
            rows.append(
                [
                    f"vs official `{package}` SDK ({cfg['sdk_req_n']} calls x {cfg['sdk_req_rounds']})",
                    f"{req[key]:.1f} µs",
                    f"{req['relay_lite']:.1f} µs",
                    fmt_ratio(req["relay_lite"] / req[key]),
                    "—",
                    "—",
                ]
            )
    sec3.table(["measure", "baseline", "relay_lite", "ratio", "target", "met?"], rows)
    sec3.add(
        f"Net of the wire floor: urllib3 {req['urllib3'] - req['socket']:.1f} µs, relay_lite "
        f"{req['relay_lite'] - req['socket']:.1f} µs per call.",
        "",
    )
    if ratio > TARGETS["requests"]:
        prof = ctx["profile_requests"]
        line = f"- **request overhead: {fmt_ratio(ratio)} vs ≤ 1.25x (+{req['relay_lite'] - req['urllib3']:.1f} µs/call).**"
        sec3.add(line, *_profile_lines(prof["relay_lite"], "call", prof["urllib3"]), "")
        r.gaps.append(line)
        r.gaps.extend(_profile_lines(prof["relay_lite"], "call", prof["urllib3"]))

    # 4. streaming
    st = ctx["stream"]["median"]
    floor, rl = st["floor"], st["relay_lite"]
    ratio = rl["chunks_per_s"] / floor["chunks_per_s"]
    sec4 = Report()
    sec4.add("## 4. Streaming: 20,000-chunk SSE stream", "")
    sec4.add(
        "OpenAI-style `chat.completion.chunk` events (~200 bytes each), sent by the server in 256 KiB writes. "
        "relay_lite: `client.chat(...).stream()` iterating `.text()` (events parsed, text accumulated for "
        "`stream.response`). Floor: raw urllib3 (`preload_content=False`, `read1(65536)` loop) + `split(b'\\n')` "
        "+ `json.loads` per `data:` line. SDKs: `create(..., stream=True)` iterated, text read from each chunk "
        "(their cheapest path). chunks/s = text deltas / whole call time; TTFC = request start to first text "
        f"delta. Median of {floor['runs']} streams (relay_lite, floor), "
        f"{cfg['sdk_stream_rounds'] * cfg['sdk_stream_reps']} (SDKs), each child after one warm-up stream.",
        "",
    )
    rows = []
    for variant, label in (
        ("floor", "floor: raw urllib3 + json.loads"),
        ("relay_lite", "relay_lite (OpenAI)"),
        ("openai_sdk", "official openai SDK"),
        ("relay_lite_anthropic", "relay_lite (Anthropic)"),
        ("anthropic_sdk", "official anthropic SDK"),
    ):
        if variant in st:
            s = st[variant]
            rows.append(
                [label, f"{s['chunks_per_s']:,.0f}", f"{s['ttfc_ms']:.2f} ms", f"{s['total_ms']:.1f} ms"]
            )
    sec4.table(["client", "chunks/s", "TTFC", "whole stream"], rows)
    rows = [
        [
            "throughput vs floor",
            f"{floor['chunks_per_s']:,.0f}/s",
            f"{rl['chunks_per_s']:,.0f}/s",
            fmt_ratio(ratio),
            "≥ 0.7x",
            r.target(
                "stream chunks/s vs floor", fmt_ratio(ratio), "≥ 0.7x", ratio >= TARGETS["stream_floor"]
            ),
        ]
    ]
    rows.append(
        [
            "TTFC vs floor",
            f"{floor['ttfc_ms']:.2f} ms",
            f"{rl['ttfc_ms']:.2f} ms",
            fmt_ratio(rl["ttfc_ms"] / floor["ttfc_ms"]),
            "—",
            "—",
        ]
    )
    sdk_ratios = []
    for sdk_variant, ours, label in (
        ("openai_sdk", "relay_lite", "openai"),
        ("anthropic_sdk", "relay_lite_anthropic", "anthropic"),
    ):
        if sdk_variant in st:
            s, o = st[sdk_variant], st[ours]
            sr = o["chunks_per_s"] / s["chunks_per_s"]
            sdk_ratios.append((label, sr))
            rows.append(
                [
                    f"throughput vs official {label} SDK",
                    f"{s['chunks_per_s']:,.0f}/s",
                    f"{o['chunks_per_s']:,.0f}/s",
                    fmt_ratio(sr),
                    "≥ 2x",
                    r.target(
                        f"stream chunks/s vs {label} SDK", fmt_ratio(sr), "≥ 2x", sr >= TARGETS["stream_sdk"]
                    ),
                ]
            )
            rows.append(
                [
                    f"TTFC vs official {label} SDK",
                    f"{s['ttfc_ms']:.2f} ms",
                    f"{o['ttfc_ms']:.2f} ms",
                    fmt_ratio(o["ttfc_ms"] / s["ttfc_ms"]),
                    "—",
                    "—",
                ]
            )
    sec4.table(["measure", "baseline", "relay_lite", "ratio", "target", "met?"], rows)
    if ratio < TARGETS["stream_floor"] or any(sr < TARGETS["stream_sdk"] for _, sr in sdk_ratios):
        prof = ctx["profile_stream"]
        per_chunk = (1e6 / rl["chunks_per_s"]) - (1e6 / floor["chunks_per_s"])
        line = (
            f"- **streaming: {fmt_ratio(ratio)} of the floor's chunks/s (target ≥ 0.7x); "
            f"+{per_chunk:.2f} µs per chunk.**"
        )
        sec4.add(line, *_profile_lines(prof["relay_lite"], "chunk", prof["floor"]), "")
        r.gaps.append(line)
        r.gaps.extend(_profile_lines(prof["relay_lite"], "chunk", prof["floor"]))

    # 5. memory
    sec5 = Report()
    sec5.add("## 5. Memory", "")
    sec5.add(
        "Peak RSS (`resource.getrusage(RUSAGE_SELF).ru_maxrss`) at the end of the cold-call processes of "
        f"section 2 (fresh process, import + client + one call), median of {cfg['cold_runs']} runs.",
        "",
    )
    rss_ratio = cold["relay_lite"]["rss_kb"] / cold["urllib3"]["rss_kb"]
    rows = [
        [
            "peak RSS after one call",
            f"{cold['urllib3']['rss_kb'] / 1024:.1f} MiB (urllib3 alone)",
            f"{cold['relay_lite']['rss_kb'] / 1024:.1f} MiB",
            fmt_ratio(rss_ratio),
            "≤ 1.2x",
            r.target(
                "peak RSS vs urllib3 alone", fmt_ratio(rss_ratio), "≤ 1.2x", rss_ratio <= TARGETS["rss"]
            ),
        ]
    ]
    rows.append(
        [
            "(bare interpreter, `python -c pass`)",
            f"{cold['python -c pass']['rss_kb'] / 1024:.1f} MiB",
            "—",
            "—",
            "—",
            "—",
        ]
    )
    for package in SDK_PACKAGES:
        if package in cold:
            rows.append(
                [
                    f"vs official `{package}` SDK",
                    f"{cold[package]['rss_kb'] / 1024:.1f} MiB",
                    f"{cold['relay_lite']['rss_kb'] / 1024:.1f} MiB",
                    fmt_ratio(cold["relay_lite"]["rss_kb"] / cold[package]["rss_kb"]),
                    "—",
                    "—",
                ]
            )
    sec5.table(["measure", "baseline", "relay_lite", "ratio", "target", "met?"], rows)
    if rss_ratio > TARGETS["rss"]:
        tm = ctx["tracemalloc"]
        line = (
            f"- **peak RSS: {fmt_ratio(rss_ratio)} vs ≤ 1.2x.** tracemalloc after import + one call: relay_lite "
            f"{tm['relay_lite']['total_bytes'] / 1024:.0f} KiB of Python objects vs urllib3 "
            f"{tm['urllib3']['total_bytes'] / 1024:.0f} KiB; modules loaded "
            f"{len(tm['relay_lite']['new_modules'])} vs {len(tm['urllib3']['new_modules'])}; relay_lite's "
            "largest files: "
            + ", ".join(f"`{t['file']}` {t['bytes'] / 1024:.0f} KiB" for t in tm["relay_lite"]["top"][:6])
        )
        sec5.add(line, "")
        r.gaps.append(line)

    big = ctx["rss_stream"]
    mb = big["bytes"] / 1e6
    sec5.add(
        f"Resident memory (`/proc/self/statm`) while consuming a {mb:.0f} MB OpenAI SSE stream "
        f"({big['chunks']:,} text deltas) in a fresh process, at 10%, 50% and 100% of the deltas; median of "
        f"{cfg['rss_stream_reps']} run(s). relay_lite iterates `.text()` as in section 4 (so it also keeps the "
        "text for `stream.response`); the floor is the section-4 raw urllib3 loop, which keeps nothing. "
        "Flat means: growth from 10% to 100% within 4 MiB plus twice the text a client must keep.",
        "",
    )
    rows = []
    flat_ok = True
    for variant, label in (
        ("floor_big", "floor: raw urllib3 + json.loads"),
        ("relay_lite_big", "relay_lite"),
    ):
        m = big["median"][variant]
        allowance = 4 * 1024 * 1024 + (2 * m["text_chars"] if variant == "relay_lite_big" else 0)
        ok = m["growth"] <= allowance
        if variant == "relay_lite_big":
            flat_ok = ok
        rows.append(
            [
                label,
                f"{m['before'] / 2**20:.1f}",
                f"{m['10%'] / 2**20:.1f}",
                f"{m['50%'] / 2**20:.1f}",
                f"{m['100%'] / 2**20:.1f}",
                f"{m['growth'] / 2**20:+.1f} MiB",
                f"{m['seconds']:.1f} s",
                verdict(ok) if variant == "relay_lite_big" else "—",
            ]
        )
    r.target(
        "memory flat over a 100 MB stream",
        f"{big['median']['relay_lite_big']['growth'] / 2**20:+.1f} MiB",
        "≤ 4 MiB + 2x text kept",
        flat_ok,
    )
    sec5.table(
        ["client", "before MiB", "10% MiB", "50% MiB", "100% MiB", "growth 10%→100%", "time", "flat?"], rows
    )
    m = big["median"]["relay_lite_big"]
    sec5.add(
        f"Text a client must keep for `stream.response`: {m['text_chars'] / 2**20:.1f} MiB "
        f"({m['text_chars']:,} characters).",
        "",
    )
    if not flat_ok:
        line = f"- **memory over a {mb:.0f} MB stream: {m['growth'] / 2**20:+.1f} MiB from 10% to 100%"
        if "kept_text_parts" in m:
            line += (
                f"; measured cause: the stream's accumulator (`Accumulator.text_parts`) holds "
                f"{m['kept_text_parts']:,} separate `str` objects, {m['kept_text_bytes'] / 2**20:.1f} MiB by "
                f"`sys.getsizeof`, for {m['text_chars'] / 2**20:.1f} MiB of text "
                f"({m['kept_text_bytes'] / max(1, m['kept_text_parts']):.0f} bytes per delta).**"
            )
        else:
            line += ".**"
        sec5.add(line, "")
        r.gaps.append(line)

    # 6. decoders
    dec = ctx["decoders"]
    sec6 = Report()
    sec6.add("## 6. Decoder scaling", "")
    sec6.add(
        "`relay_lite._sse.SSEDecoder`: feed the whole input in fixed-size pieces, then `close()`; median of "
        "runs with the garbage collector paused. Partial JSON: `tests/benchmarks/bench_partial_json.run()` "
        "(8-character deltas). Linear work gives t(4n)/t(n) ≈ 4.",
        "",
    )
    rows = []
    lo, hi = TARGETS["decoder"]
    for s in dec["sse"]:
        ok = lo <= s["ratio"] <= hi
        rows.append(
            [
                f"SSEDecoder: {s['shape']}",
                f"{s['n']:,} B: {s['t_n'] * 1000:.2f} ms",
                f"{s['4n']:,} B: {s['t_4n'] * 1000:.2f} ms",
                f"{s['ratio']:.2f}",
                "3–5",
                r.target(f"SSEDecoder linear ({s['shape']})", f"{s['ratio']:.2f}", "3–5", ok),
            ]
        )
    pj = dec["partial_json"]
    for shape in ("records", "long_string"):
        s = pj[shape]
        ok = lo <= s["ratio"] <= hi
        rows.append(
            [
                f"partial JSON: {shape}",
                f"{s['n']:,} chars: {s['t_n'] * 1000:.2f} ms",
                f"{s['4n']:,} chars: {s['t_4n'] * 1000:.2f} ms",
                f"{s['ratio']:.2f}",
                "3–5",
                r.target(f"partial JSON linear ({shape})", f"{s['ratio']:.2f}", "3–5", ok),
            ]
        )
    sec6.table(["decoder, shape", "n", "4n", "t(4n)/t(n)", "target", "met?"], rows)
    for s in dec["sse"] + [dict(pj[k], shape=f"partial JSON {k}") for k in ("records", "long_string")]:
        if not lo <= s["ratio"] <= hi:
            line = (
                f"- **{s['shape']}: t(4n)/t(n) = {s['ratio']:.2f}, outside 3–5.** "
                f"{'Below 3: fixed costs dominate at n (noise), not super-linear work.' if s['ratio'] < lo else 'Above 5: super-linear work.'}"
            )
            sec6.add(line, "")
            r.gaps.append(line)

    # assemble
    out = Report()
    out.add("# relay_lite benchmarks", "")
    out.add(
        f"- date: {ctx['date']}",
        f"- command: `{ctx['command']}` ({ctx['mode']} run, took {ctx['elapsed']:.0f} s)",
        f"- load average (1 min) at start / end: {ctx['load'][0]:.2f} / {ctx['load'][1]:.2f} "
        "(other work on the machine makes every figure noisier)",
        "",
    )
    out.add(
        "Reproduce from a fresh clone (any Python 3.9+ with urllib3, e.g. the README's `.venv`):",
        "",
        "```sh",
        "python tests/benchmarks/run.py [--quick] [--output tests/benchmarks/RESULTS.md]",
        "```",
        "",
        f"The official SDK rows run in a side virtualenv that the command creates when missing "
        f"(`python -m venv {ctx['venv']} && {ctx['venv']}/bin/python -m pip install openai anthropic`) and "
        "reuses after; `--no-sdks` skips them. relay_lite comes from this checkout (`PYTHONPATH`). The server "
        "(`bench_server.py`, pre-rendered bytes) and every measured client run in their own processes.",
        "",
    )
    out.add("## Machine", "")
    out.table(["", ""], [[k, v] for k, v in ctx["machine"]])
    out.add("## Targets", "")
    out.table(["target", "figure", "wanted", "met?"], [[n, f, t, verdict(ok)] for n, f, t, ok in r.summary])
    if r.gaps:
        out.add("### Targets not met: gap and measured cause", "", *r.gaps, "")
    else:
        out.add("Every target is met.", "")
    for sec in (sec1, sec2, sec3, sec4, sec5, sec6):
        out.add(*sec.lines)
    raw = {k: ctx[k] for k in ("import", "cold", "requests", "stream", "rss_stream", "decoders")}
    out.add(
        "## Raw samples",
        "",
        "<details><summary>JSON (seconds, µs per call, bytes)</summary>",
        "",
        "```json",
        json.dumps(raw, indent=1, default=str)[:200_000],
        "```",
        "",
        "</details>",
        "",
    )
    if not sdks.python:
        out.add(f"Note: {sdks.note}", "")
    path.write_text("\n".join(out.lines))


# -- main ------------------------------------------------------------------------------------


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="relay_lite benchmarks -> Markdown report")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (under 2 minutes)")
    parser.add_argument(
        "--output", default=str(HERE / "RESULTS.md"), help="report path (default %(default)s)"
    )
    parser.add_argument("--sdk-venv", default=DEFAULT_VENV, help="side virtualenv for openai/anthropic")
    parser.add_argument("--no-sdks", action="store_true", help="skip the official SDK comparisons")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    cfg = dict(SETTINGS[mode])
    started = time.perf_counter()
    given = argv if argv is not None else sys.argv[1:]
    command = " ".join(["python tests/benchmarks/run.py", shlex.join(given)]).strip()
    ctx: dict[str, Any] = {"cfg": cfg, "mode": mode, "command": command, "venv": args.sdk_venv}
    ctx["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    sdks = setup_sdks(args.sdk_venv, args.no_sdks)
    ctx["sdks"] = sdks
    log(sdks.note)
    ctx["machine"] = machine_info(sdks)
    server = Server()
    try:
        log(f"server at {server.base}; 1/6 import ({cfg['import_runs']} runs per variant)")
        ctx["import"] = bench_import(cfg, sdks)
        ctx["importtime"] = importtime_cause(cfg["importtime_runs"])
        log("2/6 cold call")
        ctx["cold"] = bench_cold(cfg, sdks, server.base)
        ctx["profile_cold"] = {
            v: clients(sys.executable, "profile_cold", "--base", server.base, "--variant", v)
            for v in ("urllib3", "relay_lite")
        }
        log("3/6 request overhead")
        ctx["requests"] = bench_requests(cfg, sdks, server.base)
        ctx["profile_requests"] = clients(
            sys.executable, "profile_requests", "--base", server.base, "--n", str(cfg["profile_n"])
        )
        log("4/6 streaming")
        ctx["stream"] = bench_stream(cfg, sdks, server.base)
        ctx["profile_stream"] = clients(sys.executable, "profile_stream", "--base", server.base)
        log("5/6 memory")
        ctx["tracemalloc"] = {
            v: clients(sys.executable, "tracemalloc_call", "--base", server.base, "--variant", v)
            for v in ("urllib3", "relay_lite")
        }
        ctx["rss_stream"] = bench_rss_stream(cfg, server)
        log("6/6 decoders")
        ctx["decoders"] = clients(sys.executable, "decoders", *(["--quick"] if args.quick else []))
    finally:
        server.stop()
    ctx["load"] = (load_start, os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"))
    ctx["elapsed"] = time.perf_counter() - started
    output = Path(args.output)
    write_report(output, ctx)
    log(f"wrote {output} in {ctx['elapsed']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
