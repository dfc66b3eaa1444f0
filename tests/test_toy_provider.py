"""A provider added from outside the package, the way "How to add a provider" says
(``relay_lite.protocols._adapter``): an ``Adapter`` subclass, ``register_adapter``,
``register_preset``, then ``Client("toy")``, sending and streaming against ``FakeServer``.

The toy wire protocol is defined here and nowhere else:

- ``POST {base}/toy/say`` with ``Toy-Key: KEY``; body ``{"model", "lines": [{"who",
  "said"}], "stream": bool}``.
- A whole reply: ``{"said": "...", "why": "done", "cost": {"in": 3, "out": 2}}``.
- A stream: SSE ``data: {"bit": "..."}`` events, then ``data: {"why": ..., "cost": ...}``,
  ending with an ``event: bye`` event (EOF before it is a cut stream).
- Errors: ``{"oops": {"what": "...", "kind": "..."}}`` with an HTTP status, or as a
  ``data:`` event inside a 200 stream; ``kind`` ``hot`` means overloaded, ``slow`` means
  rate limited (the table the adapter hands to ``build_api_error``, which uses it when
  there is no HTTP status). The request id comes in ``toy-trace``.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Mapping, Optional, Union

import pytest

import relay_lite
from relay_lite import (
    APIError,
    AuthenticationError,
    ChatResponse,
    Done,
    OverloadedError,
    Preset,
    RateLimitError,
    StreamError,
    TextDelta,
    Usage,
    UsageEvent,
    register_preset,
)
from relay_lite._models import ChatParams, StreamEvent
from relay_lite._sse import ServerSentEvent
from relay_lite.protocols import (
    ADAPTERS,
    Accumulator,
    Adapter,
    ErrorFacts,
    HTTPCall,
    build_api_error,
    read_error_body,
    register_adapter,
)
from relay_lite.testing import FakeServer, RecordedRequest, Reply, sse_event

TOY_CODES: Mapping[str, type[APIError]] = {"hot": OverloadedError, "slow": RateLimitError}


def toy_usage(cost: Any) -> Usage:
    cost = cost if isinstance(cost, dict) else {}
    return Usage(input_tokens=cost.get("in"), output_tokens=cost.get("out"))


class ToyStreamParser:
    """``bit`` events to text, the ``why`` event to usage, ``bye`` to the end."""

    def __init__(self, adapter: ToyAdapter) -> None:
        self.adapter = adapter
        self.acc = Accumulator()
        self.finished = False

    def partial(self) -> ChatResponse:
        return self.acc.response()

    def feed(self, event: ServerSentEvent) -> list[StreamEvent]:
        if event.event == "bye":
            self.finished = True
            return []
        data = json.loads(event.data)
        if "oops" in data:
            raise self.adapter.map_error(None, data)
        if "bit" in data:
            self.acc.text_parts.append(data["bit"])
            return [TextDelta(data["bit"])]
        self.acc.raw_finish_reason = data.get("why")
        self.acc.usage = toy_usage(data.get("cost"))
        return [UsageEvent(self.acc.usage)]


class ToyAdapter(Adapter):
    name = "toy"
    display_name = "Toy"
    request_id_header = "toy-trace"
    response_id_headers = ("toy-trace",)
    structured_default_mode = "json"
    supports_response_format = False

    def auth_headers(self, api_key: Optional[str]) -> dict[str, str]:
        return {"Toy-Key": api_key} if api_key else {}

    def chat_call(self, params: ChatParams, *, stream: bool) -> HTTPCall:
        lines = [{"who": m.role, "said": m.text} for m in params.messages]
        return HTTPCall("POST", "/toy/say", {"model": params.model, "lines": lines, "stream": stream})

    def parse_chat(
        self, payload: Any, *, request_id: Optional[str] = None, attempts: int = 1
    ) -> ChatResponse:
        return ChatResponse(
            text=payload["said"],
            finish_reason="stop" if payload.get("why") == "done" else payload.get("why"),
            raw_finish_reason=payload.get("why"),
            usage=toy_usage(payload.get("cost")),
            request_id=request_id,
            raw=payload,
            attempts=attempts,
        )

    def stream_parser(self) -> ToyStreamParser:  # type: ignore[override]
        return ToyStreamParser(self)

    def map_error(
        self,
        status: Optional[int],
        body: Any,
        headers: Optional[Mapping[str, str]] = None,
        *,
        attempts: int = 1,
    ) -> APIError:
        parsed, text = read_error_body(body)
        oops = parsed.get("oops") if isinstance(parsed, dict) else None
        if isinstance(oops, dict):
            facts = ErrorFacts(message=oops.get("what"), code=oops.get("kind"))
        else:
            facts = ErrorFacts(message=text)
        return build_api_error(
            status,
            parsed,
            facts,
            headers,
            request_id_headers=self.response_id_headers,
            code_classes=TOY_CODES,
            attempts=attempts,
        )


def toy_server(request: RecordedRequest) -> Reply:
    """The toy provider: echoes the last line back, in three bits when streaming."""
    if request.path != "/toy/say" or request.method != "POST":
        return Reply.json({"oops": {"what": f"no such path {request.path}", "kind": "lost"}}, status=404)
    if request.headers.get("toy-key") != "toy-secret-key":
        return Reply.json({"oops": {"what": "who are you?", "kind": "stranger"}}, status=401)
    body = request.json()
    said = body["lines"][-1]["said"]
    if said == "too fast":
        return Reply.json(
            {"oops": {"what": "slow down", "kind": "slow"}}, status=429, headers={"toy-trace": "t-9"}
        )
    if not body["stream"]:
        return Reply.json({"said": f"you said: {said}", "why": "done", "cost": {"in": 3, "out": 2}})
    # The toy's own framing: LF line ends, the final event without a trailing newline pair
    # would be a cut stream, so the server always ends with "event: bye".
    events: list[Union[bytes, str]] = [
        sse_event({"bit": "you "}),
        sse_event({"bit": "said: "}),
        sse_event({"bit": said}),
    ]
    if said == "fail midway":
        events.append(sse_event({"oops": {"what": "too hot", "kind": "hot"}}))
    else:
        events.append(sse_event({"why": "done", "cost": {"in": 4, "out": 3}}))
        events.append(b"event: bye\ndata: \n\n")
    return Reply.sse(events, headers={"toy-trace": "t-1"})


@pytest.fixture
def toy() -> Iterator[FakeServer]:
    from relay_lite._config import PRESETS

    register_adapter("toy", ToyAdapter)
    register_preset(Preset("toy", "toy", None, "TOY_API_KEY", "toy-1"))
    try:
        with FakeServer(toy_server) as server:
            yield server
    finally:
        ADAPTERS.pop("toy", None)
        PRESETS.pop("toy", None)


def toy_client(server: FakeServer, key: str = "toy-secret-key") -> relay_lite.Client:
    return relay_lite.Client(
        "toy", base_url=server.url, env={"TOY_API_KEY": key}, retry=relay_lite.RetryPolicy(max_retries=0)
    )


def test_a_registered_toy_provider_sends_and_parses_the_reply(toy: FakeServer) -> None:
    reply = toy_client(toy).chat().user("hello").send()
    assert reply.text == "you said: hello"
    assert reply.usage == Usage(input_tokens=3, output_tokens=2)
    assert reply.finish_reason == "stop"
    sent = toy.requests[0]
    assert sent.path == "/toy/say"
    assert sent.headers["toy-key"] == "toy-secret-key"
    assert sent.json() == {"model": "toy-1", "lines": [{"who": "user", "said": "hello"}], "stream": False}


def test_a_registered_toy_provider_streams_text_usage_and_done(toy: FakeServer) -> None:
    with toy_client(toy).chat().user("hello").stream() as stream:
        events = list(stream)
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["you ", "said: ", "hello"]
    assert [e.usage for e in events if isinstance(e, UsageEvent)] == [Usage(input_tokens=4, output_tokens=3)]
    assert isinstance(events[-1], Done)
    assert stream.response.text == "you said: hello"
    assert stream.response.usage == Usage(input_tokens=4, output_tokens=3)
    assert stream.response.request_id == "t-1"
    assert toy.requests[0].json()["stream"] is True


def test_the_toy_adapter_maps_its_error_bodies_and_request_id(toy: FakeServer) -> None:
    with pytest.raises(RateLimitError) as info:
        toy_client(toy).chat().user("too fast").send()
    assert info.value.status == 429
    assert info.value.code == "slow"
    assert info.value.request_id == "t-9"
    assert str(info.value) == "slow down (status 429, code slow, request id t-9, after 1 attempt)"


def test_a_wrong_toy_key_is_an_authentication_error_without_the_key(toy: FakeServer) -> None:
    with pytest.raises(AuthenticationError) as info:
        toy_client(toy, key="wrong-key-123").chat().user("hello").send()
    assert str(info.value) == "who are you? (status 401, code stranger, after 1 attempt)"
    assert "wrong-key-123" not in repr(info.value.__dict__)


def test_an_error_event_inside_a_toy_stream_is_mapped_and_keeps_the_partial(toy: FakeServer) -> None:
    with pytest.raises(OverloadedError) as info:
        for _ in toy_client(toy).chat().user("fail midway").stream():
            pass
    assert info.value.status is None
    assert info.value.code == "hot"
    assert info.value.request_id == "t-1"
    assert info.value.partial.text == "you said: fail midway"


def test_structured_output_follows_the_toy_adapters_facts(toy: FakeServer) -> None:
    request = toy_client(toy).chat().user("hello")
    assert request.structured(dict).mode == "json"
    with pytest.raises(relay_lite.ConfigError) as info:
        request.structured(dict, mode="json_schema")
    assert (
        str(info.value) == "mode='json_schema' needs response_format, which Toy lacks: use 'tool' or 'json'"
    )


def test_a_cut_toy_stream_raises_stream_error_with_the_text_so_far(toy: FakeServer) -> None:
    toy.add(Reply.sse([sse_event({"bit": "half"})], headers={"toy-trace": "t-2"}))
    with pytest.raises(StreamError) as info:
        list(toy_client(toy).chat().user("hello").stream())
    assert info.value.text == "half"


def test_a_fake_server_for_a_protocol_without_a_renderer_is_a_config_error(toy: FakeServer) -> None:
    with pytest.raises(relay_lite.ConfigError) as info:
        FakeServer(protocol="toy")
    assert str(info.value) == (
        "no fake protocol 'toy' (add a renderer to relay_lite._fake_chat.RENDERERS); "
        "known: ['anthropic', 'azure', 'bedrock', 'modelrelay', 'openai']"
    )
