"""Batch APIs, sans-I/O: input lines, multipart bytes, batch objects and every result shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

import relay_lite
from relay_lite import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    OverloadedError,
    RateLimitError,
    ResponseError,
    ServerError,
    StreamError,
)
from relay_lite._batch import BatchCanceledError, BatchExpiredError, iter_json_lines
from relay_lite._batch_anthropic import read_batch as read_anthropic_batch
from relay_lite._batch_anthropic import read_result_line as read_anthropic_line
from relay_lite._batch_openai import jsonl_line
from relay_lite._batch_openai import read_batch as read_openai_batch
from relay_lite._batch_openai import read_result_line as read_openai_line
from relay_lite._multipart import FilePart, encode_multipart

OPENAI = relay_lite.Client.openai(api_key="sk-test-wire", model="gpt-4o-mini")
ANTHROPIC = relay_lite.Client.anthropic(api_key="sk-ant-wire", model="claude-3-5-haiku-latest")


def lines(text: str) -> list[Any]:
    return [json.loads(line) for line in text.strip().split("\n")]


# -- input ------------------------------------------------------------------------------------------


def test_openai_input_line_wraps_the_exact_body_send_would_send() -> None:
    request = OPENAI.chat().user("Hi").max_tokens(5)
    body = OPENAI.adapter.chat_call(request.params, stream=False).body
    assert jsonl_line("req-1", body) == (
        b'{"custom_id":"req-1","method":"POST","url":"/v1/chat/completions",'
        b'"body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}],'
        b'"max_completion_tokens":5}}\n'
    )


def test_openai_input_line_keeps_non_ascii_text_as_utf8() -> None:
    assert jsonl_line("é", {"m": "ü"}) == (
        '{"custom_id":"é","method":"POST","url":"/v1/chat/completions","body":{"m":"ü"}}\n'.encode()
    )


def test_multipart_body_is_exactly_rfc7578() -> None:
    content_type, body = encode_multipart(
        {"purpose": "batch"}, [FilePart("file", "batch.jsonl", b'{"a":1}\n')], boundary="relay-b0undary"
    )
    assert content_type == "multipart/form-data; boundary=relay-b0undary"
    assert body == (
        b"--relay-b0undary\r\n"
        b'Content-Disposition: form-data; name="purpose"\r\n'
        b"\r\n"
        b"batch\r\n"
        b"--relay-b0undary\r\n"
        b'Content-Disposition: form-data; name="file"; filename="batch.jsonl"\r\n'
        b"Content-Type: application/octet-stream\r\n"
        b"\r\n"
        b'{"a":1}\n\r\n'
        b"--relay-b0undary--\r\n"
    )


def test_multipart_percent_encodes_quotes_and_line_breaks_in_names() -> None:
    _, body = encode_multipart({}, [FilePart('f"x', 'a"b\r\nc.jsonl', b"")], boundary="b")
    assert b'name="f%22x"; filename="a%22b%0D%0Ac.jsonl"\r\n' in body


def test_multipart_refuses_a_given_boundary_found_in_the_data() -> None:
    with pytest.raises(ConfigError, match="boundary 'xyz' occurs inside the data"):
        encode_multipart({}, [FilePart("file", "f", b"...--xyz...")], boundary="xyz")


def test_multipart_refuses_a_boundary_rfc2046_forbids() -> None:
    with pytest.raises(ConfigError, match="not 1-70 characters"):
        encode_multipart({}, [], boundary="bad\nboundary")


def test_multipart_draws_a_fresh_random_boundary_each_time() -> None:
    first, _ = encode_multipart({"purpose": "batch"}, [])
    second, _ = encode_multipart({"purpose": "batch"}, [])
    assert first.startswith("multipart/form-data; boundary=") and first != second


# -- JSON Lines -------------------------------------------------------------------------------------


def test_json_lines_split_across_chunks_with_crlf_and_no_final_newline() -> None:
    chunks = [b'{"a":', b'1}\r\n\r\n{"b"', b':"\xc3', b'\xa9"}']
    assert list(iter_json_lines(chunks)) == [{"a": 1}, {"b": "é"}]


def test_json_lines_name_a_broken_line() -> None:
    with pytest.raises(StreamError, match="invalid JSON line"):
        list(iter_json_lines([b'{"a":1}\n{"b":\n']))


# -- OpenAI batch objects and result lines -------------------------------------------------------------

# A batch object as OpenAI's API reference shows it while it is cancelling.
OPENAI_CANCELLING = """{
  "id": "batch_abc123",
  "object": "batch",
  "endpoint": "/v1/chat/completions",
  "errors": null,
  "input_file_id": "file-abc123",
  "completion_window": "24h",
  "status": "cancelling",
  "output_file_id": null,
  "error_file_id": null,
  "created_at": 1711471533,
  "in_progress_at": 1711471538,
  "expires_at": 1711557933,
  "finalizing_at": null,
  "completed_at": null,
  "failed_at": null,
  "expired_at": null,
  "cancelling_at": 1711475133,
  "cancelled_at": null,
  "request_counts": {"total": 100, "completed": 23, "failed": 1},
  "metadata": {"customer_id": "user_123456789", "batch_description": "Nightly eval job"}
}"""


def test_openai_batch_object_in_progress_counts_what_is_left() -> None:
    batch = read_openai_batch(json.loads(OPENAI_CANCELLING))
    assert (batch.id, batch.provider, batch.status, batch.ended) == (
        "batch_abc123",
        "openai",
        "cancelling",
        False,
    )
    assert batch.counts == relay_lite.BatchCounts(total=100, processing=76, succeeded=23, failed=1)
    assert batch.input_file_id == "file-abc123" and batch.output_file_id is None
    assert batch.metadata == {"customer_id": "user_123456789", "batch_description": "Nightly eval job"}


def test_openai_failed_batch_lists_its_validation_errors() -> None:
    payload = json.loads(OPENAI_CANCELLING)
    payload["status"] = "failed"
    payload["errors"] = {
        "object": "list",
        "data": [
            {"code": "invalid_json_line", "message": "This line is not parseable as valid JSON.", "line": 3}
        ],
    }
    batch = read_openai_batch(payload)
    assert batch.ended is True
    assert batch.errors == ("invalid_json_line (line 3): This line is not parseable as valid JSON.",)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "batch object is not a JSON object"),
        ({"status": "completed"}, "batch object has no id"),
        ({"id": "batch_1"}, "batch batch_1 has no status"),
        ({"id": "batch_1", "status": "completed", "output_file_id": 5}, "output_file_id is not a string"),
    ],
)
def test_openai_batch_object_of_the_wrong_shape_is_a_response_error(payload: Any, message: str) -> None:
    with pytest.raises(ResponseError, match=message):
        read_openai_batch(payload)


# Two lines of an output file as OpenAI's batch guide shows them (one line per item,
# no particular order, "error": null beside a response).
OPENAI_OUTPUT = """\
{"id": "batch_req_123", "custom_id": "request-2", "response": {"status_code": 200, "request_id": "req_123", "body": {"id": "chatcmpl-123", "object": "chat.completion", "created": 1711652795, "model": "gpt-3.5-turbo-0125", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello."}, "logprobs": null, "finish_reason": "stop"}], "usage": {"prompt_tokens": 22, "completion_tokens": 2, "total_tokens": 24}, "system_fingerprint": "fp_123"}}, "error": null}
{"id": "batch_req_456", "custom_id": "request-1", "response": {"status_code": 200, "request_id": "req_789", "body": {"id": "chatcmpl-abc", "object": "chat.completion", "created": 1711652789, "model": "gpt-3.5-turbo-0125", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello! How can I assist you today?"}, "logprobs": null, "finish_reason": "stop"}], "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}, "system_fingerprint": "fp_3ba"}}, "error": null}
"""  # noqa: E501


def test_openai_output_lines_become_chat_responses_under_their_custom_ids() -> None:
    results = [read_openai_line(OPENAI.adapter, line, "batch_1") for line in lines(OPENAI_OUTPUT)]
    assert [r.custom_id for r in results] == ["request-2", "request-1"]
    first = results[0].response
    assert first is not None and results[0].error is None and results[0].ok
    assert (first.text, first.finish_reason, first.model, first.id) == (
        "Hello.",
        "stop",
        "gpt-3.5-turbo-0125",
        "chatcmpl-123",
    )
    assert (first.usage.input_tokens, first.usage.output_tokens, first.request_id) == (22, 2, "req_123")
    assert (
        results[1].response is not None and results[1].response.text == "Hello! How can I assist you today?"
    )


@pytest.mark.parametrize(
    ("status", "kind", "code", "error_class"),
    [
        (400, "invalid_request_error", "context_length_exceeded", BadRequestError),
        (401, "invalid_request_error", "invalid_api_key", AuthenticationError),
        (429, "tokens", "rate_limit_exceeded", RateLimitError),
        (500, "server_error", None, ServerError),
    ],
)
def test_openai_error_file_line_becomes_the_matching_api_error(
    status: int, kind: str, code: Any, error_class: type
) -> None:
    # An error-file line: the request ran and got an error status with OpenAI's error body.
    line = {
        "id": "batch_req_9",
        "custom_id": "request-9",
        "response": {
            "status_code": status,
            "request_id": "req_err9",
            "body": {"error": {"message": "It went wrong.", "type": kind, "param": None, "code": code}},
        },
        "error": None,
    }
    result = read_openai_line(OPENAI.adapter, line)
    assert result.response is None and not result.ok
    assert type(result.error) is error_class
    assert (result.error.status, result.error.message, result.error.request_id) == (
        status,
        "It went wrong.",
        "req_err9",
    )


def test_openai_expired_line_is_a_batch_expired_error() -> None:
    # What OpenAI writes to the error file for a request the 24h window did not reach.
    line = json.loads(
        '{"id": "batch_req_5", "custom_id": "request-5", "response": null, '
        '"error": {"code": "batch_expired", "message": "This request could not be executed before the '
        'completion window expired."}}'
    )
    result = read_openai_line(OPENAI.adapter, line, "batch_7")
    assert type(result.error) is BatchExpiredError
    assert (result.error.custom_id, result.error.batch_id) == ("request-5", "batch_7")
    assert result.error.message == "This request could not be executed before the completion window expired."


def test_openai_cancelled_line_is_a_batch_canceled_error() -> None:
    line = {"custom_id": "r", "response": None, "error": {"code": "batch_cancelled", "message": "cancelled"}}
    assert type(read_openai_line(OPENAI.adapter, line).error) is BatchCanceledError


def test_openai_line_with_an_unknown_error_code_is_an_api_error_naming_it() -> None:
    line = {"custom_id": "r", "response": None, "error": {"code": "weird_code", "message": "odd"}}
    error = read_openai_line(OPENAI.adapter, line).error
    assert isinstance(error, relay_lite.APIError) and (error.code, error.message) == ("weird_code", "odd")


def test_openai_line_with_an_unreadable_body_is_that_items_response_error() -> None:
    line = {"custom_id": "r", "response": {"status_code": 200, "request_id": "x", "body": {"choices": 7}}}
    result = read_openai_line(OPENAI.adapter, line)
    assert result.custom_id == "r" and isinstance(result.error, relay_lite.RelayError)
    assert result.response is None


def test_openai_line_without_status_or_error_is_that_items_response_error() -> None:
    assert isinstance(
        read_openai_line(OPENAI.adapter, {"custom_id": "r", "response": {}}).error, ResponseError
    )
    assert isinstance(read_openai_line(OPENAI.adapter, {"custom_id": "r"}).error, ResponseError)


def test_openai_line_without_a_custom_id_is_an_error_result_without_an_id() -> None:
    result = read_openai_line(OPENAI.adapter, {"custom_id": 5, "response": None, "error": None})
    assert result.custom_id is None and result.response is None and type(result.error) is ResponseError
    assert result.error.message == "batch result line has no custom_id"
    assert result.error.body == '{"custom_id": 5, "response": null, "error": null}'


# -- Anthropic batch objects and result lines ----------------------------------------------------------

# A message batch as Anthropic's API reference shows it once processing ended.
ANTHROPIC_ENDED = """{
  "id": "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF",
  "type": "message_batch",
  "processing_status": "ended",
  "request_counts": {"processing": 0, "succeeded": 95, "errored": 2, "canceled": 1, "expired": 2},
  "ended_at": "2024-08-20T18:37:24.100435Z",
  "created_at": "2024-08-20T18:37:24.100435Z",
  "expires_at": "2024-08-20T18:37:24.100435Z",
  "archived_at": null,
  "cancel_initiated_at": null,
  "results_url": "https://api.anthropic.com/v1/messages/batches/msgbatch_013Zva2CMHLNnXjNJJKqJ2EF/results"
}"""


def test_anthropic_batch_object_counts_all_five_states() -> None:
    batch = read_anthropic_batch(json.loads(ANTHROPIC_ENDED))
    assert (batch.status, batch.ended, batch.created_at) == ("ended", True, "2024-08-20T18:37:24.100435Z")
    assert batch.counts == relay_lite.BatchCounts(
        total=100, processing=0, succeeded=95, failed=2, canceled=1, expired=2
    )
    assert batch.results_url == (
        "https://api.anthropic.com/v1/messages/batches/msgbatch_013Zva2CMHLNnXjNJJKqJ2EF/results"
    )


def test_anthropic_batch_still_processing_is_not_ended() -> None:
    payload = json.loads(ANTHROPIC_ENDED)
    payload.update(processing_status="canceling", results_url=None)
    batch = read_anthropic_batch(payload)
    assert (batch.status, batch.ended, batch.results_url) == ("canceling", False, None)


def test_anthropic_batch_without_processing_status_is_a_response_error() -> None:
    with pytest.raises(ResponseError, match="has no processing_status"):
        read_anthropic_batch({"id": "msgbatch_1", "type": "message_batch"})


# Results lines as Anthropic's batch guide shows them: compact JSON, one per line, any order.
ANTHROPIC_RESULTS = (
    '{"custom_id":"my-second-request","result":{"type":"succeeded","message":{"id":"msg_014VwiXbi91y3JMjcpyGBHX5",'
    '"type":"message","role":"assistant","model":"claude-3-5-sonnet-20240620","content":[{"type":"text",'
    '"text":"Hello again! How can I help?"}],"stop_reason":"end_turn","stop_sequence":null,'
    '"usage":{"input_tokens":11,"output_tokens":36}}}}\n'
    '{"custom_id":"my-first-request","result":{"type":"errored","error":{"type":"error","error":'
    '{"type":"invalid_request_error","message":"max_tokens: Field required"},"request_id":"req_011"}}}\n'
    '{"custom_id":"my-third-request","result":{"type":"canceled"}}\n'
    '{"custom_id":"my-fourth-request","result":{"type":"expired"}}'  # the file's last line may lack "\n"
)


def test_anthropic_results_map_every_result_type() -> None:
    results = [
        read_anthropic_line(ANTHROPIC.adapter, line, "msgbatch_1")
        for line in iter_json_lines([ANTHROPIC_RESULTS.encode()])
    ]
    assert [r.custom_id for r in results] == [
        "my-second-request",
        "my-first-request",
        "my-third-request",
        "my-fourth-request",
    ]
    reply = results[0].response
    assert reply is not None and (reply.text, reply.finish_reason, reply.usage.output_tokens) == (
        "Hello again! How can I help?",
        "stop",
        36,
    )
    errored = results[1].error
    assert type(errored) is BadRequestError
    assert (errored.message, errored.code, errored.request_id) == (
        "max_tokens: Field required",
        "invalid_request_error",
        "req_011",
    )
    assert type(results[2].error) is BatchCanceledError and results[2].error.custom_id == "my-third-request"
    assert type(results[3].error) is BatchExpiredError and results[3].error.batch_id == "msgbatch_1"


@pytest.mark.parametrize(
    ("kind", "error_class"),
    [("overloaded_error", OverloadedError), ("api_error", ServerError), ("rate_limit_error", RateLimitError)],
)
def test_anthropic_errored_result_follows_the_error_type(kind: str, error_class: type) -> None:
    line = {
        "custom_id": "a",
        "result": {"type": "errored", "error": {"type": "error", "error": {"type": kind}}},
    }
    assert type(read_anthropic_line(ANTHROPIC.adapter, line).error) is error_class


def test_anthropic_unknown_result_type_is_that_items_response_error() -> None:
    result = read_anthropic_line(ANTHROPIC.adapter, {"custom_id": "a", "result": {"type": "paused"}})
    assert (
        isinstance(result.error, ResponseError) and result.error.message == "a: unknown result type 'paused'"
    )


def test_anthropic_line_without_a_custom_id_is_an_error_result_without_an_id() -> None:
    result = read_anthropic_line(ANTHROPIC.adapter, {"result": {"type": "expired"}})
    assert result.custom_id is None and type(result.error) is ResponseError
    assert result.error.message == "batch result line has no custom_id"
    assert result.error.body == '{"result": {"type": "expired"}}'


# -- review fixes: multipart pieces and quoted boundaries ----------------------------------------------


def test_multipart_file_given_as_pieces_is_the_same_body_as_its_joined_bytes() -> None:
    pieces = [b'{"a":1}\n', b'{"b":2}\n', b""]
    joined = encode_multipart(
        {"purpose": "batch"}, [FilePart("file", "f.jsonl", b"".join(pieces))], boundary="q"
    )
    split = encode_multipart({"purpose": "batch"}, [FilePart("file", "f.jsonl", pieces)], boundary="q")
    assert split == joined


def test_multipart_finds_a_boundary_straddling_two_pieces() -> None:
    with pytest.raises(ConfigError, match="boundary 'xyz' occurs inside the data"):
        encode_multipart({}, [FilePart("file", "f", [b"...-", b"-xy", b"z..."])], boundary="xyz")


def test_multipart_piece_that_is_not_bytes_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="file part 'file' holds str, not bytes"):
        encode_multipart({}, [FilePart("file", "f", [b"ok", "text"])], boundary="b")  # type: ignore[list-item]


def test_multipart_boundary_outside_the_token_characters_is_quoted() -> None:
    # RFC 2045: a parameter value that is not a token must be a quoted string.
    assert encode_multipart({}, [], boundary="a b")[0] == 'multipart/form-data; boundary="a b"'
    assert encode_multipart({}, [], boundary="x:y=z?")[0] == 'multipart/form-data; boundary="x:y=z?"'
    assert encode_multipart({}, [], boundary="A-z_0.9'+")[0] == "multipart/form-data; boundary=A-z_0.9'+"


def test_multipart_with_a_quoted_boundary_reads_back_with_the_stdlib_parser() -> None:
    import email.parser
    import email.policy

    content_type, body = encode_multipart(
        {"purpose": "batch"}, [FilePart("file", "b.jsonl", [b'{"a":1}\n', b'{"b":2}\n'])], boundary="one two"
    )
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    parts = [
        (p.get_param("name", header="content-disposition"), p.get_payload(decode=True))
        for p in message.iter_parts()
    ]
    assert parts == [("purpose", b"batch"), ("file", b'{"a":1}\n{"b":2}\n')]


# -- review fixes: sans-I/O page readers --------------------------------------------------------------------


def test_batch_list_pages_are_read_by_the_protocol_page_readers() -> None:
    from relay_lite._batch_anthropic import read_page as read_anthropic_page
    from relay_lite._batch_openai import read_page as read_openai_page

    page = {"data": [{"id": "batch_1", "status": "completed"}], "has_more": True, "last_id": "batch_1"}
    batches, cursor = read_openai_page(page)
    assert ([b.id for b in batches], cursor) == (["batch_1"], "batch_1")
    with pytest.raises(ResponseError, match="message batch list has no data array"):
        read_anthropic_page({"data": None})
