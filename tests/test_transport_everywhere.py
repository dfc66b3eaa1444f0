"""``transport=`` reaches every API family: MockTransport answers compat.Provider (chat,
stream, embeddings) and AgentClient (conversations, runs) without a socket."""

from __future__ import annotations

import relay_lite
from relay_lite.testing import MockTransport, Reply


def test_provider_generates_and_streams_through_a_mock_transport():
    transport = MockTransport(protocol="openai")
    with relay_lite.Provider("some/model", api_key="sk-test", transport=transport) as provider:
        assert provider.generate_text("hi") == "Echo: hi"
        assert "".join(provider.stream_text("count")) == "Echo: count"
    assert [r.path for r in transport.requests] == ["/api/v1/chat/completions"] * 2
    assert transport.requests[0].headers["authorization"] == "Bearer sk-test"


def test_provider_presets_take_a_transport():
    transport = MockTransport(protocol="anthropic")
    provider = relay_lite.Provider.anthropic("claude-x", api_key="k", transport=transport)
    assert provider.generate_text("hi") == "Echo: hi"
    assert transport.requests[0].path == "/v1/messages"


def test_provider_embeddings_through_a_mock_transport():
    # OpenAI's embeddings reply, as api.openai.com sends it.
    transport = MockTransport()
    transport.add(
        Reply.json(
            {
                "object": "list",
                "data": [{"object": "embedding", "index": 0, "embedding": [0.5, -0.25]}],
                "model": "text-embedding-3-small",
                "usage": {"prompt_tokens": 2, "total_tokens": 2},
            }
        )
    )
    provider = relay_lite.Provider.openai("text-embedding-3-small", api_key="sk-test", transport=transport)
    result = provider.embed("hello")
    assert result.embeddings == [[0.5, -0.25]]
    assert transport.requests[0].path == "/v1/embeddings"


def test_agent_client_conversations_and_runs_through_a_mock_transport():
    transport = MockTransport()
    transport.add(
        Reply.json({"id": "conv-1", "title": "Chat", "seq": 7, "created_at": "2026-02-02"}),
        # An agent-platform run as its server streams it (SSE, channel + type in the JSON).
        Reply.sse(
            [
                b'data: {"channel":"lifecycle","type":"run_start","run_id":"r1"}\n\n',
                b'data: {"channel":"messages","type":"message_chunk","content":"Hi"}\n\n',
                b'data: {"channel":"lifecycle","type":"run_end","run_id":"r1"}\n\n',
            ]
        ),
    )
    agents = relay_lite.AgentClient("http://agents.invalid", api_key="k", transport=transport)
    conversation = agents.conversations.create(title="Chat")
    events = list(agents.chat(conversation.id).send("hello"))
    assert conversation.id == "conv-1"
    assert [type(e).__name__ for e in events] == ["RunStart", "MessageChunk", "RunEnd"]
    assert [r.path for r in transport.requests] == [
        "/api/open/v1/conversations",
        "/api/open/v1/conversations/conv-1/chat",
    ]
