"""Secrets never leave through errors or logs: a server that echoes the caller's key in its
error must not put it into ``str(error)``, ``repr(error)``, ``error.body``,
``error.headers`` or relay_lite's log lines; a password in the base URL is redacted from
connection errors, debug logs and reprs. Real loopback servers, real retries."""

from __future__ import annotations

import json
import logging
import socket
from typing import Any, Callable

import pytest

from relay_lite import (
    APIError,
    AuthenticationError,
    Client,
    ConnectError,
    RateLimitError,
    RetryPolicy,
    ServerError,
)
from relay_lite._errors import REDACTED, redact, safe_url, secret_values, url_secrets
from relay_lite.testing import FakeServer, RecordedRequest, Reply

KEY = "sk-proj-Echo3dBackByTheServer42"
ANTHROPIC_KEY = "sk-ant-api03-EchoedKey-xyz"
MODELRELAY_KEY = "mr_sk_EchoedModelRelayKey"
NO_WAIT = RetryPolicy(max_retries=2, backoff=0, max_backoff=0)


def everything_said(error: BaseException, caplog: pytest.LogCaptureFixture) -> str:
    """Every place a secret could leak from: str, repr, body, headers, the logs."""
    assert isinstance(error, APIError) or hasattr(error, "message")
    parts = [str(error), repr(error), error.args[0], caplog.text]
    if isinstance(error, APIError):
        parts += [json.dumps(error.body), repr(error.body), repr(error.headers), str(error.code)]
    return "\n".join(parts)


def echo_key(status: int, *, json_body: bool) -> Callable[[RecordedRequest], Reply]:
    """A gateway that quotes the credential it was sent back in its error."""

    def handler(request: RecordedRequest) -> Reply:
        sent = (
            request.headers.get("authorization", "").removeprefix("Bearer ")
            or request.headers.get("x-api-key")
            or request.headers.get("x-modelrelay-api-key")
            or request.headers.get("api-key", "")
        )
        text = f"upstream rejected key {sent}"
        if json_body:
            # OpenAI's error shape, with the key also in "param" and a nested detail.
            body = {"error": {"message": text, "type": "invalid_request_error", "param": sent,
                              "code": None, "details": [{"key": sent}]}}  # fmt: skip
            return Reply.json(body, status=status, headers={"X-Echo": f"key={sent}"})
        return Reply(status=status, headers={"Content-Type": "text/plain"}, body=text + "\n")

    return handler


@pytest.mark.parametrize(
    ("status", "error_class", "attempts"),
    [(401, AuthenticationError, 1), (429, RateLimitError, 3), (500, ServerError, 3)],
)
@pytest.mark.parametrize("json_body", [True, False], ids=["json", "text"])
def test_echoed_key_is_redacted_everywhere(
    caplog: pytest.LogCaptureFixture, status: int, error_class: type, attempts: int, json_body: bool
) -> None:
    caplog.set_level(logging.DEBUG, logger="relay_lite")
    with FakeServer(echo_key(status, json_body=json_body)) as server:
        with Client.compatible(server.url + "/v1", api_key=KEY, model="m", retry=NO_WAIT) as client:
            with pytest.raises(error_class) as info:
                client.chat().user("hi").send()
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"  # it was sent
    error = info.value
    assert error.attempts == attempts
    assert error.message == f"upstream rejected key {REDACTED}"
    code = ", code invalid_request_error" if json_body else ""
    plural = "s" if attempts > 1 else ""
    assert (
        str(error)
        == f"upstream rejected key {REDACTED} (status {status}{code}, after {attempts} attempt{plural})"
    )
    assert KEY not in everything_said(error, caplog)
    if json_body:
        assert error.body["error"]["param"] == REDACTED
        assert error.body["error"]["details"] == [{"key": REDACTED}]
        assert error.headers["x-echo"] == f"key={REDACTED}"
    else:
        assert error.body == f"upstream rejected key {REDACTED}\n"
    if attempts > 1:  # the retry log line quotes the error message: redacted too
        assert f"retrying in 0.00 s after attempt 1: upstream rejected key {REDACTED}" in caplog.text


