"""Provider batch APIs, the shared half: values, errors, and the seam each protocol fills.

``client.batches`` (``_batches.Batches``) runs on a ``BatchAPI`` for the client's
protocol: OpenAI's Batch API (``_batch_openai``) or Anthropic's Message Batches
(``_batch_anthropic``). Both take ``ChatRequest``s, each under a custom id, and give back
one ``BatchResult`` per id: the ``ChatResponse``, or the error that item met (the typed
``APIError`` the same call would have raised, ``BatchExpiredError``,
``BatchCanceledError``).

Theory of operation
-------------------

- Bodies are built by the client's adapter (``chat_call(params, stream=False)``), so an
  item of a batch sends exactly what ``send()`` would have sent; replies are read by the
  adapter's ``parse_chat`` and errors by its ``map_error``.
- Every HTTP call goes through ``client.session.send`` (the one request path): auth,
  retries, hooks, redaction and timeouts apply as to a chat call.
- A batch id is the whole state: ``get``, ``wait``, ``results`` and ``cancel`` take an id
  (or a ``Batch``), so another process (a later Lambda invocation) can pick a batch up.
- Results are read as the body arrives and cut into lines by ``_sse.NDJSONDecoder``
  (sans-I/O, at most one line held), so a results file far larger than memory streams
  through ``results()`` with flat memory.
- Protocol modules are registered by protocol name (``_batches.BATCH_APIS``), as adapters
  are in ``relay_lite.protocols``; the front class never branches on a provider.
"""

from __future__ import annotations

from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
    Optional,
    Sequence,
    Union,
)

from ._errors import ConfigError, RelayError, ResponseError, unreadable_reply
from ._models import ChatResponse
from ._record import Record, factory

if TYPE_CHECKING:
    from ._client import Client
    from ._session import PreparedRequest
    from .protocols._adapter import Adapter

__all__ = [
    "Batch",
    "BatchAPI",
    "BatchCanceledError",
    "BatchCounts",
    "BatchError",
    "BatchExpiredError",
    "BatchNotEndedError",
    "BatchResult",
    "iter_json_lines",
    "line_custom_id",
    "missing_results",
    "nameless_line",
]


# -- errors -------------------------------------------------------------------------------------


class BatchError(RelayError):
    """A batch, or one item of it, could not give what was asked (``batch_id``, ``custom_id``)."""

    def __init__(
        self, message: str, *, batch_id: Optional[str] = None, custom_id: Optional[str] = None
    ) -> None:
        super().__init__(message)
        self.batch_id = batch_id
        self.custom_id = custom_id


class BatchNotEndedError(BatchError):
    """Results were asked of a batch still processing (``wait()`` for it first)."""


class BatchExpiredError(BatchError):
    """The item was not run before the batch's completion window closed."""


class BatchCanceledError(BatchError):
    """The item was not run because the batch was canceled."""


# -- values -------------------------------------------------------------------------------------


class BatchCounts(Record):
    """How many items of a batch are in each state; None where the provider does not say.

    OpenAI counts ``completed`` (here ``succeeded``) and ``failed`` (errored and expired
    items together); Anthropic counts all five states, and only once the batch has ended.
    """

    total: int = 0
    processing: Optional[int] = None
    succeeded: Optional[int] = None
    failed: Optional[int] = None
    canceled: Optional[int] = None
    expired: Optional[int] = None


class Batch(Record):
    """A provider batch as last seen: its id, the provider's status word, whether it ended.

    ``status`` is the provider's own (OpenAI: validating, in_progress, finalizing,
    completed, failed, expired, cancelling, cancelled; Anthropic: in_progress, canceling,
    ended). ``ended`` is True once no item will change any more. ``errors`` are the
    reasons a whole batch failed (OpenAI's validation errors). ``raw`` is the provider's
    object as received.
    """

    _hidden_in_repr = frozenset({"raw", "metadata"})
    _not_compared = frozenset({"raw"})

    id: str
    provider: str
    status: str
    ended: bool
    counts: BatchCounts = factory(default_factory=BatchCounts)
    created_at: Any = None
    input_file_id: Optional[str] = None
    output_file_id: Optional[str] = None
    error_file_id: Optional[str] = None
    results_url: Optional[str] = None
    metadata: Optional[Mapping[str, Any]] = None
    errors: tuple[str, ...] = ()
    raw: Any = None


class BatchResult(Record):
    """One item's outcome: the ``response``, or the ``error`` it met (never both).

    ``custom_id`` is None only for a results line that names no item (its ``error`` is
    the ``ResponseError`` quoting the line); the iteration goes on past it.
    """

    _not_compared = frozenset({"error"})

    custom_id: Optional[str]
    response: Optional[ChatResponse] = None
    error: Optional[RelayError] = None

    @property
    def ok(self) -> bool:
        """Whether the item succeeded."""
        return self.response is not None


# -- sans-I/O helpers -----------------------------------------------------------------------------


