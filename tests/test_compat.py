"""``relay_lite.Provider``, the rusty-agent-sdk compatible API, over real sockets."""

from __future__ import annotations

import socket

import pytest

import relay_lite
from relay_lite import Provider, Timeouts, Usage
from relay_lite._fake_chat import RENDERERS
from relay_lite.compat import EmbeddingResult, GenerateResult, TextStream, compat_class
from relay_lite.testing import ChatScript, FakeServer, Reply

needs_anthropic_fake = pytest.mark.skipif(
    "anthropic" not in RENDERERS, reason="FakeServer has no anthropic renderer yet"
)

KEY_VARIABLES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENROUTER_API_KEY", "MODELRELAY_API_KEY")
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith(("RELAY_LITE_", "RUSTY_AGENT_")) or name in KEY_VARIABLES + PROXY_VARIABLES:
            monkeypatch.delenv(name)
    # Fast retries for the tests that retry.
    monkeypatch.setenv("RUSTY_AGENT_RETRY_BACKOFF_MS", "1")


@pytest.fixture
def server():
    with FakeServer.openai() as fake:
        yield fake


@pytest.fixture
def provider(server):
    with Provider("openai/gpt-4o-mini", api_key="sk-test", base_url=server.url) as p:
        yield p


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return int(port)


# -- generate_text -----------------------------------------------------------------------------


def test_generate_text_returns_the_exact_str(provider, server):
    text = provider.generate_text("Say hello in one sentence.")
    assert type(text) is str
    assert text == "Echo: Say hello in one sentence."
    request = server.requests[0]
    assert request.path == "/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"


def test_include_usage_returns_a_result_with_exact_fields(provider, server):
    server.add(
        ChatScript(text="Hello there!", usage=Usage(11, 2, 13), model="gpt-test", finish_reason="length")
    )
    result = provider.generate_text("Hi", include_usage=True)
    assert isinstance(result, GenerateResult)
    assert (result.text, result.prompt_tokens, result.completion_tokens, result.total_tokens) == (
        "Hello there!",
        11,
        2,
        13,
    )
    assert result.finish_reason == "length"
    assert result.model == "gpt-test"
    assert str(result) == "Hello there!"
    assert repr(result) == (
        "GenerateResult(text='Hello there!', finish_reason='length', prompt_tokens=11, completion_tokens=2)"
    )


def test_messages_and_system_prompt_make_this_exact_body(provider, server):
    provider.generate_text(
        "ignored, because messages is given",
        system_prompt="You are a pirate.",
        messages=[
            {"role": "user", "content": "Where is the treasure?"},
            {"role": "assistant", "content": "On Skull Island!"},
            {"role": "user", "content": "How do I get there?"},
        ],
        temperature=0.2,
        max_tokens=50,
        top_p=0.9,
        stop=["\n\n", "END"],
        frequency_penalty=0.5,
        presence_penalty=0.1,
        seed=7,
        response_format={"type": "json_object"},
    )
    assert server.requests[0].json() == {
        "model": "openai/gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a pirate."},
            {"role": "user", "content": "Where is the treasure?"},
            {"role": "assistant", "content": "On Skull Island!"},
            {"role": "user", "content": "How do I get there?"},
        ],
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 50,
        "seed": 7,
        "response_format": {"type": "json_object"},
        "stop": ["\n\n", "END"],
        "frequency_penalty": 0.5,
        "presence_penalty": 0.1,
    }


def test_prompt_with_system_prompt_and_a_single_stop_string(provider, server):
    assert (
        provider.generate_text("Tell me a joke", system_prompt="Be brief.", stop=".")
        == "Echo: Tell me a joke"
    )
    assert server.requests[0].json() == {
        "model": "openai/gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Tell me a joke"},
        ],
        "stop": ["."],
    }


def test_an_empty_messages_list_falls_back_to_the_prompt(provider, server):
    assert provider.generate_text("Hi", messages=[]) == "Echo: Hi"


@pytest.mark.parametrize("kwargs", [{}, {"messages": []}, {"system_prompt": "alone"}])
def test_no_prompt_and_no_messages_is_a_value_error_before_any_request(provider, server, kwargs):
    with pytest.raises(ValueError, match="prompt"):
        provider.generate_text(**kwargs)
    with pytest.raises(ValueError, match="prompt"):
        provider.stream_text(**kwargs)
    assert server.requests == []


