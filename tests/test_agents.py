"""Agent platform client: sans-I/O event parsing, and conversations/runs over real sockets."""

from __future__ import annotations

import json
from typing import Any, Optional
from urllib.parse import parse_qsl, urlsplit

import pytest

from relay_lite import APIError, ConfigError, NotFoundError, RetryPolicy, StreamError
from relay_lite._sse import ServerSentEvent
from relay_lite.platform.agents import (
    AgentClient,
    Cancelled,
    Conversation,
    ConversationMessage,
    Heartbeat,
    HITLDecision,
    HITLInterrupt,
    MessageChunk,
    Page,
    RunEnd,
    RunError,
    RunSnapshot,
    RunStart,
    SubagentEnd,
    SubagentStart,
    ToolEnd,
    ToolStart,
    UnknownEvent,
    parse_agent_event,
)
from relay_lite.testing import FakeServer, RecordedRequest, Reply, sse_event

PREFIX = "/api/open/v1"
NO_RETRY = RetryPolicy(max_retries=0)


def ev(data: Any, event: str = "message") -> ServerSentEvent:
    return ServerSentEvent(event=event, data=data if isinstance(data, str) else json.dumps(data))


# -- parse_agent_event: sans-I/O --------------------------------------------------------------


def test_lifecycle_events() -> None:
    start = parse_agent_event(
        ev({"channel": "lifecycle", "type": "run_start", "run_id": "r1", "thread_id": "t"})
    )
    assert start == RunStart("r1", "t")
    assert start.raw == {"channel": "lifecycle", "type": "run_start", "run_id": "r1", "thread_id": "t"}
    assert parse_agent_event(ev({"channel": "lifecycle", "type": "run_end", "thread_id": "t"})) == RunEnd(
        None, "t"
    )


def test_message_chunk() -> None:
    event = parse_agent_event(
        ev({"channel": "messages", "type": "message_chunk", "content": "Grüß", "id": "m"})
    )
    assert event == MessageChunk("Grüß", "m")


def test_tool_events_go_field_names() -> None:
    start = {"channel": "tools", "type": "tool_start", "id": "c1", "name": "search", "args": {"q": "cats"}}
    end = {
        "channel": "tools",
        "type": "tool_end",
        "id": "c1",
        "name": "search",
        "result": "3 cats",
        "error": True,
    }
    assert parse_agent_event(ev(start)) == ToolStart("search", "c1", {"q": "cats"})
    assert parse_agent_event(ev(end)) == ToolEnd("search", "c1", "3 cats", is_error=True)


def test_tool_events_js_field_names() -> None:
    start = {
        "channel": "tools",
        "type": "tool_start",
        "tool_call_id": "c2",
        "name": "search",
        "input": {"q": "dogs"},
        "parent_ids": ["p1"],
    }
    end = {"channel": "tools", "type": "tool_end", "tool_call_id": "c2", "name": "search", "output": [1, 2]}
    assert parse_agent_event(ev(start)) == ToolStart("search", "c2", {"q": "dogs"}, ("p1",))
    assert parse_agent_event(ev(end)) == ToolEnd("search", "c2", [1, 2], is_error=False)


def test_subagent_events_both_spellings() -> None:
    go_start = {"channel": "tools", "type": "subagent_start", "id": "s1", "agent_name": "researcher"}
    js_start = {
        "channel": "tools",
        "type": "subagent_start",
        "tool_call_id": "s2",
        "name": "coder",
        "input": "x",
    }
    go_end = {
        "channel": "tools",
        "type": "subagent_end",
        "id": "s1",
        "agent_name": "researcher",
        "error": False,
    }
    js_end = {
        "channel": "tools",
        "type": "subagent_end",
        "tool_call_id": "s2",
        "name": "coder",
        "output": "ok",
    }
    assert parse_agent_event(ev(go_start)) == SubagentStart("researcher", "s1")
    assert parse_agent_event(ev(js_start)) == SubagentStart("coder", "s2", "x")
    assert parse_agent_event(ev(go_end)) == SubagentEnd("researcher", "s1", None, False)
    assert parse_agent_event(ev(js_end)) == SubagentEnd("coder", "s2", "ok")