def iter_json_lines(chunks: Iterable[bytes]) -> Iterator[Any]:
    """The JSON values of a JSON Lines body arriving as ``chunks`` (held one line at a time).

    Lines end at LF (a CR before it is tolerated), blank lines are skipped and a last line
    without its newline still counts. A line that is not JSON raises ``StreamError``.
    """
    from ._sse import NDJSONDecoder

    decoder = NDJSONDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.close()


def batch_id_of(batch: Union[str, Batch]) -> str:
    """The id of ``batch`` (a ``Batch`` or an id), checked to be a non-empty string."""
    value = batch.id if isinstance(batch, Batch) else batch
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"a batch is named by a non-empty id or a Batch, got {value!r}")
    return value


# -- the provider seam ------------------------------------------------------------------------------


class BatchAPI:
    """One provider's batch endpoints, over the client's request path (subclass per protocol)."""

    #: The protocol's name for people, in error messages.
    display_name = ""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.adapter: Adapter = client.adapter

    # -- what a protocol provides --

    def check_custom_id(self, custom_id: str) -> None:
        """Raise ``ConfigError`` when the provider would refuse ``custom_id``."""

    def create(self, items: Sequence[tuple[str, Any]], metadata: Optional[Mapping[str, str]]) -> Batch:
        """Create a batch of ``(custom_id, chat body)`` items."""
        raise NotImplementedError

    def retrieve(self, batch_id: str) -> Batch:
        """The batch as the provider sees it now."""
        raise NotImplementedError

    def cancel(self, batch_id: str) -> Batch:
        """Ask the provider to cancel the batch."""
        raise NotImplementedError

    def list_page(self, after: Optional[str], limit: int) -> tuple[list[Batch], Optional[str]]:
        """One page of batches after the cursor ``after``, and the next cursor (None: last page)."""
        raise NotImplementedError

    def results(self, batch: Batch) -> Iterator[BatchResult]:
        """Every item's result of an ended batch, read as the files download."""
        raise NotImplementedError

    # -- the request path, shared by the protocols --

    def request(self, method: str, path: str, **options: Any) -> PreparedRequest:
        """A ``PreparedRequest`` for the session (``json=``, ``data=``, ``headers=``)."""
        from ._session import PreparedRequest

        headers = {"Accept": "application/json"}
        headers.update(options.pop("headers", {}))
        return PreparedRequest(method, path, headers=headers, **options)

    def call_json(
        self, method: str, path: str, *, read: Optional[Callable[[Any], Any]] = None, **options: Any
    ) -> Any:
        """Send a call and parse its JSON reply, then ``read(payload)`` it if given.

        Every ``RelayError`` raised while reading (a body that is not JSON, or a shape
        ``read`` refuses while quoting the body) comes out scrubbed of the call's
        credentials: a server may echo the key anywhere in what it sends back.
        """
        request = self.request(method, path, **options)
        session = self.client.session
        response = session.send(request)
        try:
            payload = response.json()
            return payload if read is None else read(payload)
        except RelayError as exc:
            raise session.scrubbed(request, exc) from None

    def stream_lines(self, path: str, *, accept: str = "application/json") -> Generator[Any, None, None]:
        """The JSON Lines body of ``GET path``, parsed line by line as it downloads.

        The connection is released when the body ends, when the caller stops iterating
        (the generator is closed) and on any error.
        """
        request = self.request("GET", path, headers={"Accept": accept})
        session = self.client.session
        response = session.send(request, stream=True)
        try:
            yield from iter_json_lines(response.iter_bytes())
        except RelayError as exc:
            raise session.scrubbed(request, exc) from None
        finally:
            response.close()


def unreadable(message: str, line: Any) -> ResponseError:
    """The ``ResponseError`` for a results line whose shape the protocol cannot read."""
    return unreadable_reply(message, line)


def line_custom_id(line: Any) -> Optional[str]:
    """The ``custom_id`` of a results line, or None when it names none (not a string)."""
    custom_id = line.get("custom_id") if isinstance(line, Mapping) else None
    return custom_id if isinstance(custom_id, str) else None


def nameless_line(line: Any) -> BatchResult:
    """The result for a results line without a ``custom_id``: an error, not the end of the results."""
    return BatchResult(None, error=unreadable("batch result line has no custom_id", line))


def missing_results(batch: Batch, seen: int) -> Iterator[BatchResult]:
    """One error result when ``batch`` counts more items than the ``seen`` results named."""
    total = batch.counts.total
    if total > seen:
        message = (
            f"batch {batch.id} counts {total} requests but its results name {seen}; "
            f"{total - seen} are in no results file"
        )
        yield BatchResult(None, error=BatchError(message, batch_id=batch.id))


def read_item(custom_id: str, read: Callable[[], ChatResponse]) -> BatchResult:
    """``read()``'s reply as the item's result; an error reading it becomes the item's error."""
    try:
        return BatchResult(custom_id, response=read())
    except RelayError as exc:
        return BatchResult(custom_id, error=exc)