def test_bad_arguments_are_value_errors(provider):
    with pytest.raises(ValueError, match="stop"):
        provider.generate_text("x", stop=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_tokens"):
        provider.generate_text("x", max_tokens=0)
    with pytest.raises(ValueError, match="response_format"):
        provider.generate_text("x", response_format="json")  # type: ignore[arg-type]


# -- stream_text -------------------------------------------------------------------------------


@pytest.mark.parametrize("include_usage", [True, False])
def test_stream_text_pieces_and_metadata_after_consumption(provider, server, include_usage):
    server.add(ChatScript(text="Counting: 1, 2, 3.", chunk_size=5, usage=Usage(7, 6, 13), model="m-1"))
    stream = provider.stream_text("Count to 3.", include_usage=include_usage)
    assert isinstance(stream, TextStream)
    pieces = []
    for chunk in stream:
        assert stream.total_tokens is None and stream.finish_reason is None  # not yet
        pieces.append(chunk)
    assert pieces == ["Count", "ing: ", "1, 2,", " 3."]
    assert "".join(pieces) == "Counting: 1, 2, 3."
    assert (stream.prompt_tokens, stream.completion_tokens, stream.total_tokens) == (7, 6, 13)
    # The SDK lost finish_reason when the usage chunk came last; it is kept here.
    assert stream.finish_reason == "stop"
    assert stream.model == "m-1"
    assert stream.response is not None and stream.response.text == "Counting: 1, 2, 3."
    assert list(stream) == []  # exhausted stays exhausted
    body = server.requests[0].json()
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_characters_split_across_network_chunks_arrive_whole(provider, server):
    text = "naïve café — 東京 👋"
    server.add(ChatScript(text=text, chunk_size=3, split_bytes=1))
    assert "".join(provider.stream_text("x")) == text


def test_stream_text_sends_nothing_until_iterated(provider, server):
    stream = provider.stream_text("later")
    assert server.requests == []
    assert next(stream) == "Echo"
    assert len(server.requests) == 1
    stream.close()
    assert list(stream) == []


# -- errors ------------------------------------------------------------------------------------

AUTH_BODY = {
    "error": {"message": "Invalid API key", "type": "invalid_request_error", "code": "invalid_api_key"}
}


def test_401_is_a_runtime_error_and_an_authentication_error(provider, server):
    server.add(Reply.json(AUTH_BODY, status=401, headers={"x-request-id": "req_401"}))
    with pytest.raises(RuntimeError) as info:
        provider.generate_text("Hello!")
    err = info.value
    assert isinstance(err, relay_lite.AuthenticationError)
    assert isinstance(err, relay_lite.APIError) and isinstance(err, relay_lite.RelayError)
    assert not isinstance(err, ConnectionError)
    assert (err.status, err.code, err.message, err.request_id, err.attempts) == (
        401,
        "invalid_api_key",
        "Invalid API key",
        "req_401",
        1,
    )
    assert (
        str(err) == "Invalid API key (status 401, code invalid_api_key, request id req_401, after 1 attempt)"
    )
    assert type(err.__cause__) is relay_lite.AuthenticationError
    assert len(server.requests) == 1  # 401 is not retried


def test_one_compat_class_per_error_class_so_both_excepts_work(provider, server, monkeypatch):
    monkeypatch.setenv("RUSTY_AGENT_MAX_RETRIES", "0")
    p = Provider("m", api_key="k", base_url=server.url)
    caught = []
    for _ in range(2):
        server.add(Reply.json({"error": {"message": "slow down", "type": "rate_limit_error"}}, status=429))
        try:
            p.generate_text("x")
        except relay_lite.RateLimitError as exc:
            caught.append(exc)
    assert type(caught[0]) is type(caught[1])
    assert isinstance(caught[0], RuntimeError) and caught[0].status == 429
    assert type(caught[0]) is compat_class(relay_lite.RateLimitError, (RuntimeError,))
    assert compat_class(relay_lite.ConfigError, (ValueError,)) is relay_lite.ConfigError


def test_retryable_statuses_are_retried_as_many_times_as_the_env_says(server, monkeypatch):
    monkeypatch.setenv("RUSTY_AGENT_MAX_RETRIES", "1")
    p = Provider("m", api_key="k", base_url=server.url)
    server.add(Reply(status=503))
    assert p.generate_text("again") == "Echo: again"
    server.add(Reply(status=503), Reply(status=503))
    with pytest.raises(RuntimeError) as info:
        p.generate_text("again")
    assert isinstance(info.value, relay_lite.ServerError) and info.value.attempts == 2


def test_connection_refused_is_a_connection_error_and_a_connect_error():
    p = Provider("m", api_key="k", base_url=f"http://127.0.0.1:{closed_port()}/v1")
    with pytest.raises(ConnectionError) as info:
        p.generate_text("Hello!")
    err = info.value
    assert isinstance(err, relay_lite.ConnectError) and isinstance(err, relay_lite.TransportError)
    assert not isinstance(err, RuntimeError)
    assert err.attempts == 3  # the SDK's default: 2 retries
    assert type(err.__cause__) is relay_lite.ConnectError


def test_stream_errors_surface_on_first_next_like_the_sdk(server):
    p = Provider("m", api_key="k", base_url=f"http://127.0.0.1:{closed_port()}")
    stream = p.stream_text("Hello!")
    with pytest.raises(ConnectionError) as info:
        next(stream)
    assert isinstance(info.value, relay_lite.ConnectError)

    ok = Provider("m", api_key="k", base_url=server.url)
    server.add(Reply.json(AUTH_BODY, status=401))
    stream = ok.stream_text("Hello!")
    with pytest.raises(RuntimeError) as api_info:
        next(stream)
    assert isinstance(api_info.value, relay_lite.AuthenticationError)


def test_a_stream_cut_short_is_a_runtime_error_with_the_partial_text(provider, server):
    server.add(ChatScript(text="one two three four", chunk_size=4, cut_after=3))
    received = []
    with pytest.raises(RuntimeError) as info:
        for chunk in provider.stream_text("x"):
            received.append(chunk)
    err = info.value
    assert isinstance(err, relay_lite.StreamError)
    assert received == ["one ", "two "]
    assert err.text == "one two "


def test_an_error_event_inside_the_stream_is_a_runtime_error(provider, server):
    server.add(
        ChatScript(text="abcdefgh", error={"type": "overloaded_error", "message": "busy"}, error_after=1)
    )
    with pytest.raises(RuntimeError) as info:
        list(provider.stream_text("x"))
    assert isinstance(info.value, relay_lite.OverloadedError)
    assert info.value.partial.text == "abcd"


def test_a_silent_stream_times_out_as_runtime_and_connection_error(server, monkeypatch):
    monkeypatch.setenv("RUSTY_AGENT_REQUEST_TIMEOUT_SECS", "0.2")
    p = Provider("m", api_key="k", base_url=server.url)
    server.add(ChatScript(text="late", chunk_delay=5))
    with pytest.raises(RuntimeError) as info:
        list(p.stream_text("x"))
    err = info.value
    assert isinstance(err, relay_lite.ReadTimeout) and isinstance(err, ConnectionError)


def test_the_request_timeout_bounds_a_whole_generate_text_call(server, monkeypatch):
    monkeypatch.setenv("RUSTY_AGENT_REQUEST_TIMEOUT_SECS", "0.5")
    p = Provider("m", api_key="k", base_url=server.url)
    # Never silent for 0.5 s, but the whole body would take 3 s.
    server.add(Reply.drip(b'{"choices": []}' * 2, interval=0.1))
    with pytest.raises(ConnectionError) as info:
        p.generate_text("x")
    assert isinstance(info.value, relay_lite.DeadlineExceeded)


def test_a_body_that_is_not_json_is_runtime_and_value_error(provider, server):
    server.add(Reply(body=b"<html>oops</html>"))
    with pytest.raises(ValueError) as info:
        provider.generate_text("x")
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, relay_lite.ResponseError)