def test_hitl_interrupt_flat_and_action_requests() -> None:
    flat = {
        "channel": "hitl",
        "type": "hitl_interrupt",
        "id": "i1",
        "action_name": "delete_file",
        "action_args": {"path": "/tmp/x"},
        "description": "Delete it?",
    }
    event = parse_agent_event(ev(flat))
    assert isinstance(event, HITLInterrupt)
    assert (event.action_name, event.action_args, event.description, event.interrupt_id) == (
        "delete_file",
        {"path": "/tmp/x"},
        "Delete it?",
        "i1",
    )
    assert event.action_requests == (
        {"name": "delete_file", "args": {"path": "/tmp/x"}, "description": "Delete it?"},
    )

    request = {"name": "send_mail", "args": {"to": "a@b"}, "description": "Send?", "decisions": ["approve"]}
    listed = parse_agent_event(
        ev({"channel": "hitl", "type": "hitl_interrupt", "action_requests": [request]})
    )
    assert listed == HITLInterrupt("send_mail", {"to": "a@b"}, "Send?", None, (request,))


def test_error_and_cancelled() -> None:
    assert parse_agent_event(
        ev({"channel": "error", "type": "error", "message": "boom", "error_code": "E42"})
    ) == RunError("boom", "E42")
    assert parse_agent_event(
        ev({"channel": "error", "type": "error", "message": "x", "code": 7})
    ) == RunError("x", "7")
    assert parse_agent_event(ev({"channel": "error", "type": "cancelled", "reason": "user"})) == Cancelled(
        "user"
    )
    assert parse_agent_event(
        ev({"channel": "error", "type": "cancelled", "message": "stopped"})
    ) == Cancelled("stopped")


def test_heartbeats() -> None:
    assert parse_agent_event(ev(":ping")) == Heartbeat()
    assert parse_agent_event(ev({"channel": "heartbeat", "type": ""})) == Heartbeat()
    assert parse_agent_event(ev("{}", event="heartbeat")) == Heartbeat()


def test_channel_falls_back_to_event_name() -> None:
    assert parse_agent_event(ev({"type": "message_chunk", "content": "a"}, event="messages")) == MessageChunk(
        "a"
    )
    assert parse_agent_event(ev({"type": "run_end"}, event="lifecycle")) == RunEnd()
    # no channel anywhere: a known type implies it; an event named like a type works too
    assert parse_agent_event(ev({"type": "tool_start", "name": "t", "args": {}})) == ToolStart("t", None, {})
    assert parse_agent_event(ev({"content": "b"}, event="message_chunk")) == MessageChunk("b")


def test_unknown_event_is_kept() -> None:
    payload = {"channel": "rubric", "type": "rubric_evaluation_end", "result": "pass"}
    assert parse_agent_event(ev(payload)) == UnknownEvent("rubric", "rubric_evaluation_end", payload)


def test_empty_and_malformed_data() -> None:
    assert parse_agent_event(ev("")) is None
    with pytest.raises(StreamError, match="not valid JSON"):
        parse_agent_event(ev("{oops"))
    with pytest.raises(StreamError, match="not a JSON object"):
        parse_agent_event(ev("[1]"))


# -- configuration ----------------------------------------------------------------------------


