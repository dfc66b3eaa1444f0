"""Agent platform client (the llmrix SDK 1.0 wire): conversations and streamed agent runs.

    agents = AgentClient("https://agents.example.com", api_key="sk-...")
    conv = agents.conversations.create("My Chat")
    with agents.chat(conv.id).send("Search for cats") as run:
        for event in run:
            if isinstance(event, HITLInterrupt):
                ...  # agents.chat(conv.id).decide([HITLDecision("approve")])
    run.text  # every message chunk, joined

Theory of operation
-------------------

Everything lives under ``{base_url}/api/open/v1``. ``Authorization: Bearer KEY`` is sent
only when a key is given; no environment variable supplies the key (nor the base URL), so
a provider key meant for another service never leaks here.

``AgentClient`` is built like ``Client``: a ``ClientConfig`` (``resolve_service``: timeouts,
retry, CA bundle, ``RELAY_LITE_LOG`` and pool size from arguments then ``RELAY_LITE_*``
variables, proxies from ``env=``), the small ``AgentPlatformAdapter`` below (bearer auth,
the platform's error bodies and ``{"code", "data"}`` envelopes) and one ``Session`` -- the
request path every API family shares -- so ``transport=`` (``MockTransport``) works too.
The adapter is not registered in ``ADAPTERS``: it speaks no chat protocol, so no ``Client``
preset may name it.

A run answers ``text/event-stream``; ``agent_events.AgentRunParser`` (sans-I/O) turns
each event into a typed value and keeps the run's state, and ``relay_lite._stream.StreamPump``
reads the body (its Content-Type, early-end, error and close rules are described there).

A run ends at ``run_end``, ``error`` or ``cancelled``. An ``error`` event is yielded as
``RunError`` (and kept in ``run.error``), not raised. A stream that stops after a
``hitl_interrupt`` is a paused run (``run.paused``): resume it with ``decide()`` or a new
``send(..., hitl_decisions=...)``. Any other early end raises ``StreamError`` whose
``partial`` is a ``RunSnapshot`` (``.text``, ``.interrupts``, ``.run_id``); a whole JSON
body raises its ``APIError`` when it is an error body, ``StreamError`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generator, Generic, Iterable, Iterator, Mapping, Optional, TypeVar, Union
from urllib.parse import quote, urlencode, urlsplit

from .._config import ClientConfig, RetryPolicy, Timeouts, check_base_url
from .._errors import APIError, ConfigError, RelayError, ResponseError, api_error
from .._session import PreparedRequest, Session
from .._sse import ServerSentEvent, SSEDecoder
from .._stream import StreamPump, whole_json_error
from .._transport import HTTPTransport, StreamResponse
from ..protocols._adapter import Adapter
from .agent_events import (
    AgentEvent,
    AgentRunParser,
    Cancelled,
    Heartbeat,
    HITLInterrupt,
    MessageChunk,
    RunEnd,
    RunError,
    RunSnapshot,
    RunStart,
    SubagentEnd,
    SubagentStart,
    ToolEnd,
    ToolStart,
    UnknownEvent,
    as_str,
    parse_agent_event,
    raw_field,
)

__all__ = [
    "AgentClient",
    "AgentPlatformAdapter",
    "Conversations",
    "AgentChat",
    "AgentRun",
    "RunSnapshot",
    "Conversation",
    "ConversationMessage",
    "Page",
    "HITLDecision",
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
    "parse_agent_event",
]

#: Path prefix of every agent-platform endpoint.
API_PREFIX = "/api/open/v1"
#: Page size used when none is given.
DEFAULT_PAGE_SIZE = 20
#: The decisions a human may take on an interrupted action.
HITL_DECISIONS = ("approve", "reject", "modify")


Cursor = Union[int, str]
T = TypeVar("T")


# -- resources ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Conversation:
    """A conversation (thread). ``seq`` is the list cursor; ``raw`` is the server's JSON."""

    id: str
    title: Optional[str] = None
    seq: Optional[Cursor] = None
    agent_id: Optional[str] = None
    created_at: Optional[Union[str, int, float]] = None
    updated_at: Optional[Union[str, int, float]] = None
    raw: Mapping[str, Any] = raw_field()

    @classmethod
    def from_json(cls, data: Any) -> Conversation:
        obj = _object(data, "conversation")
        return cls(
            id=as_str(obj.get("id", obj.get("thread_id"))) or "",
            title=as_str(obj.get("title")),
            seq=_cursor(obj.get("seq")),
            agent_id=as_str(obj.get("agent_id")),
            created_at=obj.get("created_at"),
            updated_at=obj.get("updated_at"),
            raw=obj,
        )


