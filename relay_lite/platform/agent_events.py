"""Agent-platform run events: typed, frozen values and the sans-I/O parser that makes them.

A run answers ``text/event-stream``. Each event's JSON carries ``channel`` and ``type``;
``parse_agent_event`` turns one ``ServerSentEvent`` into a typed event, with no I/O. The
llmrix SDK's languages disagree on field names, so both spellings are read: ``args`` or
``input``, ``result`` or ``output``, ``id`` or ``tool_call_id``, ``name`` or
``agent_name``, ``error_code`` or ``code``, ``reason`` or ``message``; a HITL interrupt may
be flat (``action_name``, ``action_args``, ``description``) or carry a list of
``action_requests``. Unknown channels or types become ``UnknownEvent`` so newer servers
do not break older clients.

``AgentRunParser`` is the run's parser for ``relay_lite._stream.StreamPump``: it absorbs
the events into the run's state (text, interrupts, run id, error or cancellation), says
when the run ended (``run_end``, ``error``, ``cancelled``) and whether a stream that
stopped without one is a paused run (its last event a HITL interrupt).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Union

from .._errors import StreamError
from .._sse import ServerSentEvent

__all__ = [
    "AgentEvent",
    "RunStart",
    "RunEnd",
    "MessageChunk",
    "ToolStart",
    "ToolEnd",
    "SubagentStart",
    "SubagentEnd",
    "HITLInterrupt",
    "RunError",
    "Cancelled",
    "Heartbeat",
    "UnknownEvent",
    "AgentRunParser",
    "RunSnapshot",
    "parse_agent_event",
]

# How much of a bad event's data an error message quotes.
SNIPPET_CHARS = 200


def raw_field() -> Any:
    """A ``raw`` JSON field: a dict per instance, left out of repr and equality."""
    return field(default_factory=dict, repr=False, compare=False)


# -- run events ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RunStart:
    """lifecycle/run_start: the agent turn began."""

    run_id: Optional[str] = None
    thread_id: Optional[str] = None
    raw: Mapping[str, Any] = raw_field()


@dataclass(frozen=True)
class RunEnd:
    """lifecycle/run_end: the agent turn completed normally."""

    run_id: Optional[str] = None
    thread_id: Optional[str] = None
    raw: Mapping[str, Any] = raw_field()


@dataclass(frozen=True)
class MessageChunk:
    """messages/message_chunk: a piece of the assistant's reply text."""

    content: str
    id: Optional[str] = None
    raw: Mapping[str, Any] = raw_field()


@dataclass(frozen=True)
class ToolStart:
    """tools/tool_start: a tool call began (``args`` from ``args`` or ``input``)."""

    name: str
    tool_id: Optional[str] = None
    args: Any = None
    parent_ids: tuple[str, ...] = ()
    raw: Mapping[str, Any] = raw_field()


@dataclass(frozen=True)
class ToolEnd:
    """tools/tool_end: a tool call finished (``result`` from ``result`` or ``output``)."""

    name: str
    tool_id: Optional[str] = None
    result: Any = None
    is_error: bool = False
    parent_ids: tuple[str, ...] = ()
    raw: Mapping[str, Any] = raw_field()


@dataclass(frozen=True)
class SubagentStart:
    """tools/subagent_start: a sub-agent was spawned (``name`` from ``name`` or ``agent_name``)."""

    name: str
    tool_id: Optional[str] = None
    args: Any = None
    parent_ids: tuple[str, ...] = ()
    raw: Mapping[str, Any] = raw_field()


@dataclass(frozen=True)
class SubagentEnd:
    """tools/subagent_end: a sub-agent finished."""

    name: str
    tool_id: Optional[str] = None
    result: Any = None
    is_error: bool = False
    parent_ids: tuple[str, ...] = ()
    raw: Mapping[str, Any] = raw_field()


@dataclass(frozen=True)
class HITLInterrupt:
    """hitl/hitl_interrupt: the run waits for a human decision on an action.

    ``action_requests`` lists every pending action (name, args, description); the flat
    fields describe the first one.
    """

    action_name: str
    action_args: Any = None
    description: Optional[str] = None
    interrupt_id: Optional[str] = None
    action_requests: tuple[Mapping[str, Any], ...] = ()
    raw: Mapping[str, Any] = raw_field()


@dataclass(frozen=True)
class RunError:
    """error/error: the run failed on the server (yielded, not raised)."""

    message: str
    code: Optional[str] = None
    raw: Mapping[str, Any] = raw_field()


