"""Anthropic's Message Batches.

Wire facts (anthropic-sdk-python ``resources/messages/batches.py``, ``types/messages/``):

- ``POST /v1/messages/batches`` with ``{"requests": [{"custom_id", "params"}]}``, where
  ``params`` is a Messages request body; a ``custom_id`` is 1 to 64 characters of
  letters, digits, ``_`` and ``-``, unique in the batch.
- A ``message_batch``: ``id``, ``processing_status`` (in_progress, canceling, ended),
  ``request_counts`` {processing, succeeded, errored, canceled, expired} (the last four
  are zero until the batch ends), ``results_url`` once it ends, RFC 3339 timestamps.
- ``GET /v1/messages/batches/{id}``, ``POST /v1/messages/batches/{id}/cancel``,
  ``GET /v1/messages/batches?limit=&after_id=`` (``data``, ``has_more``, ``last_id``).
- ``results_url`` serves JSON Lines, in no particular order: ``{"custom_id", "result":
  {"type": "succeeded", "message"} | {"type": "errored", "error": {"type": "error",
  "error": {"type", "message"}}} | {"type": "canceled"} | {"type": "expired"}}``.

The results are fetched from ``results_url`` only when it lies below the configured base
URL: credentials are never sent to another host. Otherwise the documented path
``/v1/messages/batches/{id}/results`` below the base URL is read. When the results name
fewer items than ``request_counts`` adds up to, one ``BatchError`` result (``custom_id``
None) says how many are missing: Anthropic keeps no input file to name them from.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Optional, Sequence
from urllib.parse import quote, urlencode

from ._batch import (
    Batch,
    BatchAPI,
    BatchCanceledError,
    BatchCounts,
    BatchExpiredError,
    BatchResult,
    line_custom_id,
    missing_results,
    nameless_line,
    read_item,
    unreadable,
)
from ._errors import ConfigError
from ._urls import split_query
from .protocols._fields import count

if TYPE_CHECKING:
    from .protocols._adapter import Adapter

__all__ = ["AnthropicBatchAPI", "read_batch", "read_page", "read_result_line"]

BATCHES_PATH = "/v1/messages/batches"
# The custom ids Anthropic accepts.
_CUSTOM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_COUNT_NAMES = ("processing", "succeeded", "errored", "canceled", "expired")


def read_batch(payload: Any) -> Batch:
    """A ``Batch`` from a ``message_batch`` object."""
    if not isinstance(payload, Mapping):
        raise unreadable("message batch is not a JSON object", payload)
    batch_id = payload.get("id")
    status = payload.get("processing_status")
    if not isinstance(batch_id, str) or not batch_id:
        raise unreadable("message batch has no id", payload)
    if not isinstance(status, str):
        raise unreadable(f"message batch {batch_id} has no processing_status", payload)
    counts = payload.get("request_counts")
    if not isinstance(counts, Mapping):
        counts = {}
    found = {name: count(counts.get(name)) for name in _COUNT_NAMES}
    results_url = payload.get("results_url")
    return Batch(
        id=batch_id,
        provider="anthropic",
        status=status,
        ended=status == "ended",
        counts=BatchCounts(
            total=sum(value or 0 for value in found.values()),
            processing=found["processing"],
            succeeded=found["succeeded"],
            failed=found["errored"],
            canceled=found["canceled"],
            expired=found["expired"],
        ),
        created_at=payload.get("created_at"),
        results_url=results_url if isinstance(results_url, str) else None,
        raw=payload,
    )


def read_page(page: Any) -> tuple[list[Batch], Optional[str]]:
    """A batch list page: its batches and the cursor of the next page (None: last)."""
    data = page.get("data") if isinstance(page, Mapping) else None
    if not isinstance(data, list):
        raise unreadable("message batch list has no data array", page)
    batches = [read_batch(entry) for entry in data]
    more = page.get("has_more") is True and bool(batches)
    last = page.get("last_id") if isinstance(page.get("last_id"), str) else None
    return batches, ((last or batches[-1].id) if more else None)


def read_result_line(adapter: Adapter, line: Any, batch_id: Optional[str] = None) -> BatchResult:
    """One results line as a ``BatchResult`` (``adapter``: Anthropic's).

    ``succeeded`` is parsed by ``adapter.parse_chat``, ``errored`` mapped by
    ``adapter.map_error`` (no HTTP status: the class follows the error type),
    ``canceled``/``expired`` become ``BatchCanceledError``/``BatchExpiredError``. A line
    without a ``custom_id`` gives a result with ``custom_id`` None and a ``ResponseError``
    quoting the line; another odd shape is the item's error.
    """
    custom_id = line_custom_id(line)
    if custom_id is None:
        return nameless_line(line)
    result = line.get("result")
    if not isinstance(result, Mapping):
        result = {}
    kind = result.get("type")
    if kind == "succeeded":
        message = result.get("message")
        return read_item(custom_id, lambda: adapter.parse_chat(message))
    if kind == "errored":
        body = result.get("error")
        error = adapter.map_error(None, body)
        # The error response carries its request id beside the error, not in a header.
        request_id = body.get("request_id") if isinstance(body, Mapping) else None
        if error.request_id is None and isinstance(request_id, str):
            error.request_id = request_id
        return BatchResult(custom_id, error=error)
    if kind == "canceled":
        text = f"batch {batch_id} was canceled before this request ran"
        return BatchResult(custom_id, error=BatchCanceledError(text, batch_id=batch_id, custom_id=custom_id))
    if kind == "expired":
        text = f"batch {batch_id} expired before this request ran"
        return BatchResult(custom_id, error=BatchExpiredError(text, batch_id=batch_id, custom_id=custom_id))
    return BatchResult(custom_id, error=unreadable(f"{custom_id}: unknown result type {kind!r}", line))


class AnthropicBatchAPI(BatchAPI):
    """``/v1/messages/batches`` below the client's base URL."""

    display_name = "Anthropic Message Batches"

    def check_custom_id(self, custom_id: str) -> None:
        if not _CUSTOM_ID.fullmatch(custom_id):
            raise ConfigError(f"Anthropic custom id {custom_id!r} must be 1-64 letters, digits, '_' or '-'")

    def create(self, items: Sequence[tuple[str, Any]], metadata: Optional[Mapping[str, str]]) -> Batch:
        if metadata is not None:
            raise ConfigError("Anthropic message batches take no metadata")
        requests = [{"custom_id": custom_id, "params": body} for custom_id, body in items]
        batch: Batch = self.call_json("POST", BATCHES_PATH, read=read_batch, json={"requests": requests})
        return batch

    def retrieve(self, batch_id: str) -> Batch:
        batch: Batch = self.call_json("GET", f"{BATCHES_PATH}/{quote(batch_id, safe='')}", read=read_batch)
        return batch

    def cancel(self, batch_id: str) -> Batch:
        path = f"{BATCHES_PATH}/{quote(batch_id, safe='')}/cancel"
        batch: Batch = self.call_json("POST", path, read=read_batch)
        return batch

    def list_page(self, after: Optional[str], limit: int) -> tuple[list[Batch], Optional[str]]:
        query = {"limit": str(limit)}
        if after is not None:
            query["after_id"] = after
        page: tuple[list[Batch], Optional[str]] = self.call_json(
            "GET", f"{BATCHES_PATH}?{urlencode(query)}", read=read_page
        )
        return page

    def results_path(self, batch: Batch) -> str:
        """Where to read the results: ``results_url`` if below the base URL, else the documented path."""
        base, _ = split_query(self.adapter.request_base_url(self.client.config.base_url))
        url = batch.results_url or ""
        if url.startswith(base + "/") and "?" not in url and "#" not in url:
            return url[len(base) :]
        return f"{BATCHES_PATH}/{quote(batch.id, safe='')}/results"

    def results(self, batch: Batch) -> Iterator[BatchResult]:
        return self._results(batch)

    def _results(self, batch: Batch) -> Iterator[BatchResult]:
        named = 0
        lines = self.stream_lines(self.results_path(batch), accept="application/binary")
        try:
            for line in lines:
                result = read_result_line(self.adapter, line, batch.id)
                named += result.custom_id is not None
                yield result
        finally:
            lines.close()  # the download is dropped when the caller stops early
        yield from missing_results(batch, named)