@dataclass(frozen=True)
class ConversationMessage:
    """One stored message of a conversation (``role``: user, assistant, tool or system)."""

    id: str
    role: str
    content: Optional[str] = None
    seq: Optional[Cursor] = None
    tool_calls: tuple[Mapping[str, Any], ...] = ()
    raw: Mapping[str, Any] = raw_field()

    @classmethod
    def from_json(cls, data: Any) -> ConversationMessage:
        obj = _object(data, "message")
        calls = obj.get("tool_calls") or ()
        return cls(
            id=as_str(obj.get("id")) or "",
            role=as_str(obj.get("role")) or "",
            content=as_str(obj.get("content")),
            seq=_cursor(obj.get("seq")),
            tool_calls=tuple(c for c in calls if isinstance(c, Mapping)) if isinstance(calls, list) else (),
            raw=obj,
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list. ``next_cursor`` (the last item's ``seq``) is None on the last page."""

    items: tuple[T, ...]
    has_more: bool
    next_cursor: Optional[Cursor] = None


@dataclass(frozen=True)
class HITLDecision:
    """A human's answer to an interrupted action: ``approve``, ``reject`` or ``modify``."""

    decision: str
    reason: Optional[str] = None
    modified_args: Optional[Mapping[str, Any]] = None

    def __post_init__(self) -> None:
        if self.decision not in HITL_DECISIONS:
            raise ConfigError(
                f"HITLDecision.decision must be one of {', '.join(HITL_DECISIONS)}, got {self.decision!r}"
            )
        if self.modified_args is not None and not isinstance(self.modified_args, Mapping):
            raise ConfigError("HITLDecision.modified_args must be a mapping")

    @classmethod
    def approve(cls) -> HITLDecision:
        """Let the interrupted action run as proposed."""
        return cls("approve")

    @classmethod
    def reject(cls, reason: Optional[str] = None) -> HITLDecision:
        """Refuse the interrupted action, saying why."""
        return cls("reject", reason)

    @classmethod
    def modify(cls, modified_args: Mapping[str, Any], reason: Optional[str] = None) -> HITLDecision:
        """Run the interrupted action with other arguments."""
        return cls("modify", reason, modified_args)

    def to_json(self) -> dict[str, Any]:
        """The wire form; unset fields are left out."""
        body: dict[str, Any] = {"decision": self.decision}
        if self.reason is not None:
            body["reason"] = self.reason
        if self.modified_args is not None:
            body["modified_args"] = dict(self.modified_args)
        return body


def _cursor(value: Any) -> Optional[Cursor]:
    if value is None or isinstance(value, bool):
        return None
    return value if isinstance(value, (int, str)) else str(value)


def _object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ResponseError(f"expected a JSON object for a {what}, got {type(data).__name__}")
    return data


# -- runs ---------------------------------------------------------------------------------


class AgentRun:
    """A streamed agent run: iterate it for typed events; it closes itself at the end.

    ``text`` joins the message chunks so far, ``interrupts`` collects HITL interrupts,
    ``error`` holds a ``RunError`` event, ``cancelled`` a ``Cancelled`` one. ``finished``
    is True after ``run_end``/``error``/``cancelled``; ``paused`` when the stream ended
    after an interrupt. Reading is a ``StreamPump`` over an ``AgentRunParser``.
    """

    def __init__(
        self,
        http: StreamResponse,
        *,
        include_heartbeats: bool = False,
        secrets: Callable[[], tuple[str, ...]] = tuple,
        request_id: Optional[str] = None,
        map_error: Callable[..., APIError] = api_error,
    ) -> None:
        self._http = http
        self._include_heartbeats = include_heartbeats
        self._map_error = map_error  # the adapter's: maps a whole JSON error body
        self._parser = AgentRunParser()
        self._pump: StreamPump[ServerSentEvent, AgentEvent, RunSnapshot] = StreamPump(
            http,
            SSEDecoder(),
            self._parser,
            what="agent run",
            ended_early="agent run ended before run_end, error or cancelled",
            malformed="malformed agent event",
            whole=self._whole,
            may_end=self._parser.may_pause,
            secrets=secrets,
            request_id=request_id,
        )
        self.request_id = self._pump.request_id
        self._iterator: Optional[Generator[AgentEvent, None, None]] = None

    @property
    def text(self) -> str:
        """The reply text received so far."""
        return self._parser.text

    @property
    def interrupts(self) -> list[HITLInterrupt]:
        """The HITL interrupts received so far."""
        return self._parser.interrupts

    @property
    def error(self) -> Optional[RunError]:
        """The run's ``error`` event, if it failed."""
        return self._parser.error

    @property
    def cancelled(self) -> Optional[Cancelled]:
        """The run's ``cancelled`` event, if it was stopped."""
        return self._parser.cancelled

    @property
    def run_id(self) -> Optional[str]:
        """The run's id, once ``run_start`` (or ``run_end``) named it."""
        return self._parser.run_id

    @property
    def finished(self) -> bool:
        """True after ``run_end``, ``error`` or ``cancelled``."""
        return self._parser.finished

    @property
    def paused(self) -> bool:
        """True when the stream ended after a HITL interrupt (resume with decisions)."""
        return self._parser.paused

    def snapshot(self) -> RunSnapshot:
        """What has arrived so far, as an immutable value."""
        return self._parser.partial()

    def __iter__(self) -> Iterator[AgentEvent]:
        if self._iterator is None:
            self._iterator = self._events()
        return self._iterator

    def _events(self) -> Generator[AgentEvent, None, None]:
        for event in self._pump:
            if isinstance(event, Heartbeat) and not self._include_heartbeats:
                continue
            yield event

    def _whole(self, data: object) -> list[AgentEvent]:
        """A run answered with a whole JSON body instead of events: always an error."""
        raise whole_json_error(
            data, self._http.headers, what="agent run", expected="an event stream", map_error=self._map_error
        )

    def close(self) -> None:
        """Stop reading and release the connection now."""
        if self._iterator is not None:
            self._iterator.close()
        self._pump.close()

    def __enter__(self) -> AgentRun:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# -- the client ---------------------------------------------------------------------------


class AgentPlatformAdapter(Adapter):
    """The agent platform's wire facts for the shared request path.

    No chat operation: the resources below build their own calls. Auth is a bearer key,
    only when one is set; errors (``{"error": ...}`` bodies and failed ``{"code": 40001,
    "message"}`` envelopes) map like any provider's.
    """

    name = "agents"

    def auth_headers(self, api_key: Optional[str]) -> dict[str, str]:
        """``Authorization: Bearer KEY`` when a key is set, else nothing."""
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def map_error(
        self,
        status: Optional[int],
        body: Any,
        headers: Optional[Mapping[str, str]] = None,
        *,
        attempts: int = 1,
    ) -> APIError:
        """The ``APIError`` for an error status or a failed envelope (``status`` None)."""
        return api_error(status, body, headers, attempts=attempts)


class AgentClient:
    """A client for an agent platform; safe to share between threads. Close it when done.

    ``base_url`` is the server's root (``/api/open/v1`` is added unless already there).
    ``env`` replaces ``os.environ`` for every setting read from the environment, proxies
    included; ``transport`` replaces the network (``relay_lite.testing.MockTransport``);
    ``pool_size`` (or ``RELAY_LITE_POOL_SIZE``) is how many connections are kept.
    """

    def __init__(
        self,
        base_url: str,
        api_key: Optional[str] = None,
        *,
        timeouts: Optional[Timeouts] = None,
        retry: Optional[RetryPolicy] = None,
        headers: Optional[Mapping[str, str]] = None,
        ca_bundle: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
        transport: Optional[HTTPTransport] = None,
        pool_size: Optional[int] = None,
    ) -> None:
        if not isinstance(base_url, str):
            raise ConfigError(f"base_url must be a string, got {type(base_url).__name__}")
        url = check_base_url(base_url, "base_url")
        if not urlsplit(url).path.endswith(API_PREFIX):
            url += API_PREFIX
        self.config = ClientConfig.resolve_service(
            AgentPlatformAdapter.name,
            base_url=url,
            api_key=api_key,
            timeouts=timeouts,
            retry=retry,
            headers=headers,
            ca_bundle=ca_bundle,
            pool_size=pool_size,
            env=env,
        )
        self.base_url = self.config.base_url
        self._has_key = bool(api_key)
        #: The one request path (shared with ``Client``): auth, headers, retries, errors.
        self.session = Session(self.config, AgentPlatformAdapter(), transport=transport, env=env)
        self.transport: HTTPTransport = self.session.transport
        self.conversations = Conversations(self)

    def __repr__(self) -> str:
        return f"AgentClient(base_url={self.base_url!r}, api_key={'set' if self._has_key else None})"

    def chat(self, conversation_id: str) -> AgentChat:
        """Runs (send, stop, decide) of one conversation."""
        return AgentChat(self, conversation_id)

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()

    def __enter__(self) -> AgentClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- plumbing used by the resources ---------------------------------------------------

    def _call(
        self, method: str, path: str, *, query: Optional[list[tuple[str, Any]]] = None, body: Any = None
    ) -> Any:
        path += f"?{urlencode(query)}" if query else ""
        request = PreparedRequest(method, path, json=body, headers={"Accept": "application/json"})
        response = self.session.send(request)
        if not response.body.strip():
            return None
        try:
            return _unwrap(response.json(), response.headers, self.session.adapter)
        except RelayError as exc:  # an error envelope in a 200 body may echo the key
            raise self.session.scrubbed(request, exc) from None

    def _open_run(self, path: str, body: dict[str, Any]) -> StreamResponse:
        """The request that opens a run's event stream (through the same request path)."""
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        return self.session.send(PreparedRequest("POST", path, json=body, headers=headers), stream=True)


def _unwrap(data: Any, headers: Mapping[str, str], adapter: Adapter) -> Any:
    """Accept a ``{"code": 0, "data": ...}`` envelope too (the SDKs expect bare bodies)."""
    if isinstance(data, dict) and "data" in data and "code" in data and set(data) <= _ENVELOPE_KEYS:
        if data["code"] not in (0, "0", 200):
            raise adapter.map_error(None, data, headers)
        return data["data"]
    return data


_ENVELOPE_KEYS = frozenset({"code", "data", "message", "msg", "success", "request_id"})


def _conversation_path(conversation_id: str) -> str:
    if not isinstance(conversation_id, str) or not conversation_id or conversation_id in (".", ".."):
        raise ConfigError(
            f"conversation id must be a non-empty string (not . or ..), got {conversation_id!r}"
        )
    return "/conversations/" + quote(conversation_id, safe="")


def _page_query(size: int, last_id: Cursor) -> list[tuple[str, Any]]:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"size must be a whole number >= 1, got {size!r}")
    if isinstance(last_id, bool) or not isinstance(last_id, (int, str)):
        raise ConfigError(f"last_id must be a seq cursor (int or str), got {last_id!r}")
    return [("lastId", last_id), ("size", size)]


def _page(data: Any, parse: Any, what: str) -> Page[Any]:
    obj = _object(data, f"page of {what}s")
    raw_items = obj.get("items") or []
    if not isinstance(raw_items, list):
        raise ResponseError(f"page of {what}s has 'items' that is not a list")
    items = tuple(parse(item) for item in raw_items)
    has_more = obj.get("has_more", False)
    if not isinstance(has_more, bool):
        raise ResponseError(f"page of {what}s has 'has_more' that is not a boolean: {has_more!r}")
    cursor = items[-1].seq if items and has_more else None
    if has_more and cursor is None:
        # Stopping here would silently drop the rest of the list.
        raise ResponseError(f"page of {what}s says it has more, but its last item has no 'seq' cursor")
    return Page(items, has_more, cursor)


class Conversations:
    """``client.conversations``: create, list, get, update, delete, and read messages."""

    def __init__(self, client: AgentClient) -> None:
        self._client = client

    def create(self, title: str, agent_id: Optional[str] = None) -> Conversation:
        """Create a conversation, optionally bound to an agent."""
        body: dict[str, Any] = {"title": title}
        if agent_id is not None:
            body["agent_id"] = agent_id
        return Conversation.from_json(self._client._call("POST", "/conversations", body=body))

    def list(self, last_id: Cursor = 0, size: int = DEFAULT_PAGE_SIZE) -> Page[Conversation]:
        """One page; pass the previous page's ``next_cursor`` as ``last_id`` for the next.

        Positional order ``(last_id, size)`` as the seed SDK has it: ``list(0, 20)``.
        """
        data = self._client._call("GET", "/conversations", query=_page_query(size, last_id))
        return _page(data, Conversation.from_json, "conversation")

    def iterate_all(self, size: int = DEFAULT_PAGE_SIZE) -> Iterator[Conversation]:
        """Every conversation, page after page, following the ``seq`` cursor."""
        cursor: Cursor = 0
        while True:
            page = self.list(size=size, last_id=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            if page.next_cursor == cursor:
                raise ResponseError(f"conversation list cursor did not advance (stuck at {cursor!r})")
            cursor = page.next_cursor

    def get(self, conversation_id: str) -> Conversation:
        """One conversation by id."""
        return Conversation.from_json(self._client._call("GET", _conversation_path(conversation_id)))

    def update(
        self, conversation_id: str, *, title: Optional[str] = None, agent_id: Optional[str] = None
    ) -> Conversation:
        """Change a conversation's title (PATCH); returns the updated conversation."""
        body: dict[str, Any] = {}
        if title is not None:
            body["title"] = title
        if agent_id is not None:
            body["agent_id"] = agent_id
        if not body:
            raise ConfigError("update() needs title= or agent_id=")
        path = _conversation_path(conversation_id)
        data = self._client._call("PATCH", path, body=body)
        return Conversation.from_json(data) if data is not None else self.get(conversation_id)

    def delete(self, conversation_id: str) -> None:
        """Delete a conversation and its messages."""
        self._client._call("DELETE", _conversation_path(conversation_id))

    def messages(
        self, conversation_id: str, last_id: Cursor = 0, size: int = DEFAULT_PAGE_SIZE
    ) -> Page[ConversationMessage]:
        """One page of a conversation's messages (``(conversation_id, last_id, size)``, as
        the seed SDK orders them)."""
        path = _conversation_path(conversation_id) + "/messages"
        data = self._client._call("GET", path, query=_page_query(size, last_id))
        return _page(data, ConversationMessage.from_json, "message")


def _decisions_json(decisions: Iterable[Union[HITLDecision, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    result = []
    for item in decisions:
        if isinstance(item, Mapping):
            extra = set(item) - {"decision", "reason", "modified_args"}
            if extra:
                raise ConfigError(f"unknown HITL decision field(s): {', '.join(sorted(extra))}")
            item = HITLDecision(**item)
        elif not isinstance(item, HITLDecision):
            raise ConfigError(f"a HITL decision must be a HITLDecision or a mapping, got {item!r}")
        result.append(item.to_json())
    return result


class AgentChat:
    """Runs of one conversation: ``send`` a message, ``stop`` a run, ``decide`` on interrupts."""

    def __init__(self, client: AgentClient, conversation_id: str) -> None:
        self._client = client
        self.conversation_id = conversation_id
        self._path = _conversation_path(conversation_id) + "/chat"

    def send(
        self,
        message: str,
        *,
        agent_id: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        hitl_decisions: Optional[Iterable[Union[HITLDecision, Mapping[str, Any]]]] = None,
        include_heartbeats: bool = False,
    ) -> AgentRun:
        """Start a run and return its event stream (iterate it, or use it with ``with``)."""
        body: dict[str, Any] = {"message": message}
        if agent_id is not None:
            body["agent_id"] = agent_id
        if metadata is not None:
            body["metadata"] = dict(metadata)
        if hitl_decisions is not None:
            body["hitl_decisions"] = _decisions_json(hitl_decisions)
        http = self._client._open_run(self._path, body)
        session = self._client.session
        # An error may echo the key: the run scrubs what this call sent.
        return AgentRun(
            http,
            include_heartbeats=include_heartbeats,
            secrets=lambda: session.secrets_for(PreparedRequest("POST", self._path)),
            request_id=session.adapter.request_id(http.headers),
            map_error=session.adapter.map_error,
        )

    def stop(self) -> None:
        """Ask the server to cancel the running turn (its stream then ends with ``Cancelled``)."""
        self._client._call("POST", self._path + "/stop", body={})

    def decide(self, decisions: Iterable[Union[HITLDecision, Mapping[str, Any]]]) -> None:
        """Answer the pending HITL interrupts to resume a paused run."""
        wire = _decisions_json(decisions)
        if not wire:
            raise ConfigError("decide() needs at least one decision")
        self._client._call("POST", self._path + "/hitl/decide", body={"decisions": wire})