@dataclass(frozen=True)
class Cancelled:
    """error/cancelled: the run was stopped."""

    reason: Optional[str] = None
    raw: Mapping[str, Any] = raw_field()


@dataclass(frozen=True)
class Heartbeat:
    """A keep-alive (heartbeat channel or ``data: :ping``); hidden unless asked for."""

    raw: Mapping[str, Any] = raw_field()


@dataclass(frozen=True)
class UnknownEvent:
    """An event this version does not know; ``data`` is its JSON object."""

    channel: str
    type: str
    data: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = raw_field()


AgentEvent = Union[
    RunStart,
    RunEnd,
    MessageChunk,
    ToolStart,
    ToolEnd,
    SubagentStart,
    SubagentEnd,
    HITLInterrupt,
    RunError,
    Cancelled,
    Heartbeat,
    UnknownEvent,
]

# type -> channel, to recover a missing channel from a known type.
_CHANNEL_OF = {
    "run_start": "lifecycle",
    "run_end": "lifecycle",
    "message_chunk": "messages",
    "tool_start": "tools",
    "tool_end": "tools",
    "subagent_start": "tools",
    "subagent_end": "tools",
    "hitl_interrupt": "hitl",
    "error": "error",
    "cancelled": "error",
}


_CHANNELS = frozenset(_CHANNEL_OF.values()) | {"heartbeat"}


def parse_agent_event(sse: ServerSentEvent) -> Optional[AgentEvent]:
    """Turn one server-sent event of an agent run into a typed event (no I/O).

    Returns None for an event with no data. Data that is not a JSON object raises
    ``StreamError``. The channel falls back to the SSE event name, then to the one a
    known ``type`` implies.
    """
    data = sse.data
    if not data.strip():
        return None
    if data.strip() in (":ping", '":ping"') or sse.event == "heartbeat":
        return Heartbeat()
    try:
        payload = json.loads(data)
    except ValueError:
        raise StreamError(f"agent event is not valid JSON: {data[:SNIPPET_CHARS]!r}") from None
    except RecursionError:  # json.loads recurses once per nesting level
        raise StreamError(f"agent event is nested too deeply to read: {data[:SNIPPET_CHARS]!r}") from None
    if not isinstance(payload, dict):
        raise StreamError(f"agent event is not a JSON object: {data[:SNIPPET_CHARS]!r}")

    kind = as_str(payload.get("type")) or ""
    channel = as_str(payload.get("channel")) or ""
    if not channel and sse.event != "message":
        channel = sse.event
    if not kind and channel in _CHANNEL_OF:  # "event: run_start" with a bare payload
        kind = channel
        channel = _CHANNEL_OF[kind]
    if channel not in _CHANNELS and kind in _CHANNEL_OF:
        # "event: run_start" with {"type": "run_start"}: the event name was the type
        channel = _CHANNEL_OF[kind]
    return _build(channel, kind, payload)


def _build(channel: str, kind: str, p: dict[str, Any]) -> AgentEvent:
    if channel == "heartbeat":
        return Heartbeat(raw=p)
    key = (channel, kind)
    if key == ("lifecycle", "run_start"):
        return RunStart(as_str(p.get("run_id")), as_str(p.get("thread_id")), raw=p)
    if key == ("lifecycle", "run_end"):
        return RunEnd(as_str(p.get("run_id")), as_str(p.get("thread_id")), raw=p)
    if key == ("messages", "message_chunk"):
        return MessageChunk(as_str(p.get("content")) or "", as_str(p.get("id")), raw=p)
    if key == ("tools", "tool_start"):
        return ToolStart(_name(p), _tool_id(p), _either(p, "args", "input"), _parents(p), raw=p)
    if key == ("tools", "tool_end"):
        return ToolEnd(
            _name(p), _tool_id(p), _either(p, "result", "output"), _is_error(p), _parents(p), raw=p
        )
    if key == ("tools", "subagent_start"):
        return SubagentStart(_name(p), _tool_id(p), _either(p, "args", "input"), _parents(p), raw=p)
    if key == ("tools", "subagent_end"):
        return SubagentEnd(
            _name(p), _tool_id(p), _either(p, "result", "output"), _is_error(p), _parents(p), raw=p
        )
    if key == ("hitl", "hitl_interrupt"):
        return _interrupt(p)
    if key == ("error", "error"):
        error = p.get("error")
        message = as_str(p.get("message")) or (error if isinstance(error, str) else None)
        if message is None and isinstance(error, Mapping):
            message = as_str(error.get("message"))
        code = as_str(_either(p, "error_code", "code"))
        return RunError(message or "agent run failed", code, raw=p)
    if key == ("error", "cancelled"):
        return Cancelled(as_str(_either(p, "reason", "message")), raw=p)
    return UnknownEvent(channel, kind, p, raw=p)