def test_config_errors_and_env() -> None:
    with pytest.raises(ConfigError, match="base_url"):
        AgentClient("agents.example.com", env={})
    with pytest.raises(ConfigError, match="base_url"):
        AgentClient("ftp://agents.example.com", env={})
    client = AgentClient(
        "https://a.example.com/", env={"RELAY_LITE_MAX_RETRIES": "0", "RELAY_LITE_TIMEOUT": "9"}
    )
    assert client.base_url == "https://a.example.com/api/open/v1"
    assert client.transport.retry.max_retries == 0 and client.transport.timeouts.total == 9.0
    assert (
        AgentClient("https://a.example.com/api/open/v1", env={}).base_url
        == "https://a.example.com/api/open/v1"
    )
    assert "sk-secret" not in repr(AgentClient("https://a.example.com", "sk-secret", env={}))
    with pytest.raises(ConfigError, match="RELAY_LITE_READ_TIMEOUT"):
        AgentClient("https://a.example.com", env={"RELAY_LITE_READ_TIMEOUT": "soon"})


def test_hitl_decision_validation() -> None:
    assert HITLDecision("approve").to_json() == {"decision": "approve"}
    assert HITLDecision("modify", "typo", {"a": 1}).to_json() == {
        "decision": "modify",
        "reason": "typo",
        "modified_args": {"a": 1},
    }
    with pytest.raises(ConfigError, match="approve, reject, modify"):
        HITLDecision("maybe")
    client = AgentClient("https://a.example.com", env={})
    with pytest.raises(ConfigError, match="at least one"):
        client.chat("c1").decide([])
    with pytest.raises(ConfigError):
        client.chat("c1").decide([{"decision": "approve", "extra": 1}])
    with pytest.raises(ConfigError):
        client.chat("")


# -- a fake agent platform --------------------------------------------------------------------


class Platform:
    """A tiny in-memory agent platform answering over FakeServer."""

    def __init__(self, run_reply: Optional[Reply] = None) -> None:
        self.conversations: list[dict[str, Any]] = [
            {"id": f"c{n}", "title": f"Chat {n}", "seq": n * 10, "agent_id": None, "created_at": "2026-01-01"}
            for n in (3, 2, 1)
        ]
        self.run_reply = run_reply

    def __call__(self, request: RecordedRequest) -> Reply:
        parts = urlsplit(request.path)
        query = dict(parse_qsl(parts.query))
        path = parts.path
        assert path.startswith(PREFIX), path
        path = path[len(PREFIX) :]
        method = request.method
        if path == "/conversations" and method == "POST":
            conv = {"id": "new", "seq": 40, "created_at": "2026-02-02", **request.json()}
            return Reply.json(conv)
        if path == "/conversations" and method == "GET":
            last, size = int(query["lastId"]), int(query["size"])
            rest = [c for c in self.conversations if last == 0 or int(c["seq"]) < last]
            return Reply.json({"items": rest[:size], "has_more": len(rest) > size})
        if path == "/conversations/c2" and method == "GET":
            return Reply.json({"code": 0, "data": self.conversations[1], "message": "ok"})
        if path == "/conversations/c2" and method == "PATCH":
            return Reply.json({**self.conversations[1], **request.json()})
        if path == "/conversations/c2" and method == "DELETE":
            return Reply(status=204)
        if path == "/conversations/c2/messages" and method == "GET":
            items = [
                {"seq": 1, "id": "m1", "role": "user", "content": "Hi"},
                {
                    "seq": 2,
                    "id": "m2",
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": "t", "name": "x"}],
                },
            ]
            return Reply.json({"items": items, "has_more": True})
        if path == "/conversations/c2/chat" and self.run_reply is not None:
            return self.run_reply
        if path in ("/conversations/c2/chat/stop", "/conversations/c2/chat/hitl/decide"):
            return Reply.json({"ok": True})
        return Reply.json({"message": f"no route {method} {path}"}, status=404)


def make_client(server: FakeServer, api_key: Optional[str] = None) -> AgentClient:
    return AgentClient(server.url, api_key, retry=NO_RETRY, env={})


