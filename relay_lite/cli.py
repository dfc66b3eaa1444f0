"""The ``relay-lite`` command (also ``python -m relay_lite``).

    relay-lite demo                 stream a chat, a tool call and usage figures
    relay-lite chat "Hello" [-m MODEL] [-s SYSTEM] [--no-stream] [--json] [--usage]
    echo "Hello" | relay-lite chat -          the prompt from stdin
    relay-lite run --request-file request.json [--stream]
    relay-lite structured --schema module:Class "John is 30"   the validated JSON
    relay-lite version                        (or relay-lite --version)

Without an API key in the environment, ``demo`` and ``chat`` start the built-in fake
server and run against it (``chat`` says so on stderr), so they work on a machine with no
network and no account. Point them at a real server with ``RELAY_LITE_PROVIDER`` and its
key, or at any OpenAI-compatible one with ``RELAY_LITE_PROVIDER=compatible`` and
``RELAY_LITE_BASE_URL``.

``run`` reads prompti's model-client request format::

    {"provider": "openai", "model": "gpt-4o-mini",
     "messages": [{"role": "user", "content": "Hi", "kind": "text"}],
     "parameters": {"temperature": 0.2, "max_tokens": 100, "api_base": "http://..."}}

and prints one JSON line per chunk (``{"content": ..., "role": "assistant"}``; without
``--stream`` one line with the whole text), then ``{"finish_reason": ..., "usage": {...}}``.
Messages may be of every kind ``relay_lite.prompti`` reads (text, thinking, image_url,
tool_use, tool_result) and the file may hold ``"tools"``. Parameters other than
temperature, max_tokens, top_p, stop, seed, api_base and api_key go into the request body
as they are. Errors go to stderr as one JSON line.

Exit codes: 0 success; 1 the API answered with an error (``APIError``); 2 usage error
(bad arguments, a bad request file, ``ConfigError``); 3 transport error (connection,
timeout, deadline: ``TransportError``); 4 any other relay_lite error (a broken stream, a
reply that cannot be read); 130 interrupted (Ctrl-C); 141 the output pipe closed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import ExitStack, contextmanager
from typing import Any, Iterator, Optional, Sequence, TextIO

from ._client import Client
from ._config import PRESETS, VERSION
from ._errors import APIError, ConfigError, RelayError, TransportError
from ._models import ChatResponse, ToolSpec, Usage

WEATHER_TOOL = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
    },
)


def _has_key(provider: Optional[str]) -> bool:
    if os.environ.get("RELAY_LITE_API_KEY"):
        return True
    names = [provider] if provider else list(PRESETS)
    return any(PRESETS[n].key_env and os.environ.get(str(PRESETS[n].key_env)) for n in names if n in PRESETS)


def _usage_line(usage: Usage) -> str:
    return f"usage: input={usage.input_tokens} output={usage.output_tokens} total={usage.total_tokens}"


def _demo_scripts() -> list[object]:
    """What the fake server says in the demo; the final answer is its echo of the tool result."""
    from ._fake_chat import ChatScript
    from ._models import ToolCall

    call = ToolCall("call_demo_1", "get_weather", {"city": "Paris"}, '{"city": "Paris"}')
    return [
        ChatScript(text="Hello! Bonjour ! ¡Hola! 👋", chunk_size=3, chunk_delay=0.02),
        ChatScript(tool_calls=[call], chunk_size=4),
    ]


def run_demo(out: TextIO, provider: Optional[str] = None, model: Optional[str] = None) -> None:
    """Stream a chat, make a tool call and answer it, printing usage: the main job."""
    provider = provider or os.environ.get("RELAY_LITE_PROVIDER") or None
    with ExitStack() as stack:
        if _has_key(provider):
            client = stack.enter_context(Client(provider, model=model))
            out.write(f"Using {client.config.provider} at {client.config.base_url}\n")
        else:
            from .testing import FakeServer

            preset = PRESETS.get(provider or "openai", PRESETS["openai"])
            protocol = preset.protocol
            server = stack.enter_context(FakeServer(protocol=protocol))
            server.add(*_demo_scripts())
            name = "compatible" if protocol == "openai" else str(provider)
            client = stack.enter_context(
                Client(name, api_key="fake-key", base_url=server.url, model=model or "fake-model")
            )
            out.write(
                f"No API key set: using the built-in fake server ({protocol} protocol) at {server.url}\n"
            )

        out.write("\n1. Streaming a chat\n> Say hello in three languages.\n")
        with client.chat().system("Be brief.").user("Say hello in three languages.").stream() as stream:
            for piece in stream.text():
                out.write(piece)
                out.flush()
        reply: ChatResponse = stream.response
        out.write(f"\n[finish_reason={reply.finish_reason}] {_usage_line(reply.usage)}\n")

        out.write("\n2. A tool call\n> What's the weather in Paris?\n")
        ask = client.chat().user("What's the weather in Paris?").tools([WEATHER_TOOL])
        with ask.stream() as stream:
            for _ in stream:
                pass
        first = stream.response
        for call in first.tool_calls:
            out.write(f"tool call: {call.name}({call.arguments_json}) id={call.id}\n")
        out.write(f"[finish_reason={first.finish_reason}] {_usage_line(first.usage)}\n")
        if first.tool_calls:
            call = first.tool_calls[0]
            follow_up = ask.messages([first.message]).tool_result(
                call.id, {"city": call.arguments.get("city", "Paris"), "temperature_c": 18, "sky": "clear"}
            )
            answer = follow_up.send()
            out.write(
                f"answer: {answer.text}\n[finish_reason={answer.finish_reason}] {_usage_line(answer.usage)}\n"
            )
            total = reply.usage + first.usage + answer.usage
            out.write(f"\n3. Usage over the demo: {_usage_line(total)}\n")


EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_TRANSPORT = 3
EXIT_OTHER_ERROR = 4
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


def exit_code_for(error: RelayError) -> int:
    """The documented exit status for a relay_lite error."""
    if isinstance(error, ConfigError):
        return EXIT_USAGE
    if isinstance(error, APIError):
        return EXIT_API_ERROR
    if isinstance(error, TransportError):
        return EXIT_TRANSPORT
    return EXIT_OTHER_ERROR


def _usage_dict(usage: Usage) -> dict[str, Optional[int]]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }


@contextmanager
def _chat_client(provider: Optional[str], model: Optional[str], err: TextIO) -> Iterator[Client]:
    """The configured client, or one on the fake server (echo) when no key is set."""
    provider = provider or os.environ.get("RELAY_LITE_PROVIDER") or None
    if _has_key(provider) or os.environ.get("RELAY_LITE_BASE_URL"):
        with Client(provider, model=model) as client:
            yield client
        return
    from .testing import FakeServer

    protocol = PRESETS.get(provider or "openai", PRESETS["openai"]).protocol
    name = "compatible" if protocol == "openai" else str(provider)
    with FakeServer(protocol=protocol) as server:
        err.write(f"relay-lite: no API key set: using the built-in fake server ({protocol} protocol)\n")
        with Client(name, api_key="fake-key", base_url=server.url, model=model or "fake-model") as client:
            yield client


def _chat(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> None:
    prompt = stdin.read() if args.prompt == "-" else args.prompt
    if not prompt.strip():
        raise ConfigError("the prompt is empty")
    with _chat_client(args.provider, args.model, err) as client:
        request = client.chat()
        if args.system:
            request = request.system(args.system)
        request = request.user(prompt)
        if args.json:
            reply = request.send()
            record = {
                "text": reply.text,
                "finish_reason": reply.finish_reason,
                "model": reply.model,
                "request_id": reply.request_id,
                "usage": _usage_dict(reply.usage),
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            return
        if args.no_stream:
            reply = request.send()
            out.write(reply.text + "\n")
        else:
            with request.stream() as stream:
                for piece in stream.text():
                    out.write(piece)
                    out.flush()
            reply = stream.response
            out.write("\n")
        if args.usage:
            out.write(_usage_line(reply.usage) + "\n")


def _load_request_file(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read the request file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"the request file {path} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"the request file {path} must hold a JSON object, got {type(data).__name__}")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ConfigError(f'the request file {path} needs a non-empty "messages" list')
    parameters = data.get("parameters", {})
    if not isinstance(parameters, dict):
        raise ConfigError('"parameters" must be a JSON object')
    from .prompti import to_messages

    to_messages(messages)  # a bad message is a usage error before any key is looked for
    return data


def _run(args: argparse.Namespace, out: TextIO) -> None:
    data = _load_request_file(args.request_file)
    parameters: dict[str, Any] = data.get("parameters") or {}
    provider = data.get("provider")
    if provider is not None and provider not in PRESETS:
        raise ConfigError(f"unknown provider {provider!r}; known: {', '.join(sorted(PRESETS))}")
    from .prompti import ModelConfig, build_request

    with Client(
        provider,
        model=data.get("model"),
        base_url=parameters.get("api_base"),
        api_key=parameters.get("api_key"),
    ) as client:
        config = ModelConfig(provider or "", data.get("model") or client.config.model or "", parameters)
        request = build_request(client, data["messages"], config, data.get("tools"))
        if args.stream:
            with request.stream() as stream:
                for piece in stream.text():
                    out.write(json.dumps({"content": piece, "role": "assistant"}, ensure_ascii=False) + "\n")
                    out.flush()
            reply = stream.response
        else:
            reply = request.send()
            out.write(json.dumps({"content": reply.text, "role": "assistant"}, ensure_ascii=False) + "\n")
        final = {"finish_reason": reply.finish_reason, "usage": _usage_dict(reply.usage)}
        out.write(json.dumps(final) + "\n")


def _load_schema(spec: str) -> Any:
    """The class (dataclass, TypedDict, ...) named ``module:Class``."""
    import importlib

    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"--schema must be module:Class, got {spec!r}")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"--schema: cannot import {module_name!r}: {exc}") from None
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ConfigError(f"--schema: {module_name!r} has no {attribute!r}")
        target = getattr(target, part)
    return target


def _as_json(value: Any) -> Any:
    import dataclasses
    import enum

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _as_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return _as_json(value.value)
    if isinstance(value, dict):
        return {str(k): _as_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_json(v) for v in value]
    return value


def _structured(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> None:
    output_type = _load_schema(args.schema)
    prompt = stdin.read() if args.prompt == "-" else args.prompt
    with _chat_client(args.provider, args.model, err) as client:
        result = client.chat().user(prompt).structured(output_type, max_retries=args.max_retries).send()
    out.write(json.dumps(_as_json(result.value), ensure_ascii=False) + "\n")


def _error_line(exc: RelayError) -> str:
    record: dict[str, Any] = {"type": type(exc).__name__, "message": exc.message, "attempts": exc.attempts}
    if isinstance(exc, APIError):
        record["status"] = exc.status
        record["request_id"] = exc.request_id
    return json.dumps({"error": record}, ensure_ascii=False) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``relay-lite``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="relay-lite",
        description="A small, blocking LLM client.",
        epilog="exit codes: 0 ok, 1 API error, 2 usage error, 3 transport error, "
        "4 other relay_lite error, 130 interrupted",
    )
    parser.add_argument("--version", action="version", version=f"relay-lite {VERSION}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="stream a chat, a tool call and usage (fake server without a key)"
    )
    demo.add_argument("-p", "--provider", choices=sorted(PRESETS))
    demo.add_argument("-m", "--model")
    chat = commands.add_parser("chat", help="send one prompt and print the reply")
    chat.add_argument("prompt", help='the prompt, or "-" to read it from stdin')
    chat.add_argument("-p", "--provider", choices=sorted(PRESETS))
    chat.add_argument("-m", "--model")
    chat.add_argument("-s", "--system")
    chat.add_argument("--no-stream", action="store_true", help="wait for the whole reply")
    chat.add_argument("--usage", action="store_true", help="print token usage")
    chat.add_argument("--json", action="store_true", help="print one JSON object: text, usage, ...")
    structured = commands.add_parser("structured", help="extract a typed value; print it as JSON")
    structured.add_argument("prompt", help='the prompt, or "-" to read it from stdin')
    structured.add_argument(
        "--schema", required=True, metavar="MODULE:CLASS", help="a dataclass or TypedDict"
    )
    structured.add_argument("-p", "--provider", choices=sorted(PRESETS))
    structured.add_argument("-m", "--model")
    structured.add_argument("--max-retries", type=int, default=2, help="re-asks after invalid output")
    run = commands.add_parser("run", help="send a request file (prompti's format); print JSON lines")
    run.add_argument("--request-file", required=True, metavar="PATH")
    run.add_argument("--stream", action="store_true", help="one JSON line per chunk")
    commands.add_parser("version", help="print the version")
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            run_demo(sys.stdout, args.provider, args.model)
        elif args.command == "chat":
            _chat(args, sys.stdout, sys.stderr, sys.stdin)
        elif args.command == "run":
            _run(args, sys.stdout)
        elif args.command == "structured":
            _structured(args, sys.stdout, sys.stderr, sys.stdin)
        else:
            sys.stdout.write(f"relay-lite {VERSION}\n")
    except RelayError as exc:
        if args.command == "run":
            sys.stderr.write(_error_line(exc))
        else:
            sys.stderr.write(f"relay-lite: {type(exc).__name__}: {exc}\n")
        return exit_code_for(exc)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``relay-lite demo | head``): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