# -- construction, keys and environment -----------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "variable"),
    [
        (lambda: Provider("openai/gpt-4o-mini"), "OPENROUTER_API_KEY"),
        (lambda: Provider.openrouter("openai/gpt-4o-mini"), "OPENROUTER_API_KEY"),
        (lambda: Provider.openai("gpt-4o-mini"), "OPENAI_API_KEY"),
        (lambda: Provider.anthropic("claude-sonnet-4-20250514"), "ANTHROPIC_API_KEY"),
    ],
)
def test_missing_key_is_a_value_error_naming_the_variable(make, variable, monkeypatch):
    with pytest.raises(ValueError, match=variable) as info:
        make()
    assert isinstance(info.value, relay_lite.ConfigError)
    monkeypatch.setenv(variable, "from-env")
    assert make().client.config.api_key == "from-env"


def test_presets_and_repr(monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", "or")
    monkeypatch.setenv("OPENAI_API_KEY", "oa")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "an")
    default = Provider("openai/gpt-4o-mini")
    assert repr(default) == "Provider(model='openai/gpt-4o-mini', base_url='https://openrouter.ai/api/v1')"
    assert default.client.config.provider == "openrouter"
    assert Provider.openai("gpt-4o-mini").client.config.base_url == "https://api.openai.com/v1"
    anthropic = Provider.anthropic("claude-x")
    assert (anthropic.client.config.provider, anthropic.client.config.protocol) == ("anthropic", "anthropic")
    custom = Provider("gpt-4o-mini", api_key="sk-...", base_url="https://api.openai.com/v1/")
    assert repr(custom) == "Provider(model='gpt-4o-mini', base_url='https://api.openai.com/v1')"
    assert custom.client.config.api_key == "sk-..."
    with pytest.raises(ValueError, match="model"):
        Provider("", api_key="k")