def test_conversations_crud_and_paging() -> None:
    with FakeServer(handler=Platform()) as server:
        client = make_client(server, "sk-test")
        conv = client.conversations.create("My Chat", agent_id="a1")
        assert conv == Conversation("new", "My Chat", 40, "a1", "2026-02-02")
        assert conv.raw["title"] == "My Chat"

        first = client.conversations.list(size=2)
        assert [c.id for c in first.items] == ["c3", "c2"]
        assert (first.has_more, first.next_cursor) == (True, 20)
        second = client.conversations.list(size=2, last_id=first.next_cursor or 0)
        assert [c.id for c in second.items] == ["c1"]
        assert (second.has_more, second.next_cursor) == (False, None)
        assert [c.id for c in client.conversations.iterate_all(size=2)] == ["c3", "c2", "c1"]

        got = client.conversations.get("c2")
        assert (got.id, got.title, got.seq) == ("c2", "Chat 2", 20)  # {"code":0,"data":...} unwrapped
        assert client.conversations.update("c2", title="Renamed").title == "Renamed"
        assert client.conversations.delete("c2") is None
        page = client.conversations.messages("c2", size=5, last_id=0)
        assert page == Page(
            (
                ConversationMessage("m1", "user", "Hi", 1),
                ConversationMessage("m2", "assistant", None, 2, ({"id": "t", "name": "x"},)),
            ),
            True,
            2,
        )

    seen = [(r.method, r.path) for r in server.requests]
    assert seen == [
        ("POST", f"{PREFIX}/conversations"),
        ("GET", f"{PREFIX}/conversations?lastId=0&size=2"),
        ("GET", f"{PREFIX}/conversations?lastId=20&size=2"),
        ("GET", f"{PREFIX}/conversations?lastId=0&size=2"),
        ("GET", f"{PREFIX}/conversations?lastId=20&size=2"),
        ("GET", f"{PREFIX}/conversations/c2"),
        ("PATCH", f"{PREFIX}/conversations/c2"),
        ("DELETE", f"{PREFIX}/conversations/c2"),
        ("GET", f"{PREFIX}/conversations/c2/messages?lastId=0&size=5"),
    ]
    assert server.requests[0].body == b'{"title":"My Chat","agent_id":"a1"}'
    assert server.requests[6].body == b'{"title":"Renamed"}'
    assert server.requests[1].body == b""
    assert all(r.headers["authorization"] == "Bearer sk-test" for r in server.requests)
    assert all(r.headers["accept"] == "application/json" for r in server.requests)


def test_no_authorization_header_without_key() -> None:
    with FakeServer(handler=Platform()) as server:
        make_client(server).conversations.list()
        make_client(server, "").conversations.list()
    assert server.requests[0].path == f"{PREFIX}/conversations?lastId=0&size=20"
    assert all("authorization" not in r.headers for r in server.requests)


def test_api_errors() -> None:
    with FakeServer(handler=Platform()) as server:
        client = make_client(server)
        with pytest.raises(NotFoundError, match="no route GET /conversations/zz"):
            client.conversations.get("zz")
        server.add(Reply.json({"code": 4001, "data": None, "message": "bad title"}))
        with pytest.raises(APIError, match="bad title"):
            client.conversations.create("x")
        with pytest.raises(NotFoundError):
            client.chat("zz").send("hi")


# -- runs -------------------------------------------------------------------------------------


def frame(channel: str, kind: str, **fields: Any) -> bytes:
    return sse_event({"channel": channel, "type": kind, **fields})


RUN_EVENTS = [
    frame("lifecycle", "run_start", run_id="r1", thread_id="c2"),
    frame("messages", "message_chunk", content="Hé"),
    sse_event(":ping"),
    frame("messages", "message_chunk", content="llo 世界"),
    frame("tools", "tool_start", id="t1", name="search", args={"q": "gatos"}),
    b": comment\n\n",
    sse_event({"channel": "heartbeat", "type": ""}),
    frame("tools", "tool_end", tool_call_id="t1", name="search", output="3 résultats"),
    frame("hitl", "hitl_interrupt", action_name="buy", action_args={"n": 1}, description="Buy?"),
    sse_event({"type": "message_chunk", "content": "!"}, event="messages"),
    frame("lifecycle", "run_end", run_id="r1"),
]

