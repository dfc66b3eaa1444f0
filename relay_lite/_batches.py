"""``Batches``: the front of ``client.batches``, and the registry of batch APIs by protocol.

The values, errors and the ``BatchAPI`` seam are in ``_batch``; each protocol's endpoints
in ``_batch_openai`` and ``_batch_anthropic``, loaded on first use.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence, Union

from ._batch import Batch, BatchAPI, BatchNotEndedError, BatchResult, batch_id_of
from ._errors import ConfigError, DeadlineExceeded, RelayError, ResponseError, scrub

if TYPE_CHECKING:
    from ._chat import ChatRequest
    from ._client import Client

__all__ = ["BATCH_APIS", "Batches", "batches_for", "cached_batches"]

#: First pause between two polls of ``Batches.wait``, in seconds.
DEFAULT_POLL_SECONDS = 5.0
#: Longest pause between two polls: the pause grows by ``POLL_BACKOFF`` up to this.
DEFAULT_MAX_POLL_SECONDS = 60.0
POLL_BACKOFF = 1.5
#: Batches asked for per page by ``Batches.list``.
DEFAULT_PAGE_SIZE = 20


def _openai(client: Client) -> BatchAPI:
    from ._batch_openai import OpenAIBatchAPI

    return OpenAIBatchAPI(client)


def _anthropic(client: Client) -> BatchAPI:
    from ._batch_anthropic import AnthropicBatchAPI

    return AnthropicBatchAPI(client)


#: Batch APIs by protocol name (a ``Preset``'s ``protocol``), each loaded on first use.
BATCH_APIS: dict[str, Callable[[Client], BatchAPI]] = {
    "openai": _openai,
    "anthropic": _anthropic,
}


_cache_lock = threading.Lock()
# Where a client keeps its Batches (in the client itself: a registry holding Batches,
# which hold their client, would keep every client alive).
_CACHE_ATTRIBUTE = "_cached_batches"


def cached_batches(client: Client) -> Batches:
    """``client.batches``: the client's one ``Batches``, made on first use (thread-safe).

    A copy of a client (``with_options``) carries its original's in its ``__dict__``;
    it gets its own, bound to itself.
    """
    made = vars(client).get(_CACHE_ATTRIBUTE)
    if isinstance(made, Batches) and made.client is client:
        return made
    with _cache_lock:
        made = vars(client).get(_CACHE_ATTRIBUTE)
        if not isinstance(made, Batches) or made.client is not client:
            made = batches_for(client)
            vars(client)[_CACHE_ATTRIBUTE] = made
        return made


def batches_for(client: Client) -> Batches:
    """The ``Batches`` of ``client``'s protocol; ``ConfigError`` when it has no batch API."""
    make = BATCH_APIS.get(client.config.protocol)
    if make is None:
        raise ConfigError(
            f"{client.config.provider} ({client.config.protocol} protocol) has no batch API in "
            f"relay_lite; batches work with: {', '.join(sorted(BATCH_APIS))}"
        )
    return Batches(client, make(client))


# -- the front ------------------------------------------------------------------------------------