def test_sdk_defaults_when_nothing_is_set(monkeypatch):
    monkeypatch.delenv("RUSTY_AGENT_RETRY_BACKOFF_MS")
    config = Provider("m", api_key="k").client.config
    assert config.timeouts == Timeouts(connect=10, read=60, total=None)
    assert (config.retry.max_retries, config.retry.backoff, config.retry.max_backoff) == (2, 0.25, 64.0)


def test_rusty_agent_variables_are_honoured(monkeypatch):
    monkeypatch.setenv("RUSTY_AGENT_REQUEST_TIMEOUT_SECS", "120")
    monkeypatch.setenv("RUSTY_AGENT_CONNECT_TIMEOUT_SECS", "30")
    monkeypatch.setenv("RUSTY_AGENT_MAX_RETRIES", "5")
    monkeypatch.setenv("RUSTY_AGENT_RETRY_BACKOFF_MS", "500")
    config = Provider("m", api_key="k").client.config
    assert config.timeouts == Timeouts(connect=30, read=120, total=None)
    assert (config.retry.max_retries, config.retry.backoff, config.retry.max_backoff) == (5, 0.5, 128.0)


def test_relay_lite_variables_win_over_rusty_agent_ones(monkeypatch):
    for name, value in {
        "RUSTY_AGENT_REQUEST_TIMEOUT_SECS": "120",
        "RELAY_LITE_READ_TIMEOUT": "12",
        "RUSTY_AGENT_CONNECT_TIMEOUT_SECS": "30",
        "RELAY_LITE_CONNECT_TIMEOUT": "2",
        "RUSTY_AGENT_MAX_RETRIES": "5",
        "RELAY_LITE_MAX_RETRIES": "1",
        "RUSTY_AGENT_RETRY_BACKOFF_MS": "500",
        "RELAY_LITE_BACKOFF": "0.1",
        "OPENROUTER_API_KEY": "sdk-key",
        "RELAY_LITE_API_KEY": "relay-key",
    }.items():
        monkeypatch.setenv(name, value)
    config = Provider("m").client.config
    assert config.timeouts == Timeouts(connect=2, read=12, total=None)
    assert (config.retry.max_retries, config.retry.backoff) == (1, 0.1)
    assert config.api_key == "relay-key"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RUSTY_AGENT_MAX_RETRIES", "lots"),
        ("RUSTY_AGENT_MAX_RETRIES", "-1"),
        ("RUSTY_AGENT_MAX_RETRIES", "1.5"),
        ("RUSTY_AGENT_REQUEST_TIMEOUT_SECS", "0"),
        ("RUSTY_AGENT_REQUEST_TIMEOUT_SECS", "soon"),
        ("RUSTY_AGENT_CONNECT_TIMEOUT_SECS", "-5"),
        ("RUSTY_AGENT_RETRY_BACKOFF_MS", "0"),
        ("RUSTY_AGENT_RETRY_BACKOFF_MS", "inf"),
    ],
)
def test_bad_environment_values_are_value_errors_naming_variable_and_value(variable, value, monkeypatch):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError) as info:
        Provider("m", api_key="k")
    assert isinstance(info.value, relay_lite.ConfigError)
    assert variable in str(info.value) and repr(value) in str(info.value)


# -- embeddings ------------------------------------------------------------------------------