EXPECTED = [
    RunStart("r1", "c2"),
    MessageChunk("Hé"),
    MessageChunk("llo 世界"),
    ToolStart("search", "t1", {"q": "gatos"}),
    ToolEnd("search", "t1", "3 résultats"),
    HITLInterrupt("buy", {"n": 1}, "Buy?", None, ({"name": "buy", "args": {"n": 1}, "description": "Buy?"},)),
    MessageChunk("!"),
    RunEnd("r1"),
]


def split_mid_characters(blob: bytes) -> list[bytes]:
    """Cut the stream inside 'é' and inside '世' (and so inside their events)."""
    cuts = [blob.index("é".encode()) + 1, blob.index("世".encode()) + 2]
    assert all(blob[c] & 0xC0 == 0x80 for c in cuts)  # continuation bytes: mid-character
    return [blob[: cuts[0]], blob[cuts[0] : cuts[1]], blob[cuts[1] :]]


def test_run_streams_typed_events() -> None:
    reply = Reply.sse(split_mid_characters(b"".join(RUN_EVENTS)), headers={"x-request-id": "req-9"})
    with FakeServer(handler=Platform(reply)) as server:
        client = make_client(server, "sk-test")
        with client.chat("c2").send(
            "Search for cats",
            agent_id="a1",
            metadata={"k": "v"},
            hitl_decisions=[HITLDecision("approve"), {"decision": "reject", "reason": "no"}],
        ) as run:
            events = list(run)
        assert events == EXPECTED
        assert run.text == "Héllo 世界!"
        assert run.interrupts == [EXPECTED[5]]
        assert (run.finished, run.paused, run.error, run.run_id, run.request_id) == (
            True,
            False,
            None,
            "r1",
            "req-9",
        )
        assert events[4].raw["output"] == "3 résultats"

    request = server.requests[0]
    assert (request.method, request.path) == ("POST", f"{PREFIX}/conversations/c2/chat")
    assert request.body == (
        b'{"message":"Search for cats","agent_id":"a1","metadata":{"k":"v"},'
        b'"hitl_decisions":[{"decision":"approve"},{"decision":"reject","reason":"no"}]}'
    )
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["authorization"] == "Bearer sk-test"


def test_run_can_include_heartbeats() -> None:
    with FakeServer(handler=Platform(Reply.sse(RUN_EVENTS))) as server:
        events = list(make_client(server).chat("c2").send("hi", include_heartbeats=True))
    assert events.count(Heartbeat()) == 2
    assert [e for e in events if not isinstance(e, Heartbeat)] == EXPECTED
    assert server.requests[0].body == b'{"message":"hi"}'
    assert "authorization" not in server.requests[0].headers


def test_error_event_is_yielded_not_raised() -> None:
    events = [
        frame("messages", "message_chunk", content="partial"),
        frame("error", "error", message="tool crashed", error_code="TOOL"),
        frame("messages", "message_chunk", content="never seen"),
    ]
    with FakeServer(handler=Platform(Reply.sse(events))) as server:
        run = make_client(server).chat("c2").send("hi")
        assert list(run) == [MessageChunk("partial"), RunError("tool crashed", "TOOL")]
    assert run.error == RunError("tool crashed", "TOOL")
    assert (run.finished, run.text) == (True, "partial")


def test_cancelled_ends_the_run() -> None:
    events = [frame("lifecycle", "run_start"), frame("error", "cancelled", reason="stopped by user")]
    with FakeServer(handler=Platform(Reply.sse(events))) as server:
        run = make_client(server).chat("c2").send("hi")
        assert list(run) == [RunStart(), Cancelled("stopped by user")]
    assert run.cancelled == Cancelled("stopped by user") and run.finished