@pytest.mark.parametrize(
    ("make_client", "key"),
    [
        (lambda url: Client.anthropic(ANTHROPIC_KEY, base_url=url, model="c", retry=NO_WAIT), ANTHROPIC_KEY),
        (
            lambda url: Client.modelrelay(MODELRELAY_KEY, base_url=url, model="m", retry=NO_WAIT),
            MODELRELAY_KEY,
        ),
        (
            lambda url: Client.compatible(url, model="m", retry=NO_WAIT, headers={"api-key": KEY}),
            KEY,
        ),  # Azure-style key in a header the user set
    ],
    ids=["x-api-key", "x-modelrelay-api-key", "api-key"],
)
def test_every_credential_header_is_redacted(
    caplog: pytest.LogCaptureFixture, make_client: Callable[[str], Client], key: str
) -> None:
    caplog.set_level(logging.DEBUG, logger="relay_lite")
    with FakeServer(echo_key(503, json_body=True)) as server:
        with make_client(server.url) as client:
            with pytest.raises(ServerError) as info:
                client.chat().user("hi").send()
    assert info.value.message == f"upstream rejected key {REDACTED}"
    assert info.value.attempts == 3
    assert key not in everything_said(info.value, caplog)


def test_key_echoed_in_an_error_object_of_a_200_reply_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    # Some gateways answer 200 with OpenAI's error object instead of a completion.
    body = {"error": {"message": f"Incorrect API key provided: {KEY}.", "type": "invalid_request_error",
                      "code": "invalid_api_key"}}  # fmt: skip
    with FakeServer() as server:
        server.add(Reply.json(body))
        with Client.compatible(server.url, api_key=KEY, model="m") as client:
            with pytest.raises(AuthenticationError) as info:
                client.chat().user("hi").send()
    assert info.value.message == f"Incorrect API key provided: {REDACTED}."
    assert info.value.headers["content-length"] == str(len(json.dumps(body)))
    assert KEY not in everything_said(info.value, caplog)


def test_key_with_json_escaped_characters_is_redacted_from_the_parsed_body(
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = 'sk-with/slash"quote'
    # PHP-style servers escape "/" as "\/"; the quote must be escaped in any JSON
    raw = b'{"error": {"message": "bad key sk-with\\/slash\\"quote", "type": "authentication_error"}}'
    with FakeServer() as server:
        server.add(Reply(status=401, headers={"Content-Type": "application/json"}, body=raw))
        with Client.compatible(server.url, model="m", headers={"Authorization": f"Bearer {key}"}) as client:
            with pytest.raises(AuthenticationError) as info:
                client.chat().user("hi").send()
    assert info.value.message == f"bad key {REDACTED}"
    assert info.value.body == {"error": {"message": f"bad key {REDACTED}", "type": "authentication_error"}}
    assert key not in everything_said(info.value, caplog)


# -- URL credentials --------------------------------------------------------------------------


def refused_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_url_password_is_redacted_from_connect_errors_logs_and_reprs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="relay_lite")
    password = "hunter2-pw-9"
    port = refused_port()
    url = f"http://gateway-user:{password}@127.0.0.1:{port}/v1"
    client = Client.compatible(url, model="m", retry=RetryPolicy(max_retries=1, backoff=0))
    with pytest.raises(ConnectError) as info:
        client.chat().user("hi").send()
    error = info.value
    assert error.attempts == 2
    assert str(error).startswith(f"could not connect to {REDACTED}@127.0.0.1:{port}: ")
    said = "\n".join([str(error), repr(error), caplog.text, repr(client), repr(client.config)])
    assert password not in said
    assert "gateway-user" not in said
    assert f"POST http://{REDACTED}@127.0.0.1:{port}/v1/chat/completions failed on attempt 1" in caplog.text
    assert (
        repr(client)
        == f"Client(provider='compatible', base_url='http://{REDACTED}@127.0.0.1:{port}/v1', model='m')"
    )


