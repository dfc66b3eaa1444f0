"""rusty-agent-sdk's README examples, run by relay_lite with only the import changed.

With OPENROUTER_API_KEY (or RELAY_LITE_API_KEY) set, this talks to OpenRouter. Without
one, it starts relay_lite's fake OpenAI-compatible server and points the default base URL
at it through RELAY_LITE_BASE_URL, so the examples below stay exactly as written and
print deterministic echo replies:

    python examples/rusty_agent_sdk_readme.py
"""

import os

from relay_lite import Provider  # was: from rusty_agent_sdk import Provider


def readme_examples() -> None:
    # -- README "Quick Start" ------------------------------------------------------------
    provider = Provider("openai/gpt-4o-mini")

    # Blocking generation
    text = provider.generate_text("Say hello in one sentence.")
    print(text)

    # Streaming
    for chunk in provider.stream_text("Count to 3."):
        print(chunk, end="", flush=True)
    print()

    # -- README "Custom Endpoint" (only built, never called) -----------------------------
    provider = Provider(
        "gpt-4o-mini",
        api_key="sk-...",
        base_url="https://api.openai.com/v1",
    )
    print(repr(provider))

    # -- docs/api-reference.md: GenerateResult ---------------------------------------------
    provider = Provider("openai/gpt-4o-mini")
    result = provider.generate_text("Hello!", include_usage=True)
    print(result.text)
    print(result)
    print(result.prompt_tokens)
    print(result.completion_tokens)
    print(result.total_tokens)
    print(result.finish_reason)
    print(result.model)

    # -- docs/api-reference.md: TextStream metadata ----------------------------------------
    stream = provider.stream_text("Hello!", include_usage=True)
    for chunk in stream:
        print(chunk, end="", flush=True)
    print()
    print(stream.prompt_tokens)
    print(stream.completion_tokens)
    print(stream.total_tokens)
    print(stream.finish_reason)
    print(stream.model)


if __name__ == "__main__":
    if os.environ.get("OPENROUTER_API_KEY") or os.environ.get("RELAY_LITE_API_KEY"):
        readme_examples()
    else:
        from relay_lite.testing import FakeServer

        with FakeServer.openai() as server:
            os.environ["OPENROUTER_API_KEY"] = "fake-key"
            os.environ["RELAY_LITE_BASE_URL"] = server.url
            readme_examples()
