"""``Client.embed``, ``Client.models`` and ``Client.count_tokens``: the operations beside chat.

Each is adapter calls on the one request path: the adapter builds the ``HTTPCall``
(``embeddings_call``, ``models_call``, ``count_tokens_call``), ``Client.prepare_call``
and ``Session.send`` send it exactly as they send chat (headers, retries, deadlines,
hooks, error mapping, key scrubbing), and the adapter parses the reply. A protocol
without the operation raises ``ConfigError`` from its adapter before anything is sent.

Theory of operation for ``embed``: the inputs are cut into batches of the adapter's
``embedding_batch_limit`` (or ``batch_size``) inputs, and of at most its
``embedding_request_byte_limit`` UTF-8 bytes summed over the inputs (OpenAI caps a
request at 300,000 tokens, and a token is at least a byte; one longer input goes alone,
for the server to judge), one request per batch, in order; each reply's vectors come
back in its inputs' order, so joining the batches keeps the input order. If a later
batch fails, the error's ``.partial`` holds the ``Embeddings`` of the batches before it.
Loaded on first use.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Optional, Sequence, Union

from ._config import Timeouts
from ._errors import ConfigError, RelayError, ResponseError
from ._models import ChatParams, Usage
from ._resources import Embeddings, ModelInfo, sum_usage

if TYPE_CHECKING:
    from ._client import Client

__all__ = ["count_tokens", "embed", "list_models"]


def _whole(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a whole number >= 1, got {value!r}")
    return value


def _inputs(texts: Union[str, Iterable[str]]) -> list[str]:
    """``texts`` as a list of strings; one string is one input."""
    if isinstance(texts, str):
        return [texts]
    if isinstance(texts, (bytes, bytearray)) or isinstance(texts, Mapping) or not isinstance(texts, Iterable):
        raise ConfigError(f"embed() takes a string or a list of strings, got {type(texts).__name__}")
    inputs = list(texts)
    for index, text in enumerate(inputs):
        if not isinstance(text, str):
            raise ConfigError(f"embed() input {index} is {type(text).__name__}, not a string")
    return inputs


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def cut_batches(inputs: Sequence[str], size: int, byte_limit: Optional[int]) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each batch: at most ``size`` inputs and, unless ``byte_limit`` is
    None, at most ``byte_limit`` UTF-8 bytes summed (an input longer than that goes alone)."""
    start = 0
    while start < len(inputs):
        end = min(start + size, len(inputs))
        if byte_limit is not None:
            total = _utf8_size(inputs[start])
            stop = start + 1
            while stop < end:
                total += _utf8_size(inputs[stop])
                if total > byte_limit:
                    break
                stop += 1
            end = stop
        yield start, end
        start = end


def _params(
    client: Client,
    model: Optional[str],
    timeout: Union[Timeouts, float, None],
    headers: Optional[Mapping[str, str]],
) -> ChatParams:
    """The per-call settings ``Client.prepare_call`` reads (the same as a chat request's)."""
    if timeout is not None and not isinstance(timeout, Timeouts):
        limits = client.config.timeouts
        timeout = Timeouts(connect=limits.connect, read=limits.read, total=timeout)
    return ChatParams(model=model, timeout=timeout, headers=dict(headers or {}))


def embed(
    client: Client,
    texts: Union[str, Iterable[str]],
    *,
    model: Optional[str] = None,
    dimensions: Optional[int] = None,
    batch_size: Optional[int] = None,
    timeout: Union[Timeouts, float, None] = None,
    headers: Optional[Mapping[str, str]] = None,
) -> Embeddings:
    """What ``Client.embed`` does (see there)."""
    inputs = _inputs(texts)
    model = model or client.config.model
    if not model:
        raise ConfigError("no embeddings model: pass embed(..., model=...) or set model= on the client")
    if dimensions is not None:
        _whole("dimensions", dimensions)
    adapter = client.adapter
    size = adapter.embedding_batch_limit if batch_size is None else _whole("batch_size", batch_size)
    byte_limit = adapter.embedding_request_byte_limit
    adapter.embeddings_call(model, (), dimensions=dimensions)  # no embeddings here: ConfigError, even for []
    params = _params(client, model, timeout, headers)
    hooks = client.session.hooks
    collected = _Collected()
    for start, end in cut_batches(inputs, size, byte_limit):
        batch = inputs[start:end]
        request = client.prepare_call(params, adapter.embeddings_call(model, batch, dimensions=dimensions))
        try:
            response = client.session.send(request)
            part: Embeddings = client.read_reply(
                request,
                response,
                adapter.parse_embeddings,
                time.time(),
                expected=len(batch),
                dimensions=dimensions,
            )
            if collected.dimensions is not None and part.dimensions != collected.dimensions:
                raise client.session.scrubbed(
                    request,
                    ResponseError(
                        f"the embeddings of inputs {start}.. have {part.dimensions} values each, "
                        f"those before {collected.dimensions}",
                        request_id=adapter.request_id(response.headers),
                        attempts=response.attempts,
                    ),
                )
        except RelayError as exc:
            if collected.requests:  # nothing lost: the batches that arrived ride on the error
                exc.partial = collected.result()
            raise
        if hooks.wants("usage"):
            from ._hooks import UsageReport

            hooks.emit("usage", UsageReport(part.usage, part.model, adapter.request_id(response.headers)))
        collected.add(part)
    return collected.result()


class _Collected:
    """The batches' results so far, joined once at the end (linear in the vectors)."""

    __slots__ = ("vectors", "model", "usage", "requests")

    def __init__(self) -> None:
        self.vectors: list[list[float]] = []
        self.model: Optional[str] = None
        self.usage = Usage()
        self.requests = 0

    @property
    def dimensions(self) -> Optional[int]:
        return len(self.vectors[0]) if self.vectors else None

    def add(self, part: Embeddings) -> None:
        self.vectors.extend(part.vectors)
        self.model = self.model or part.model
        self.usage = part.usage if not self.requests else sum_usage(self.usage, part.usage)
        self.requests += 1

    def result(self) -> Embeddings:
        return Embeddings(tuple(self.vectors), self.model, self.usage, self.requests)


def list_models(client: Client, *, page_size: Optional[int] = None) -> list[ModelInfo]:
    """What ``Client.models`` does (see there)."""
    if page_size is not None:
        _whole("page_size", page_size)
    adapter = client.adapter
    params = ChatParams()
    models: list[ModelInfo] = []
    after: Optional[str] = None
    seen: set[str] = set()
    while True:
        request = client.prepare_call(params, adapter.models_call(after, page_size))
        response = client.session.send(request)
        page, cursor = client.read_reply(request, response, adapter.parse_models, time.time())
        models.extend(page)
        if cursor is None:
            return models
        if cursor in seen:  # a server repeating a cursor would otherwise page forever
            raise ResponseError(
                f"the model list pages back to cursor {cursor!r}; stopped after {len(models)} models",
                request_id=adapter.request_id(response.headers),
                attempts=response.attempts,
            )
        seen.add(cursor)
        after = cursor


def count_tokens(client: Client, params: ChatParams) -> int:
    """What ``Client.count_tokens`` does (see there)."""
    params = client.check_chat_params(params)
    request = client.prepare_call(params, client.adapter.count_tokens_call(params))
    response = client.session.send(request)
    count: int = client.read_reply(request, response, client.adapter.parse_token_count, time.time())
    return count