def test_embed_many_returns_vectors_in_input_order(provider, server):
    server.add(
        Reply.json(
            {
                "data": [{"index": 1, "embedding": [0.3, 0.4]}, {"index": 0, "embedding": [0.1, 0.2]}],
                "model": "emb-1",
                "usage": {"prompt_tokens": 4, "total_tokens": 4},
            }
        )
    )
    result = provider.embed_many(["a", "b"])
    assert result == EmbeddingResult([[0.1, 0.2], [0.3, 0.4]], 4, 4, "emb-1")
    assert repr(result) == "EmbeddingResult(count=2, prompt_tokens=4)"
    request = server.requests[0]
    assert request.path == "/embeddings"
    # Through Client.embed: base64 asked for; a server sending float lists still works.
    assert request.json() == {"model": "openai/gpt-4o-mini", "input": ["a", "b"], "encoding_format": "base64"}
    assert request.headers["authorization"] == "Bearer sk-test"


def test_embed_errors_are_mapped_too(provider, server):
    server.add(Reply.json(AUTH_BODY, status=401))
    with pytest.raises(RuntimeError) as info:
        provider.embed("a")
    assert isinstance(info.value, relay_lite.AuthenticationError)
    server.add(Reply.json({"data": []}))
    with pytest.raises(ValueError):
        provider.embed("a")


# -- Anthropic (native Messages API) -----------------------------------------------------------


@needs_anthropic_fake
def test_anthropic_generate_stream_and_body():
    with FakeServer.anthropic() as server:
        p = Provider.anthropic("claude-sonnet-4-20250514", api_key="sk-ant", base_url=server.url)
        result = p.generate_text(
            "Hello!", system_prompt="Be brief.", seed=1, frequency_penalty=0.2, include_usage=True
        )
        assert (result.text, result.finish_reason, result.model) == ("Echo: Hello!", "stop", "fake-model")
        assert result.total_tokens == result.prompt_tokens + result.completion_tokens
        request = server.requests[0]
        assert request.path == "/v1/messages"
        assert request.headers["x-api-key"] == "sk-ant"
        # seed and the penalties have no Messages API field and are left out.
        assert request.json() == {
            "model": "claude-sonnet-4-20250514",
            "max_tokens": 4096,
            "messages": [{"role": "user", "content": "Hello!"}],
            "system": "Be brief.",
        }

        server.add(ChatScript(text="Bonjour à tous", chunk_size=4, usage=Usage(5, 3, 8), split_bytes=3))
        stream = p.stream_text("Salut")
        assert "".join(stream) == "Bonjour à tous"
        assert (stream.prompt_tokens, stream.completion_tokens, stream.total_tokens) == (5, 3, 8)
        assert stream.finish_reason == "stop"


@needs_anthropic_fake
def test_anthropic_errors_are_builtin_too():
    with FakeServer.anthropic() as server:
        p = Provider.anthropic("claude-x", api_key="bad", base_url=server.url)
        body = {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}
        server.add(Reply.json(body, status=401))
        with pytest.raises(RuntimeError) as info:
            p.generate_text("Hi")
        assert isinstance(info.value, relay_lite.AuthenticationError)
        with pytest.raises(ValueError):
            p.embed("no embeddings at Anthropic")


def test_compat_errors_survive_pickling() -> None:
    import pickle

    from relay_lite.compat import as_builtin

    original = relay_lite.RateLimitError("slow down", status=429, code="rate_limit_exceeded", attempts=3)
    error = as_builtin(original)
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, RuntimeError) and isinstance(copy, relay_lite.RateLimitError)
    assert (copy.status, copy.code, copy.attempts, str(copy)) == (429, "rate_limit_exceeded", 3, str(error))
    streamed = pickle.loads(pickle.dumps(as_builtin(relay_lite.StreamError("cut"), streaming=True)))
    assert isinstance(streamed, RuntimeError) and isinstance(streamed, relay_lite.StreamError)


def test_embeddings_with_an_index_json_cannot_hold_in_an_int_are_a_response_error(server):
    # json reads 1e400 as inf; int(inf) raised a bare OverflowError before.
    server.add(
        Reply(
            body=b'{"data": [{"index": 1e400, "embedding": [0.5]}]}',
            headers={"Content-Type": "application/json"},
        )
    )
    p = Provider("m", api_key="k", base_url=server.url)
    with pytest.raises(relay_lite.ResponseError) as info:
        p.embed("x")
    assert isinstance(info.value, ValueError)
    assert info.value.message == "data[0].index is a number, expected a non-negative whole number"
