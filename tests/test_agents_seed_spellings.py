"""The agent platform's seed-SDK spellings: positional ``(last_id, size)`` paging and the
``HITLDecision.approve()`` / ``reject(reason)`` constructors."""

from __future__ import annotations

from relay_lite import AgentClient, HITLDecision
from relay_lite.testing import MockTransport, Reply


def test_hitl_decision_constructors_build_the_wire_form():
    assert HITLDecision.approve().to_json() == {"decision": "approve"}
    assert HITLDecision.reject("too costly").to_json() == {"decision": "reject", "reason": "too costly"}
    assert HITLDecision.reject().to_json() == {"decision": "reject"}
    assert HITLDecision.modify({"city": "Paris"}, "typo").to_json() == {
        "decision": "modify",
        "reason": "typo",
        "modified_args": {"city": "Paris"},
    }


def test_list_and_messages_take_last_id_then_size_positionally():
    transport = MockTransport()
    # The platform's page shape: items plus has_more.
    transport.add(Reply.json({"items": [], "has_more": False}), Reply.json({"items": [], "has_more": False}))
    agents = AgentClient("http://agents.invalid", transport=transport)
    agents.conversations.list(40, 5)
    agents.conversations.messages("c1", 7, 3)
    assert [r.path for r in transport.requests] == [
        "/api/open/v1/conversations?lastId=40&size=5",
        "/api/open/v1/conversations/c1/messages?lastId=7&size=3",
    ]
