"""A cold Lambda-like process calling Bedrock Converse once: relay_lite vs boto3.

Each sample is a fresh Python process that imports the client library, builds a client
and makes one ``converse`` call against the same local ``FakeServer.bedrock()`` (which
checks the SigV4 signature each sends, made with the fake's test keys), then reports its
own import, client and call times and its peak RSS (``VmHWM``). A ``python -c pass``
process is the floor. Variants are interleaved, every figure is a median, and relay_lite
is reported as a ratio to boto3 measured in the same run.

boto3 is never a relay_lite dependency: it lives in its own virtualenv, created once::

    python3 -m venv /tmp/bench-boto3 && /tmp/bench-boto3/bin/pip install boto3

    .venv/bin/python tests/benchmarks/bench_bedrock_cold.py [--runs 9]
        [--boto3-python /tmp/bench-boto3/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
REGION = "us-east-1"
PYCACHE = "/tmp/bench-bedrock-pycache"

# What runs in the cold process, timed from inside; {url} and the keys are filled in.
_PRELUDE = """
import time
t0 = time.perf_counter()
"""
_REPORT = """
def _hwm_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0
print(json.dumps({"import": t1 - t0, "client": t2 - t1, "call": t3 - t2, "text": text, "hwm_kb": _hwm_kb()}))
"""
VARIANTS = {
    "relay_lite": """
import json
import relay_lite
t1 = time.perf_counter()
client = relay_lite.Client.bedrock({region!r}, model={model!r}, base_url={url!r},
                                   access_key_id={key!r}, secret_access_key={secret!r})
t2 = time.perf_counter()
text = client.chat().user("Say something.").send().text
t3 = time.perf_counter()
""",
    "boto3": """
import json
import boto3
t1 = time.perf_counter()
client = boto3.client("bedrock-runtime", region_name={region!r}, endpoint_url={url!r},
                      aws_access_key_id={key!r}, aws_secret_access_key={secret!r})
t2 = time.perf_counter()
messages = [{{"role": "user", "content": [{{"text": "Say something."}}]}}]
reply = client.converse(modelId={model!r}, messages=messages)
text = reply["output"]["message"]["content"][0]["text"]
t3 = time.perf_counter()
""",
    "floor": """
import json
t1 = t2 = t3 = time.perf_counter()
text = ""
""",
}


def sample(python: str, variant: str, url: str, key: str, secret: str) -> dict:
    code = (
        _PRELUDE
        + VARIANTS[variant].format(region=REGION, model=MODEL, url=url, key=key, secret=secret)
        + _REPORT
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RELAY_LITE_"))}
    env["PYTHONPATH"] = str(ROOT)
    # Both sides run from cached bytecode, as a deployed Lambda does: pip wrote boto3's at
    # install time, and the warm-up run writes relay_lite's (this checkout may have none).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = PYCACHE
    started = time.perf_counter()
    done = subprocess.run([python, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{done.stderr}")
    result: dict = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boto3-python", default="/tmp/bench-boto3/bin/python")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    from relay_lite._fake_bedrock import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY
    from relay_lite.testing import FakeServer

    pythons = {"floor": sys.executable, "relay_lite": sys.executable, "boto3": args.boto3_python}
    samples: dict[str, list[dict]] = {name: [] for name in pythons}
    with FakeServer.bedrock() as server:
        for name in ("relay_lite", "boto3"):  # warm the OS file cache once, not measured
            sample(pythons[name], name, server.url, FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY)
        for _ in range(args.runs):
            for name, python in pythons.items():
                samples[name].append(
                    sample(python, name, server.url, FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY)
                )
        load = os.getloadavg()[0]
        signed = all(
            r.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256") for r in server.requests
        )

    def median(name: str, field: str) -> float:
        return statistics.median(s[field] for s in samples[name])

    rows = {
        name: {field: median(name, field) for field in ("wall", "import", "client", "call", "hwm_kb")}
        for name in pythons
    }
    texts = {name: samples[name][0]["text"] for name in ("relay_lite", "boto3")}
    report = {
        "runs": args.runs,
        "python": sys.version.split()[0],
        "load_average_1min_at_end": load,
        "medians": rows,
        "replies": texts,
        "every_request_sigv4_signed": signed,  # accepted too: a 403 would have failed the sample
        "ratio_relay_lite_to_boto3": {
            "wall": rows["relay_lite"]["wall"] / rows["boto3"]["wall"],
            "import": rows["relay_lite"]["import"] / rows["boto3"]["import"],
            "import+client+call": sum(rows["relay_lite"][f] for f in ("import", "client", "call"))
            / sum(rows["boto3"][f] for f in ("import", "client", "call")),
            "peak_rss": rows["relay_lite"]["hwm_kb"] / rows["boto3"]["hwm_kb"],
            "peak_rss_above_floor": (rows["relay_lite"]["hwm_kb"] - rows["floor"]["hwm_kb"])
            / (rows["boto3"]["hwm_kb"] - rows["floor"]["hwm_kb"]),
        },
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