class Batches:
    """Submit chat requests as a provider batch, wait for it, read its results.

    >>> batch = client.batches.submit([client.chat().user(q) for q in questions])  # doctest: +SKIP
    >>> batch = client.batches.wait(batch.id, deadline=3600)  # doctest: +SKIP
    >>> for result in client.batches.results(batch.id):  # doctest: +SKIP
    ...     print(result.custom_id, result.response.text if result.ok else result.error)
    """

    def __init__(self, client: Client, api: BatchAPI) -> None:
        self.client = client
        self.api = api
        #: How ``wait`` pauses between polls (replaceable in tests).
        self.sleep: Callable[[float], None] = time.sleep

    def __repr__(self) -> str:
        return f"Batches({self.api.display_name}, {self.client!r})"

    def submit(
        self,
        requests: Iterable[ChatRequest],
        *,
        ids: Optional[Sequence[str]] = None,
        metadata: Optional[Mapping[str, str]] = None,
    ) -> Batch:
        """Create a batch of ``requests`` (``ChatRequest``s), one item per request.

        ``ids`` names the items (unique strings, as many as requests); without it they are
        ``request-0``, ``request-1``, ... in order. Each body is what ``send()`` would send.
        ``metadata`` (OpenAI only) is attached to the batch. Returns the new ``Batch``;
        keep its ``id`` to pick the results up later, from any process.
        """
        from ._chat import ChatRequest

        items = list(requests)
        if not items:
            raise ConfigError("submit() needs at least one request")
        if ids is None:
            names = [f"request-{index}" for index in range(len(items))]
        else:
            names = list(ids)
            if len(names) != len(items):
                raise ConfigError(f"submit() got {len(names)} ids for {len(items)} requests")
        seen: set[str] = set()
        bodies: list[tuple[str, Any]] = []
        adapter = self.client.adapter
        for index, (name, request) in enumerate(zip(names, items)):
            if not isinstance(request, ChatRequest):
                raise ConfigError(
                    f"submit() takes ChatRequests (client.chat()...); "
                    f"item {index} is {type(request).__name__}"
                )
            if not isinstance(name, str) or not name:
                raise ConfigError(f"custom id {index} must be a non-empty string, got {name!r}")
            if name in seen:
                raise ConfigError(f"custom id {name!r} is used twice; each item needs its own")
            seen.add(name)
            self.api.check_custom_id(name)
            params = self.client.check_chat_params(request.params)
            bodies.append((name, adapter.chat_call(params, stream=False).body))
        return self.api.create(bodies, metadata)

    def get(self, batch: Union[str, Batch]) -> Batch:
        """The batch as the provider sees it now."""
        return self.api.retrieve(batch_id_of(batch))

    def wait(
        self,
        batch: Union[str, Batch],
        *,
        deadline: Optional[float] = None,
        poll: float = DEFAULT_POLL_SECONDS,
        max_poll: float = DEFAULT_MAX_POLL_SECONDS,
        on_poll: Optional[Callable[[Batch], object]] = None,
    ) -> Batch:
        """Poll until the batch ends; return it ended.

        Pauses start at ``poll`` seconds and grow by half each time up to ``max_poll``.
        ``deadline`` is the most seconds to wait (None: no limit): once passed,
        ``DeadlineExceeded`` is raised with the last ``Batch`` seen as ``.partial``. The
        deadline is checked between polls; each poll is bounded by the client's timeouts.
        ``on_poll(batch)`` is called after each poll that found the batch still running.
        """
        batch_id = batch_id_of(batch)
        for name, value in (("poll", poll), ("max_poll", max_poll)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ConfigError(f"wait() {name} must be a number of seconds > 0, got {value!r}")
        if deadline is not None and (
            isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or not deadline >= 0
        ):
            raise ConfigError(f"wait() deadline must be a number of seconds >= 0 or None, got {deadline!r}")
        end = None if deadline is None else time.monotonic() + deadline
        pause = float(poll)
        while True:
            current = self.api.retrieve(batch_id)
            if current.ended:
                return current
            if on_poll is not None:
                on_poll(current)
            now = time.monotonic()
            if end is not None and now >= end:
                error = DeadlineExceeded(
                    f"batch {batch_id} is still {current.status} after waiting {deadline:g} s", attempts=1
                )
                error.partial = current
                raise error
            self.sleep(pause if end is None else min(pause, end - now))
            pause = min(pause * POLL_BACKOFF, float(max_poll))

    def results(self, batch: Union[str, Batch]) -> Iterator[BatchResult]:
        """Every item's ``BatchResult``, in the provider's order, read as it downloads.

        Match them to requests by ``custom_id``. Raises ``BatchNotEndedError`` for a batch
        still running and ``BatchError`` for a batch that failed as a whole. Stop early
        (break, or close the iterator) and the download is dropped.
        """
        batch_id = batch_id_of(batch)
        current = batch if isinstance(batch, Batch) and batch.ended else self.api.retrieve(batch_id)
        if not current.ended:
            raise BatchNotEndedError(
                f"batch {batch_id} is still {current.status}; wait() for it to end first",
                batch_id=batch_id,
            )
        return self._scrubbed(self.api.results(current))

    def _scrubbed(self, results: Iterator[BatchResult]) -> Iterator[BatchResult]:
        """``results``, each item's error (and an error ending them) cleaned of the
        credentials a line might echo."""
        secrets: Optional[tuple[str, ...]] = None

        def cleaned(error: RelayError) -> RelayError:
            nonlocal secrets
            if secrets is None:  # worked out once, and only when something failed
                secrets = self.client.session.secrets_for(self.api.request("GET", "/"))
            return scrub(error, secrets)

        try:
            try:
                for result in results:
                    if result.error is not None:
                        cleaned(result.error)
                    yield result
            except RelayError as exc:
                raise cleaned(exc) from None
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()  # drops the download at once when the caller stops early

    def cancel(self, batch: Union[str, Batch]) -> Batch:
        """Ask the provider to cancel the batch; items not yet run end as ``BatchCanceledError``."""
        return self.api.cancel(batch_id_of(batch))

    def list(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[Batch]:
        """Every batch of the account, newest first, fetched a page at a time."""
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 100:
            raise ConfigError(f"list() page_size must be a whole number from 1 to 100, got {page_size!r}")
        return self._pages(page_size)

    def _pages(self, page_size: int) -> Iterator[Batch]:
        after: Optional[str] = None
        seen: set[str] = set()
        listed = 0
        while True:
            page, after = self.api.list_page(after, page_size)
            listed += len(page)
            yield from page
            if after is None:
                return
            if after in seen:  # a server repeating a cursor would otherwise page forever
                raise ResponseError(
                    f"the batch list pages back to cursor {after!r}; stopped after {listed} batches"
                )
            seen.add(after)