def _interrupt(p: dict[str, Any]) -> HITLInterrupt:
    requests = p.get("action_requests")
    listed = tuple(r for r in requests if isinstance(r, Mapping)) if isinstance(requests, list) else ()
    if "action_name" in p or not listed:
        name = as_str(p.get("action_name")) or ""
        args = _either(p, "action_args", "args")
        description = as_str(p.get("description"))
        if not listed:
            listed = ({"name": name, "args": args, "description": description},)
    else:
        first = listed[0]
        name = as_str(first.get("name", first.get("action_name"))) or ""
        args = _either(first, "args", "action_args")
        description = as_str(first.get("description"))
    return HITLInterrupt(name, args, description, as_str(_either(p, "id", "interrupt_id")), listed, raw=p)


def _either(p: Mapping[str, Any], first: str, second: str) -> Any:
    value = p.get(first)
    return p.get(second) if value is None else value


def _name(p: Mapping[str, Any]) -> str:
    return as_str(_either(p, "name", "agent_name")) or as_str(p.get("tool_name")) or ""


def _tool_id(p: Mapping[str, Any]) -> Optional[str]:
    return as_str(_either(p, "id", "tool_call_id")) or as_str(p.get("tool_id"))


def _parents(p: Mapping[str, Any]) -> tuple[str, ...]:
    value = p.get("parent_ids")
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _is_error(p: Mapping[str, Any]) -> bool:
    value = _either(p, "error", "is_error")
    return value is True or (isinstance(value, str) and bool(value))


def as_str(value: Any) -> Optional[str]:
    """``value`` as a string, None staying None."""
    return None if value is None else value if isinstance(value, str) else str(value)


# -- the run's stream parser ---------------------------------------------------------------


@dataclass(frozen=True)
class RunSnapshot:
    """What a run delivered so far; the ``partial`` of errors raised while streaming."""

    text: str
    interrupts: tuple[HITLInterrupt, ...] = ()
    run_id: Optional[str] = None


class AgentRunParser:
    """Parses a run's server-sent events and keeps the run's state; sans-I/O.

    ``feed`` returns the typed event (heartbeats included; the run hides them) or nothing
    for an event with no data. ``finished`` is True after ``run_end``, ``error`` or
    ``cancelled``; ``may_pause`` decides whether a stream that ended without one is a
    paused run.
    """

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.interrupts: list[HITLInterrupt] = []
        self.error: Optional[RunError] = None
        self.cancelled: Optional[Cancelled] = None
        self.run_id: Optional[str] = None
        self.finished = False
        self.paused = False
        self._last: Optional[AgentEvent] = None  # the last event that was not a heartbeat

    @property
    def text(self) -> str:
        """The reply text received so far."""
        return "".join(self.chunks)

    def partial(self) -> RunSnapshot:
        """What has arrived so far, as an immutable value."""
        return RunSnapshot(self.text, tuple(self.interrupts), self.run_id)

    def feed(self, sse: ServerSentEvent) -> list[AgentEvent]:
        """Parse and absorb one event."""
        event = parse_agent_event(sse)
        if event is None:
            return []
        if isinstance(event, MessageChunk):
            self.chunks.append(event.content)
        elif isinstance(event, HITLInterrupt):
            self.interrupts.append(event)
        elif isinstance(event, RunStart):
            self.run_id = event.run_id or self.run_id
        elif isinstance(event, RunEnd):
            self.run_id = self.run_id or event.run_id
            self.finished = True
        elif isinstance(event, RunError):
            self.error = event
            self.finished = True
        elif isinstance(event, Cancelled):
            self.cancelled = event
            self.finished = True
        if not isinstance(event, Heartbeat):
            self._last = event
        return [event]

    def may_pause(self, cut: bool) -> bool:
        """At EOF without an end event: a run whose last event is an interrupt, read whole,
        is paused (resume it with decisions); anything else is broken."""
        self.paused = isinstance(self._last, HITLInterrupt) and not cut
        return self.paused
