"""The README's promise: examples and the demo run as-is, with no API key, printing exactly this."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from relay_lite.testing import FakeServer

ROOT = Path(__file__).resolve().parent.parent
KEY_VARIABLES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENROUTER_API_KEY", "MODELRELAY_API_KEY")


def run(args: list[str], extra_env: dict[str, str] | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES and not k.startswith("RELAY_LITE_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra_env or {})
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_quickstart_example_runs_against_the_fake_server():
    assert run(["examples/quickstart.py"]) == (
        "reply: Echo: Hello!\nusage: 3 in, 2 out\nEcho: Count to 5\nfinish_reason: stop\n"
    )


def test_tool_calls_example_runs_a_round_trip():
    assert run(["examples/tool_calls.py"]) == (
        "model called get_weather({'city': 'Paris'})\n"
        'answer: Echo: tool said {"city": "Paris", "temperature_c": 18}\n'
    )


def test_lambda_handler_against_a_fake_server():
    with FakeServer.openai() as server:
        code = (
            "import sys; sys.path.insert(0, 'examples'); import aws_lambda_handler as h;"
            "print(h.handler({'prompt': 'ping'}, None))"
        )
        out = run(
            ["-c", code],
            {"RELAY_LITE_PROVIDER": "compatible", "RELAY_LITE_BASE_URL": server.url, "RELAY_LITE_MODEL": "m"},
        )
    assert out == "{'statusCode': 200, 'body': '{\"text\": \"Echo: ping\", \"tokens\": 3}'}\n"


def test_lambda_example_runs_locally_with_a_fake_context_and_answers_before_its_deadline():
    out = run(["examples/aws_lambda_handler.py"])
    lines = out.splitlines()
    assert lines[0].startswith("No API key set: using the built-in fake server at http://127.0.0.1:")
    assert lines[1:] == [
        "{'statusCode': 200, 'body': '{\"text\": \"Echo: ping\", \"tokens\": 3}'}",
        "returned before the function's 3 s timeout: True",
        "{'statusCode': 504, 'body': '{\"error\": \"the model did not answer in time\", \"attempts\": 1}'}",
        "returned before the function's 2.5 s timeout: True",
    ]


def test_demo_without_a_key_streams_a_chat_a_tool_call_and_usage():
    out = run(["-m", "relay_lite", "demo"])
    lines = out.splitlines()
    assert lines[0].startswith(
        "No API key set: using the built-in fake server (openai protocol) at http://127.0.0.1:"
    )
    assert lines[1:] == [
        "",
        "1. Streaming a chat",
        "> Say hello in three languages.",
        "Hello! Bonjour ! ¡Hola! 👋",
        "[finish_reason=stop] usage: input=10 output=5 total=15",
        "",
        "2. A tool call",
        "> What's the weather in Paris?",
        'tool call: get_weather({"city": "Paris"}) id=call_demo_1',
        "[finish_reason=tool_calls] usage: input=10 output=5 total=15",
        'answer: Echo: tool said {"city": "Paris", "temperature_c": 18, "sky": "clear"}',
        "[finish_reason=stop] usage: input=12 output=9 total=21",
        "",
        "3. Usage over the demo: usage: input=32 output=19 total=51",
    ]


def test_cli_version():
    assert run(["-m", "relay_lite", "version"]) == "relay-lite 0.1.0\n"


def test_cli_reports_errors_without_a_traceback():
    env = {
        "RELAY_LITE_PROVIDER": "compatible",
        "RELAY_LITE_BASE_URL": "http://127.0.0.1:9",
        "RELAY_LITE_MAX_RETRIES": "0",
    }
    code = "import sys; from relay_lite.cli import main; sys.exit(main(['chat', 'hi', '-m', 'x']))"
    envd = {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES}
    envd.update(env, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", code], env=envd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3  # a transport error (see relay_lite.cli's exit codes)
    assert done.stderr.startswith("relay-lite: ConnectError: could not connect to 127.0.0.1:9")
    assert "Traceback" not in done.stderr


def test_demo_speaks_each_providers_protocol_on_the_fake_server():
    for provider, protocol in (
        ("anthropic", "anthropic"),
        ("modelrelay", "modelrelay"),
        ("openrouter", "openai"),
    ):
        lines = run(["-m", "relay_lite", "demo", "-p", provider]).splitlines()
        assert f"fake server ({protocol} protocol)" in lines[0]
        assert lines[4] == "Hello! Bonjour ! ¡Hola! 👋"
        assert lines[9] == 'tool call: get_weather({"city": "Paris"}) id=call_demo_1'


def test_demo_piped_into_a_reader_that_leaves_stops_quietly():
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES and not k.startswith("RELAY_LITE_")}
    env["PYTHONPATH"] = str(ROOT)
    demo = subprocess.Popen(
        [sys.executable, "-m", "relay_lite", "demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert demo.stdout is not None
    demo.stdout.readline()
    demo.stdout.close()  # the reader goes away, like `| head -1`
    _, stderr = demo.communicate(timeout=60)
    assert b"Traceback" not in stderr
    assert demo.returncode in (0, 141)


def test_readme_testing_snippet_runs_and_its_comments_hold():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Testing your own code", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert run(["-c", snippet]) == ""


def test_metrics_example_prints_cloudwatch_emf_records():
    out = run(["examples/metrics_hooks.py"]).splitlines()
    assert out[0] == "(opentelemetry-api not installed: spans skipped)"
    records = [json.loads(line) for line in out[1:]]
    names = [[m["Name"] for m in r["_aws"]["CloudWatchMetrics"][0]["Metrics"]] for r in records]
    assert names == [
        ["LatencyMs"],
        ["InputTokens", "OutputTokens"],
        ["LatencyMs"],
        ["StreamDurationMs", "TimeToFirstTokenMs", "InterTokenGapP95Ms"],
        ["InputTokens", "OutputTokens"],
    ]
    assert all(
        r["Model"] == "fake-model" and r["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "relay_lite"
        for r in records
    )
    assert (records[1]["InputTokens"], records[1]["OutputTokens"]) == (1, 2)


def test_metrics_example_spans_carry_genai_attributes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("metrics_hooks_example", ROOT / "examples/metrics_hooks.py")
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)

    class Span:  # the part of opentelemetry's Span the example uses
        def __init__(self, name: str) -> None:
            self.name, self.attributes, self.events, self.ended = name, {}, [], False

        def set_attribute(self, key: str, value: object) -> None:
            self.attributes[key] = value

        def add_event(self, name: str, attributes: dict) -> None:
            self.events.append((name, attributes))

        def end(self) -> None:
            self.ended = True

    spans: list[Span] = []

    class Tracer:
        def start_span(self, name: str) -> Span:
            spans.append(Span(name))
            return spans[-1]

    import relay_lite

    with (
        FakeServer.openai() as server,
        relay_lite.Client.compatible(server.url, model="fake-model") as client,
    ):
        example.OpenTelemetrySpans(Tracer(), "openai").install(client)
        client.chat().user("Hi there").send()
    (span,) = spans
    assert span.name == "chat fake-model" and span.ended
    assert span.attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "fake-model",
        "server.address": server.url.split("://", 1)[1],
        "gen_ai.response.model": "fake-model",
        "gen_ai.response.id": "req_fake",
        "gen_ai.usage.input_tokens": 2,
        "gen_ai.usage.output_tokens": 3,
    }


def test_bedrock_lambda_example_signs_with_the_role_keys_and_answers_a_throttle_itself():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RELAY_LITE_"))}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "examples/aws_lambda_bedrock.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(
        "No AWS credentials set: using the built-in fake Bedrock server at http://127.0.0.1:"
    )
    assert lines[1:] == [
        '{\'statusCode\': 200, \'body\': \'{"text": "Echo: ping", "tokens": 3, "stop": "stop"}\'}',
        "signed with SigV4: True",
        "{'statusCode': 429, 'body': '{\"error\": \"Too many requests, please wait.\", \"attempts\": 3}'}",
    ]