def test_percent_encoded_url_password_is_redacted_in_both_forms() -> None:
    url = "https://me:p%40ss%2Fword-long@example.test/v1"
    assert set(url_secrets(url)) == {
        "me:p%40ss%2Fword-long",
        "me:p@ss/word-long",
        "p%40ss%2Fword-long",
        "p@ss/word-long",
    }
    secrets = secret_values({}, url_secrets(url))
    assert redact("proxy said p@ss/word-long and me:p%40ss%2Fword-long", secrets) == (
        f"proxy said {REDACTED} and {REDACTED}"
    )
    assert safe_url(url) == f"https://{REDACTED}@example.test/v1"


def test_bad_base_url_error_does_not_show_its_password() -> None:
    with pytest.raises(Exception) as info:
        Client.compatible("ftp://user:topsecret-pw@host/v1")
    assert "topsecret-pw" not in str(info.value)
    assert (
        str(info.value) == f"base_url='ftp://{REDACTED}@host/v1' must be an absolute http:// or https:// URL"
    )


def test_config_repr_hides_credential_headers_set_by_the_user() -> None:
    client = Client.compatible(
        "http://127.0.0.1:9/v1", model="m", headers={"X-Custom-Token": "tok-abcdef-123", "X-Trace": "visible"}
    )
    text = repr(client.config)
    assert "tok-abcdef-123" not in text
    assert "'X-Custom-Token': '[REDACTED]'" in text
    assert "'X-Trace': 'visible'" in text


# -- the mechanism, sans-I/O ------------------------------------------------------------------


def test_secret_values_names_credential_headers_and_their_tokens() -> None:
    headers = {
        "Authorization": "Bearer sk-abcdef",
        "x-api-key": "sk-ant-123456",
        "X-ModelRelay-Api-Key": "mr_sk_123456",
        "Content-Type": "application/json",
        "User-Agent": "relay-lite/0.1.0",
        "Proxy-Authorization": "Basic dXNlcjpwYXNz",
    }
    assert set(secret_values(headers)) == {
        "Bearer sk-abcdef", "sk-abcdef", "sk-ant-123456", "mr_sk_123456",
        "Basic dXNlcjpwYXNz", "dXNlcjpwYXNz",
    }  # fmt: skip


def test_short_values_are_not_treated_as_secrets() -> None:
    # A five-character "key" would turn every matching word of a message into [REDACTED].
    assert secret_values({"Authorization": "Bearer abc", "x-api-key": "abcde"}) == ("Bearer abc",)


