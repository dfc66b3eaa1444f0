"""The ``relay-lite`` command (also ``python -m relay_lite``).

    relay-lite demo                 stream a chat, a tool call and usage figures
    relay-lite chat "Hello" [-m MODEL] [-s SYSTEM] [--no-stream]
    relay-lite version

Without an API key in the environment, ``demo`` starts the built-in fake server and runs
against it, so it works on a machine with no network and no account.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import ExitStack
from typing import Optional, Sequence, TextIO

from ._client import Client
from ._config import PRESETS, VERSION
from ._errors import RelayError
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


def _chat(args: argparse.Namespace, out: TextIO) -> None:
    with Client(args.provider, model=args.model) as client:
        request = client.chat()
        if args.system:
            request = request.system(args.system)
        request = request.user(args.prompt)
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


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``relay-lite``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="relay-lite", description="A small, blocking LLM client.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="stream a chat, a tool call and usage (fake server without a key)"
    )
    demo.add_argument("-p", "--provider", choices=sorted(PRESETS))
    demo.add_argument("-m", "--model")
    chat = commands.add_parser("chat", help="send one prompt and print the reply")
    chat.add_argument("prompt")
    chat.add_argument("-p", "--provider", choices=sorted(PRESETS))
    chat.add_argument("-m", "--model")
    chat.add_argument("-s", "--system")
    chat.add_argument("--no-stream", action="store_true", help="wait for the whole reply")
    chat.add_argument("--usage", action="store_true", help="print token usage")
    commands.add_parser("version", help="print the version")
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            run_demo(sys.stdout, args.provider, args.model)
        elif args.command == "chat":
            _chat(args, sys.stdout)
        else:
            sys.stdout.write(f"relay-lite {VERSION}\n")
    except RelayError as exc:
        sys.stderr.write(f"relay-lite: {type(exc).__name__}: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``relay-lite demo | head``): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