def test_stream_cut_mid_run_raises_with_partial_text() -> None:
    events = [
        frame("lifecycle", "run_start", run_id="r7"),
        frame("messages", "message_chunk", content="Hel"),
        frame("messages", "message_chunk", content="lo wö"),
        b'data: {"channel": "messages", "type": "message_chunk", "content": "rld"',  # cut mid-event
    ]
    with FakeServer(handler=Platform(Reply.sse(events, abort=True))) as server:
        run = make_client(server).chat("c2").send("hi")
        seen: list[Any] = []
        with pytest.raises(StreamError) as info:
            for event in run:
                seen.append(event)
    assert seen == [RunStart("r7"), MessageChunk("Hel"), MessageChunk("lo wö")]
    assert info.value.partial == RunSnapshot("Hello wö", (), "r7")
    assert info.value.text == "Hello wö"


def test_clean_eof_without_run_end_raises() -> None:
    events = [frame("messages", "message_chunk", content="only this")]
    with FakeServer(handler=Platform(Reply.sse(events))) as server:
        run = make_client(server).chat("c2").send("hi")
        with pytest.raises(StreamError, match="before run_end") as info:
            list(run)
    assert info.value.partial.text == "only this"


def test_eof_after_interrupt_is_a_pause() -> None:
    interrupt = frame("hitl", "hitl_interrupt", action_name="buy", action_args={}, description="ok?")
    with FakeServer(handler=Platform(Reply.sse([frame("lifecycle", "run_start"), interrupt]))) as server:
        run = make_client(server).chat("c2").send("hi")
        events = list(run)
    assert isinstance(events[-1], HITLInterrupt)
    assert (run.paused, run.finished, len(run.interrupts)) == (True, False, 1)


def test_closing_a_run_early_releases_it() -> None:
    events = [frame("messages", "message_chunk", content=str(n)) for n in range(5)] + [
        frame("lifecycle", "run_end")
    ]
    with FakeServer(handler=Platform(Reply.sse(events, chunk_delay=0.01))) as server:
        client = make_client(server)
        with client.chat("c2").send("hi") as run:
            for event in run:
                assert event == MessageChunk("0")
                break
        assert run.text == "0"
        assert run._http.closed
        assert list(run) == []  # closed: nothing more
        pool = client.transport._direct.connection_from_url(server.url)
        assert pool.pool.qsize() == pool.pool.maxsize


def test_stop_and_decide_bodies() -> None:
    with FakeServer(handler=Platform()) as server:
        chat = make_client(server, "sk-test").chat("c2")
        assert chat.stop() is None
        chat.decide(
            [
                HITLDecision("approve"),
                HITLDecision("reject", reason="too expensive"),
                {"decision": "modify", "modified_args": {"n": 2}},
            ]
        )
    stop, decide = server.requests
    assert (stop.method, stop.path, stop.body) == ("POST", f"{PREFIX}/conversations/c2/chat/stop", b"{}")
    assert (decide.method, decide.path) == ("POST", f"{PREFIX}/conversations/c2/chat/hitl/decide")
    assert decide.body == (
        b'{"decisions":[{"decision":"approve"},{"decision":"reject","reason":"too expensive"},'
        b'{"decision":"modify","modified_args":{"n":2}}]}'
    )
    assert stop.headers["authorization"] == decide.headers["authorization"] == "Bearer sk-test"


def test_event_named_by_its_type_without_a_channel_is_typed() -> None:
    from relay_lite.platform.agents import RunStart

    event = parse_agent_event(
        ServerSentEvent(event="run_start", data='{"type": "run_start", "run_id": "r1"}')
    )
    assert event == RunStart("r1")


def test_ping_sent_as_a_json_string_is_a_heartbeat() -> None:
    assert isinstance(parse_agent_event(ServerSentEvent(data='":ping"')), Heartbeat)


def test_dot_ids_cannot_escape_their_path() -> None:
    from relay_lite.platform.agents import _conversation_path

    for bad in (".", ".."):
        with pytest.raises(ConfigError):
            _conversation_path(bad)