def test_redact_replaces_longest_secret_first() -> None:
    secrets = secret_values({"Authorization": "Bearer sk-abcdef"})
    assert redact("got 'Bearer sk-abcdef' then sk-abcdef", secrets) == f"got '{REDACTED}' then {REDACTED}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://u:p@h/x", f"http://{REDACTED}@h/x"),
        ("see https://user@host.test:8080/a?b=c@d", f"see https://{REDACTED}@host.test:8080/a?b=c@d"),
        ("mail me@example.com", "mail me@example.com"),
        ("http://host/path@x", "http://host/path@x"),
    ],
)
def test_url_user_info_is_cut_from_any_text(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_scrubbed_error_repr_and_args_follow_the_message() -> None:
    from relay_lite._errors import api_error

    error: Any = api_error(
        401, b'{"error": {"message": "key sk-abcdefgh is wrong"}}', secrets=("sk-abcdefgh",)
    )
    assert repr(error) == f"AuthenticationError('key {REDACTED} is wrong')"
    assert error.args == (f"key {REDACTED} is wrong",)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_key_echoed_inside_an_error_event_of_a_200_stream_is_redacted(
    caplog: pytest.LogCaptureFixture, provider: str
) -> None:
    # OpenRouter and other gateways send upstream errors mid-stream, message quoted as received.
    caplog.set_level(logging.DEBUG, logger="relay_lite")
    key = KEY if provider == "openai" else ANTHROPIC_KEY
    if provider == "openai":
        first = b'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
        error = {"error": {"message": f"upstream rejected key {key}", "code": 401, "param": key}}
    else:
        first = (
            b'event: message_start\ndata: {"type":"message_start","message":{"id":"m","model":"c",'
            b'"usage":{"input_tokens":1}}}\n\n'
            b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
            b'"content_block":{"type":"text","text":""}}\n\n'
            b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
            b'"delta":{"type":"text_delta","text":"Hi"}}\n\n'
        )
        error = {"type": "error", "error": {"type": "authentication_error", "message": f"bad key {key}"}}
    body = first + f"event: error\ndata: {json.dumps(error)}\n\n".encode()
    with FakeServer() as server:
        server.add(Reply.sse([body], headers={"x-ratelimit-remaining-requests": "7"}))
        client = Client(provider, api_key=key, base_url=server.url, model="m", retry=NO_WAIT)
        with pytest.raises(AuthenticationError) as info:
            with client.chat().user("q").stream() as stream:
                list(stream)
    said = everything_said(info.value, caplog)
    assert key not in said
    assert REDACTED in str(info.value)
    assert info.value.partial.text == "Hi"
    assert info.value.headers["x-ratelimit-remaining-requests"] == "7"


def test_a_key_cut_by_a_quote_is_redacted_as_far_as_it_goes() -> None:
    # Messages quote the first 200 characters of a body; a key crossing that cut must not
    # survive as a prefix (review finding: 20 of 41 characters leaked).
    key = "sk-proj-SECRETSECRETSECRETSECRETSECRET123"
    quoted = "stream ended in the middle of an event: '" + ("x" * 170) + key[:20] + "'"
    assert redact(quoted, secret_values({"Authorization": f"Bearer {key}"})) == (
        "stream ended in the middle of an event: '" + ("x" * 170) + REDACTED + "'"
    )
    # shorter than MIN_SECRET_PREFIX: nothing to recognise it by, and nothing much leaked
    assert redact("key sk-proj", [key]) == "key sk-proj"


def test_agent_platform_error_envelope_in_a_200_body_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    # The agent platform wraps errors as {"code": 401, "message": ...} with status 200.
    from relay_lite import AgentClient

    key = "sk-agent-secret-123456"
    with FakeServer() as server:
        server.add(Reply.json({"code": 401, "message": f"bad key {key}", "data": None}))
        with AgentClient(server.url, api_key=key, env={}) as agents:
            with pytest.raises(APIError) as info:
                agents.conversations.get("c1")
    assert key not in everything_said(info.value, caplog)
    assert str(info.value).startswith(f"bad key {REDACTED}")


def test_a_200_html_page_echoing_the_key_is_a_redacted_response_error() -> None:
    from relay_lite import ResponseError

    with FakeServer() as server:
        server.add(Reply(body=f"<html>hello {KEY}</html>".encode(), headers={"Content-Type": "text/html"}))
        client = Client.modelrelay(api_key=KEY, base_url=server.url)
        with pytest.raises(ResponseError) as info:
            client.tiers.get("t1")
    assert KEY not in str(info.value) + repr(info.value) + str(info.value.body)
    assert REDACTED in str(info.value.body)


def test_prepared_request_repr_shows_no_header_value() -> None:
    from relay_lite._session import PreparedRequest

    request = PreparedRequest("POST", "/chat", json={"k": KEY}, overrides={"X-Api-Key": KEY})
    assert repr(request) == "PreparedRequest(method='POST', path='/chat', timeouts=None, retry=None)"


def test_a_200_html_page_echoing_the_key_to_send_is_a_redacted_response_error() -> None:
    from relay_lite import ResponseError

    with FakeServer() as server:
        server.add(
            Reply(body=f"<html>proxy says {KEY}</html>".encode(), headers={"Content-Type": "text/html"})
        )
        client = Client.compatible(server.url, api_key=KEY, model="m")
        with pytest.raises(ResponseError) as info:
            client.chat().user("q").send()
    assert KEY not in str(info.value) + repr(info.value) + str(info.value.body)
    assert REDACTED in str(info.value.body)
