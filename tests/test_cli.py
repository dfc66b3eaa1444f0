"""The ``relay-lite`` command, run as a subprocess against the fake server: each command,
each documented exit code, prompti's request-file format with and without ``--stream``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest

from relay_lite import __version__
from relay_lite.testing import FakeServer, Reply

ROOT = Path(__file__).resolve().parent.parent
KEY_VARIABLES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENROUTER_API_KEY", "MODELRELAY_API_KEY")


def cli(
    args: list[str], env: Optional[dict[str, str]] = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES and not k.startswith("RELAY_LITE_")}
    full["PYTHONPATH"] = str(ROOT)
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "relay_lite", *args],
        cwd=ROOT,
        env=full,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def on(server: FakeServer) -> dict[str, str]:
    return {"RELAY_LITE_PROVIDER": "compatible", "RELAY_LITE_BASE_URL": server.url, "RELAY_LITE_MODEL": "m"}


def request_file(tmp_path: Path, payload: object) -> str:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return str(path)


def prompti_request(api_base: str) -> dict[str, object]:
    # prompti's model-client request: messages with role, content and kind; parameters.
    return {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be brief.", "kind": "text"},
            {"role": "user", "content": "Hello there", "kind": "text"},
        ],
        "parameters": {"temperature": 0.2, "max_tokens": 50, "api_base": api_base, "api_key": "sk-file"},
    }


def test_version_flag_and_command_print_the_version():
    assert cli(["--version"]).stdout == f"relay-lite {__version__}\n"
    assert cli(["version"]).stdout == f"relay-lite {__version__}\n"


def test_help_lists_every_command_and_the_exit_codes():
    done = cli(["--help"])
    assert done.returncode == 0
    for word in (
        "demo",
        "chat",
        "run",
        "version",
        "exit codes: 0 ok, 1 API error, 2 usage error, 3 transport",
    ):
        assert word in done.stdout


def test_chat_without_a_key_uses_the_fake_server_and_says_so_on_stderr():
    done = cli(["chat", "Hello"])
    assert (done.returncode, done.stdout) == (0, "Echo: Hello\n")
    assert done.stderr == "relay-lite: no API key set: using the built-in fake server (openai protocol)\n"


def test_chat_reads_the_prompt_from_stdin_with_a_dash():
    done = cli(["chat", "-", "--no-stream"], stdin="from stdin\n")
    assert (done.returncode, done.stdout) == (0, "Echo: from stdin\n\n")


def test_chat_json_prints_one_object_with_text_and_usage():
    with FakeServer.openai() as server:
        done = cli(["chat", "Hi", "--json"], on(server))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "text": "Echo: Hi",
        "finish_reason": "stop",
        "model": "fake-model",  # the fake server names its own model
        "request_id": "req_fake",
        "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
    }
    assert done.stdout.count("\n") == 1


def test_run_request_file_prints_the_reply_then_usage(tmp_path: Path):
    with FakeServer.openai() as server:
        done = cli(["run", "--request-file", request_file(tmp_path, prompti_request(server.url))])
        sent = server.requests[0]
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines == [
        {"content": "Echo: Hello there", "role": "assistant"},
        {"finish_reason": "stop", "usage": {"input_tokens": 4, "output_tokens": 3, "total_tokens": 7}},
    ]
    body = sent.json()
    # provider "openai": OpenAI's own field name for max_tokens
    assert (body["model"], body["temperature"], body["max_completion_tokens"]) == ("gpt-4o-mini", 0.2, 50)
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent.headers["authorization"] == "Bearer sk-file"


def test_run_request_file_streams_one_line_per_chunk(tmp_path: Path):
    # An OpenAI stream as api.openai.com sends it, in two text chunks.
    events = [
        b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,'
        b'"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}\n\n',
        b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,'
        b'"delta":{"content":"lo"},"finish_reason":"stop"}]}\n\n',
        b'data: {"id":"c","object":"chat.completion.chunk","choices":[],'
        b'"usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}}\n\n',
        b"data: [DONE]\n\n",
    ]
    with FakeServer.openai() as server:
        server.add(Reply.sse(events))
        done = cli(["run", "--request-file", request_file(tmp_path, prompti_request(server.url)), "--stream"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        '{"content": "Hel", "role": "assistant"}',
        '{"content": "lo", "role": "assistant"}',
        '{"finish_reason": "stop", "usage": {"input_tokens": 4, "output_tokens": 2, "total_tokens": 6}}',
    ]


def test_run_api_error_is_one_json_line_on_stderr_and_exit_1(tmp_path: Path):
    with FakeServer.openai() as server:
        server.add(
            Reply.json(
                {"error": {"message": "Invalid model", "type": "invalid_request_error", "code": None}},
                status=400,
                headers={"x-request-id": "req_bad"},
            )
        )
        done = cli(["run", "--request-file", request_file(tmp_path, prompti_request(server.url))])
    assert (done.returncode, done.stdout) == (1, "")
    assert json.loads(done.stderr) == {
        "error": {
            "type": "BadRequestError",
            "message": "Invalid model",
            "attempts": 1,
            "status": 400,
            "request_id": "req_bad",
        }
    }


def test_run_transport_error_exits_3(tmp_path: Path):
    request = prompti_request("http://127.0.0.1:9")
    done = cli(["run", "--request-file", request_file(tmp_path, request)], {"RELAY_LITE_MAX_RETRIES": "0"})
    assert done.returncode == 3
    error = json.loads(done.stderr)["error"]
    assert error["type"] == "ConnectError" and error["message"].startswith("could not connect to 127.0.0.1:9")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([1, 2], "must hold a JSON object, got list"),
        ({"messages": []}, 'needs a non-empty "messages" list'),
        (
            {"messages": [{"role": "user", "content": "x", "kind": "image"}]},
            "messages[0]: kind 'image' is not text",
        ),
        ({"provider": "nope", "messages": [{"role": "user", "content": "x"}]}, "unknown provider 'nope'"),
    ],
)
def test_run_bad_request_file_is_a_usage_error_exit_2(tmp_path: Path, payload: object, message: str):
    done = cli(["run", "--request-file", request_file(tmp_path, payload)])
    assert done.returncode == 2
    error = json.loads(done.stderr)["error"]
    assert error["type"] == "ConfigError" and message in error["message"]


def test_run_missing_request_file_and_bad_arguments_exit_2(tmp_path: Path):
    done = cli(["run", "--request-file", str(tmp_path / "absent.json")])
    assert done.returncode == 2
    assert "cannot read the request file" in json.loads(done.stderr)["error"]["message"]
    assert cli(["run"]).returncode == 2  # argparse: --request-file is required
    assert cli(["nosuch"]).returncode == 2


def test_interrupted_chat_exits_130():
    code = (
        "import sys, relay_lite.cli as cli\n"
        "def stop(*a, **k):\n    raise KeyboardInterrupt\n"
        "cli._chat = stop\n"
        "sys.exit(cli.main(['chat', 'hi']))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 130


PEOPLE_MODULE = """
from dataclasses import dataclass


@dataclass
class Person:
    name: str
    age: int
"""


def test_structured_prints_the_validated_json(tmp_path: Path):
    from relay_lite.testing import ChatScript

    (tmp_path / "people.py").write_text(PEOPLE_MODULE, encoding="utf-8")
    with FakeServer.openai() as server:
        server.add(ChatScript(text='{"name": "John Doe", "age": 30}'))
        env = on(server)
        env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{tmp_path}"
        done = cli(["structured", "--schema", "people:Person", "John Doe is 30"], env)
    assert (done.returncode, done.stdout) == (0, '{"name": "John Doe", "age": 30}\n'), done.stderr


def test_structured_with_a_bad_schema_is_a_usage_error():
    done = cli(["structured", "--schema", "nosuchmodule_xyz:Thing", "hi"])
    assert done.returncode == 2
    assert done.stderr.startswith("relay-lite: ConfigError: --schema: cannot import 'nosuchmodule_xyz'")
    assert cli(["structured", "--schema", "json", "hi"]).returncode == 2
