"""OpenAI's Batch API for chat completions.

Wire facts (openai-python ``resources/batches.py``, ``resources/files.py``, ``types/batch.py``):

- Input: a JSON Lines file, one request a line: ``{"custom_id", "method": "POST", "url":
  "/v1/chat/completions", "body"}``, uploaded with ``POST /files`` as
  ``multipart/form-data`` with the fields ``purpose=batch`` and ``file``.
- ``POST /batches`` with ``input_file_id``, ``endpoint`` ("/v1/chat/completions"),
  ``completion_window`` ("24h") and optional ``metadata``; ``GET /batches/{id}``;
  ``POST /batches/{id}/cancel``; ``GET /batches?after=&limit=`` (a cursor page: ``data``,
  ``has_more``, ``last_id``).
- A batch's ``status``: validating, in_progress, finalizing, completed, failed,
  expired, cancelling, cancelled; ``request_counts`` {total, completed, failed};
  ``output_file_id`` and ``error_file_id`` once it ends; ``errors.data`` for a batch
  that failed validation.
- ``GET /files/{id}/content`` gives a result file, one line per item: ``{"id",
  "custom_id", "response": {"status_code", "request_id", "body"}, "error"}``. A request
  never run has ``response`` null and ``error`` {"code": "batch_expired" (or
  "batch_cancelled"), "message"}.

A cancelled batch lists only the items that ran; the rest are found by reading the input
file again, and reported as ``BatchCanceledError``. A completed or expired batch should
list every item in one of its two files; when the files name fewer items than
``request_counts.total`` (or the total is not given), the input file is read too, and each
item found in neither file is reported as a ``BatchError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, Mapping, Optional, Sequence
from urllib.parse import quote, urlencode

from ._batch import (
    Batch,
    BatchAPI,
    BatchCanceledError,
    BatchCounts,
    BatchError,
    BatchExpiredError,
    BatchResult,
    line_custom_id,
    missing_results,
    nameless_line,
    read_item,
    unreadable,
)
from ._errors import ConfigError, RelayError
from ._multipart import FilePart, encode_multipart
from ._transport import encode_json_body
from .protocols._fields import count

if TYPE_CHECKING:
    from .protocols._adapter import Adapter

__all__ = [
    "OpenAIBatchAPI",
    "jsonl_line",
    "read_batch",
    "read_page",
    "read_result_line",
    "read_uploaded_file_id",
]

#: The endpoint every line of a chat batch calls (the Batch API wants the /v1 form).
CHAT_ENDPOINT = "/v1/chat/completions"
COMPLETION_WINDOW = "24h"
#: Statuses after which nothing changes any more.
TERMINAL_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})
UPLOAD_FILENAME = "batch.jsonl"


def jsonl_line(custom_id: str, body: Any) -> bytes:
    """One input line: the chat ``body`` under ``custom_id``, newline-terminated."""
    line = {"custom_id": custom_id, "method": "POST", "url": CHAT_ENDPOINT, "body": body}
    return encode_json_body(line) + b"\n"


def _string(value: Any, where: str, line: Any) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    raise unreadable(f"{where} is not a string", line)


def read_batch(payload: Any) -> Batch:
    """A ``Batch`` from a batch object (``ResponseError`` naming a field of the wrong shape)."""
    if not isinstance(payload, Mapping):
        raise unreadable("batch object is not a JSON object", payload)
    batch_id = payload.get("id")
    status = payload.get("status")
    if not isinstance(batch_id, str) or not batch_id:
        raise unreadable("batch object has no id", payload)
    if not isinstance(status, str):
        raise unreadable(f"batch {batch_id} has no status", payload)
    counts = payload.get("request_counts")
    if not isinstance(counts, Mapping):
        counts = {}
    total = count(counts.get("total")) or 0
    succeeded, failed = count(counts.get("completed")), count(counts.get("failed"))
    processing = None
    if succeeded is not None and failed is not None and status not in TERMINAL_STATUSES:
        processing = max(0, total - succeeded - failed)
    errors: list[str] = []
    listed = payload.get("errors")
    data = listed.get("data") if isinstance(listed, Mapping) else None
    for entry in data if isinstance(data, list) else []:
        if isinstance(entry, Mapping):
            where = f" (line {entry['line']})" if isinstance(entry.get("line"), int) else ""
            errors.append(f"{entry.get('code') or 'error'}{where}: {entry.get('message') or ''}".rstrip(": "))
    metadata = payload.get("metadata")
    return Batch(
        id=batch_id,
        provider="openai",
        status=status,
        ended=status in TERMINAL_STATUSES,
        counts=BatchCounts(total=total, processing=processing, succeeded=succeeded, failed=failed),
        created_at=payload.get("created_at"),
        input_file_id=_string(payload.get("input_file_id"), "input_file_id", payload),
        output_file_id=_string(payload.get("output_file_id"), "output_file_id", payload),
        error_file_id=_string(payload.get("error_file_id"), "error_file_id", payload),
        metadata=metadata if isinstance(metadata, Mapping) else None,
        errors=tuple(errors),
        raw=payload,
    )


def read_page(page: Any) -> tuple[list[Batch], Optional[str]]:
    """A ``GET /batches`` page: its batches and the cursor of the next page (None: last)."""
    data = page.get("data") if isinstance(page, Mapping) else None
    if not isinstance(data, list):
        raise unreadable("batch list has no data array", page)
    batches = [read_batch(entry) for entry in data]
    more = page.get("has_more") is True and bool(batches)
    last = page.get("last_id") if isinstance(page.get("last_id"), str) else None
    return batches, ((last or batches[-1].id) if more else None)


def read_uploaded_file_id(uploaded: Any) -> str:
    """The id of the file object ``POST /files`` answers with."""
    file_id = uploaded.get("id") if isinstance(uploaded, Mapping) else None
    if not isinstance(file_id, str) or not file_id:
        raise unreadable("the uploaded file object has no id", uploaded)
    return file_id


def read_result_line(adapter: Adapter, line: Any, batch_id: Optional[str] = None) -> BatchResult:
    """One line of an output or error file as a ``BatchResult`` (``adapter``: OpenAI's).

    A 2xx response is parsed by ``adapter.parse_chat``; another status becomes the
    ``APIError`` its body maps to; ``batch_expired``/``batch_cancelled`` become
    ``BatchExpiredError``/``BatchCanceledError``. A line without a ``custom_id`` gives a
    result with ``custom_id`` None and a ``ResponseError`` quoting the line; any other odd
    shape is the item's error.
    """
    custom_id = line_custom_id(line)
    if custom_id is None:
        return nameless_line(line)
    response = line.get("response")
    error = line.get("error")
    if isinstance(response, Mapping):
        status = response.get("status_code")
        body = response.get("body")
        request_id = response.get("request_id") if isinstance(response.get("request_id"), str) else None
        if not isinstance(status, int) or isinstance(status, bool):
            return BatchResult(
                custom_id, error=unreadable(f"{custom_id}: response.status_code is missing", line)
            )
        if 200 <= status < 300:
            return read_item(custom_id, lambda: adapter.parse_chat(body, request_id=request_id))
        headers = {adapter.response_id_headers[0]: request_id} if request_id else {}
        return BatchResult(custom_id, error=adapter.map_error(status, body, headers))
    if isinstance(error, Mapping):
        code = error.get("code")
        message = str(error.get("message") or code or "the request failed")
        if code == "batch_expired":
            return BatchResult(
                custom_id, error=BatchExpiredError(message, batch_id=batch_id, custom_id=custom_id)
            )
        if code == "batch_cancelled":
            return BatchResult(
                custom_id, error=BatchCanceledError(message, batch_id=batch_id, custom_id=custom_id)
            )
        return BatchResult(custom_id, error=adapter.map_error(None, {"error": dict(error)}))
    return BatchResult(custom_id, error=unreadable(f"{custom_id}: line has neither response nor error", line))


class OpenAIBatchAPI(BatchAPI):
    """``/files`` and ``/batches`` below the client's base URL."""

    display_name = "OpenAI Batch API"

    def create(self, items: Sequence[tuple[str, Any]], metadata: Optional[Mapping[str, str]]) -> Batch:
        # The lines go into the body as pieces, joined once: the JSONL is never a value of
        # its own beside the body.
        lines = [jsonl_line(custom_id, body) for custom_id, body in items]
        content_type, body = encode_multipart(
            {"purpose": "batch"}, [FilePart("file", UPLOAD_FILENAME, lines)]
        )
        del lines
        file_id = self.call_json(
            "POST", "/files", read=read_uploaded_file_id, data=body, headers={"Content-Type": content_type}
        )
        del body
        create: dict[str, Any] = {
            "input_file_id": file_id,
            "endpoint": CHAT_ENDPOINT,
            "completion_window": COMPLETION_WINDOW,
        }
        if metadata is not None:
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
                raise ConfigError("batch metadata maps strings to strings")
            create["metadata"] = dict(metadata)
        batch: Batch = self.call_json("POST", "/batches", read=read_batch, json=create)
        return batch

    def retrieve(self, batch_id: str) -> Batch:
        batch: Batch = self.call_json("GET", f"/batches/{quote(batch_id, safe='')}", read=read_batch)
        return batch

    def cancel(self, batch_id: str) -> Batch:
        batch: Batch = self.call_json("POST", f"/batches/{quote(batch_id, safe='')}/cancel", read=read_batch)
        return batch

    def list_page(self, after: Optional[str], limit: int) -> tuple[list[Batch], Optional[str]]:
        query = {"limit": str(limit)}
        if after is not None:
            query["after"] = after
        page: tuple[list[Batch], Optional[str]] = self.call_json(
            "GET", f"/batches?{urlencode(query)}", read=read_page
        )
        return page

    def _file_lines(self, file_id: str) -> Iterator[Any]:
        return self.stream_lines(f"/files/{quote(file_id, safe='')}/content", accept="application/binary")

    def results(self, batch: Batch) -> Iterator[BatchResult]:
        if batch.status == "failed":
            reasons = "; ".join(batch.errors) or "no reason given"
            raise BatchError(f"batch {batch.id} failed: {reasons}", batch_id=batch.id)
        return self._results(batch)

    def _results(self, batch: Batch) -> Iterator[BatchResult]:
        # The ids seen, to find the items in neither file (one short string per item).
        seen: set[str] = set()
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            for line in self._file_lines(file_id):
                result = read_result_line(self.adapter, line, batch.id)
                if result.custom_id is not None:
                    seen.add(result.custom_id)
                yield result
        cancelled = batch.status == "cancelled"
        total = batch.counts.total
        if not cancelled and total and len(seen) >= total:
            return  # every item counted is accounted for: no need to read the input again
        if not batch.input_file_id:
            yield from missing_results(batch, len(seen))
            return
        for line in self._file_lines(batch.input_file_id):
            custom_id = line_custom_id(line)
            if custom_id is None:
                raise unreadable(f"a line of input file {batch.input_file_id} has no custom_id", line)
            if custom_id in seen:
                continue
            error: RelayError
            if cancelled:
                message = f"batch {batch.id} was cancelled before this request ran"
                error = BatchCanceledError(message, batch_id=batch.id, custom_id=custom_id)
            else:
                message = f"batch {batch.id} is {batch.status} but gave this request no result in any file"
                error = BatchError(message, batch_id=batch.id, custom_id=custom_id)
            yield BatchResult(custom_id, error=error)
