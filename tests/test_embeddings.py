"""Embeddings: ``Client.embed`` over the adapter seam, the base64 float32 decoder, batching,
order, the float-list fallback, typed errors for bad shapes, and ``Provider.embed``."""

from __future__ import annotations

import base64
import json
import struct

import pytest
import urllib3

import relay_lite
from relay_lite import Client, ConfigError, ResponseError
from relay_lite._fake_operations import FAKE_EMBEDDING_DIMENSIONS, fake_embedding
from relay_lite._models import Usage
from relay_lite._resources import Embeddings
from relay_lite.compat import EmbeddingResult, Provider
from relay_lite.protocols._embeddings import decode_float32, embeddings_request, parse_embeddings
from relay_lite.testing import FakeServer, MockTransport, Reply

NO_RETRY = relay_lite.RetryPolicy(max_retries=0)


def b64_float32(*values: float) -> str:
    """The base64 of ``values`` as little-endian float32, as OpenAI encodes a vector."""
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode("ascii")


def as_float32(value: float) -> float:
    """``value`` rounded to float32 and back, as a base64 vector carries it."""
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def openai_body(*items: tuple[int, str], model: str = "text-embedding-3-small", tokens: int = 5) -> bytes:
    """An embeddings reply as api.openai.com sends it for encoding_format=base64: pretty-printed
    with two-space indents, no final newline."""
    item = '    {{\n      "object": "embedding",\n      "index": {},\n      "embedding": "{}"\n    }}'
    data = ",\n".join(item.format(index, vector) for index, vector in items)
    return (
        f'{{\n  "object": "list",\n  "data": [\n{data}\n  ],\n  "model": "{model}",\n'
        f'  "usage": {{\n    "prompt_tokens": {tokens},\n    "total_tokens": {tokens}\n  }}\n}}'
    ).encode()


def json_reply(body: bytes) -> Reply:
    return Reply(body=body, headers={"Content-Type": "application/json", "x-request-id": "req_emb"})


def mock_client(*replies: Reply, **options: object) -> tuple[Client, MockTransport]:
    transport = MockTransport()
    transport.add(*replies)
    client = Client.compatible(
        "http://mock/v1", model="text-embedding-3-small", transport=transport, **options
    )
    return client, transport


# -- the base64 float32 decoder (sans-I/O) ----------------------------------------------------


def test_base64_vector_decodes_to_its_exact_float32_values():
    assert decode_float32(b64_float32(0.5, -1.25, 3.0, 0.0), "e") == [0.5, -1.25, 3.0, 0.0]
    # 0.1 is not exact in float32: the decoded value is float32's 0.1, as OpenAI computed it.
    assert decode_float32(b64_float32(0.1), "e") == [0.10000000149011612]


def test_base64_vector_is_read_little_endian_on_a_big_endian_host():
    # A big-endian host's array('f') reads bytes big-endian; the decoder swaps them back.
    # Simulated here: big-endian bytes read natively (little-endian) then swapped as on such a host.
    swapped = base64.b64encode(struct.pack(">2f", 1.5, -2.0)).decode()
    assert decode_float32(swapped, "e", host_byteorder="big") == [1.5, -2.0]


def test_empty_base64_string_is_an_empty_vector():
    assert decode_float32("", "e") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not base64!", "data[0].embedding is not valid base64"),
        ("AAAAAAA=", "data[0].embedding decodes to 5 bytes, not a whole number of float32 values"),
    ],
)
def test_bad_base64_is_a_typed_error_naming_the_field(text, message):
    with pytest.raises(relay_lite.StreamError) as info:
        decode_float32(text, "data[0].embedding")
    assert info.value.message == message


# -- the request and the reply (sans-I/O) ------------------------------------------------------


def test_request_asks_for_base64_and_sends_dimensions_only_when_given():
    call = embeddings_request("m", ["a", "b"], dimensions=None)
    assert (call.method, call.path, call.body) == (
        "POST",
        "/embeddings",
        {"model": "m", "input": ["a", "b"], "encoding_format": "base64"},
    )
    assert embeddings_request("m", ("a",), dimensions=256).body["dimensions"] == 256


def test_vectors_come_back_in_input_order_whatever_the_index_order():
    body = {
        "data": [
            {"index": 2, "embedding": b64_float32(3.0, 3.5)},
            {"index": 0, "embedding": b64_float32(1.0, 1.5)},
            {"index": 1, "embedding": b64_float32(2.0, 2.5)},
        ],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 7, "total_tokens": 7},
    }
    result = parse_embeddings(body, 3)
    assert result.vectors == ([1.0, 1.5], [2.0, 2.5], [3.0, 3.5])
    assert (result.model, result.usage, result.requests) == ("text-embedding-3-small", Usage(7, None, 7), 1)


def test_a_float_list_reply_is_read_too_for_servers_that_ignore_encoding_format():
    # Ollama's /v1/embeddings answers float lists whatever encoding_format says.
    body = {
        "object": "list",
        "data": [{"object": "embedding", "embedding": [0.1, -2, 0.25], "index": 0}],
        "model": "all-minilm",
        "usage": {"prompt_tokens": 2, "total_tokens": 2},
    }
    assert parse_embeddings(body, 1).vectors == ([0.1, -2.0, 0.25],)


def test_a_missing_index_stands_for_the_position():
    # llama.cpp's older /embeddings sends no index; the order sent is the input order.
    result = parse_embeddings({"data": [{"embedding": [1.0]}, {"embedding": [2.0]}]}, 2)
    assert result.vectors == ([1.0], [2.0])
    assert result.usage == Usage()


@pytest.mark.parametrize(
    ("body", "expected", "message"),
    [
        ([], 1, "expected an embeddings list object, got an array"),
        ({"object": "list"}, 1, "the reply has no data array of embeddings"),
        ({"data": {"0": [1.0]}}, 1, "data is an object, expected an array"),
        ({"data": [{"embedding": [1.0]}]}, 2, "data holds 1 embeddings for 2 inputs"),
        ({"data": ["x"]}, 1, "data[0] is a string, expected an object"),
        (
            {"data": [{"index": -1, "embedding": [1.0]}]},
            1,
            "data[0].index is a number, expected a non-negative whole number",
        ),
        (
            {"data": [{"index": "0", "embedding": [1.0]}]},
            1,
            "data[0].index is a string, expected a non-negative whole number",
        ),
        ({"data": [{"index": 1, "embedding": [1.0]}]}, 1, "data[0].index is 1, but there are only 1 inputs"),
        (
            {"data": [{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [2.0]}]},
            2,
            "data[1].index 0 appears twice",
        ),
        (
            {"data": [{"index": 0}]},
            1,
            "data[0].embedding is missing or null, expected a base64 string or an array of numbers",
        ),
        (
            {"data": [{"index": 0, "embedding": 5}]},
            1,
            "data[0].embedding is a number, expected a base64 string or an array of numbers",
        ),
        (
            {"data": [{"index": 0, "embedding": [1.0, "2"]}]},
            1,
            "data[0].embedding[1] is a string, expected a number",
        ),
        (
            {"data": [{"index": 0, "embedding": [1.0, True]}]},
            1,
            "data[0].embedding[1] is a boolean, expected a number",
        ),
        (
            {"data": [{"index": 0, "embedding": [1.0, 2.0]}, {"index": 1, "embedding": [1.0]}]},
            2,
            "the embedding of input 1 has 1 values, but input 0 has 2",
        ),
        (
            {"data": [{"index": 0, "embedding": [1.0]}], "usage": [3]},
            1,
            "usage is an array, expected an object",
        ),
        ({"data": [{"index": 0, "embedding": [1.0]}], "model": 3}, 1, "model is a number, expected a string"),
    ],
)
def test_wrong_shapes_are_response_errors_naming_the_field(body, expected, message):
    with pytest.raises(ResponseError) as info:
        parse_embeddings(body, expected, request_id="req_1", attempts=2)
    assert info.value.message == message
    assert (info.value.request_id, info.value.attempts) == ("req_1", 2)


def test_vectors_not_of_the_dimensions_asked_for_are_an_error():
    # A server that ignores "dimensions" would otherwise hand back vectors of another size.
    with pytest.raises(ResponseError) as info:
        parse_embeddings({"data": [{"index": 0, "embedding": [1.0, 2.0, 3.0]}]}, 1, dimensions=2)
    assert info.value.message == "the embedding of input 0 has 3 values, but dimensions=2 was asked for"


# -- Client.embed without a socket ---------------------------------------------------------------


def test_embed_decodes_a_hand_written_openai_base64_reply_in_input_order():
    body = openai_body((1, b64_float32(0.25, -0.5, 1.0)), (0, b64_float32(-1.0, 0.125, 2.0)), tokens=4)
    client, transport = mock_client(json_reply(body))
    result = client.embed(["first", "second"])
    assert result.vectors == ([-1.0, 0.125, 2.0], [0.25, -0.5, 1.0])
    assert (result.model, result.usage, result.requests, result.dimensions) == (
        "text-embedding-3-small",
        Usage(input_tokens=4, total_tokens=4),
        1,
        3,
    )
    assert (len(result), result[1], list(result)) == (2, [0.25, -0.5, 1.0], list(result.vectors))
    assert repr(result) == (
        "Embeddings(count=2, dimensions=3, model='text-embedding-3-small', "
        "usage=Usage(input_tokens=4, output_tokens=None, total_tokens=4, cached_input_tokens=None, "
        "cache_creation_input_tokens=None, reasoning_tokens=None), requests=1)"
    )
    sent = transport.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1/embeddings")
    assert sent.json() == {
        "model": "text-embedding-3-small",
        "input": ["first", "second"],
        "encoding_format": "base64",
    }


def test_embed_batches_inputs_one_call_per_batch_and_sums_usage():
    replies = [
        json_reply(openai_body((0, b64_float32(1.0)), (1, b64_float32(2.0)), tokens=2)),
        json_reply(openai_body((1, b64_float32(4.0)), (0, b64_float32(3.0)), tokens=3)),
        json_reply(openai_body((0, b64_float32(5.0)), tokens=1)),
    ]
    client, transport = mock_client(*replies)
    result = client.embed(["a", "b", "c", "d", "e"], batch_size=2, dimensions=1)
    assert result.vectors == ([1.0], [2.0], [3.0], [4.0], [5.0])
    assert (result.usage, result.requests) == (Usage(input_tokens=6, total_tokens=6), 3)
    assert [r.json()["input"] for r in transport.requests] == [["a", "b"], ["c", "d"], ["e"]]
    assert {r.json()["dimensions"] for r in transport.requests} == {1}


def test_embed_batches_to_openais_2048_inputs_by_default():
    transport = MockTransport(protocol="openai")  # the fake's route: it refuses > 2048 inputs
    client = Client.compatible("http://mock/v1", model="m", transport=transport)
    texts = [f"text {i}" for i in range(4097)]
    result = client.embed(texts, dimensions=2)
    assert [len(r.json()["input"]) for r in transport.requests] == [2048, 2048, 1]
    assert result.vectors[4096] == fake_embedding("text 4096", 2)
    assert result.vectors[0] == fake_embedding("text 0", 2)
    assert (len(result), result.usage.input_tokens, result.requests) == (4097, 2 * 4097, 3)


def test_usage_summed_over_batches_is_unknown_if_one_batch_left_it_out():
    replies = [
        json_reply(openai_body((0, b64_float32(1.0)), tokens=2)),
        Reply.json({"data": [{"index": 0, "embedding": [2.0]}]}),  # no usage (llama.cpp's older shape)
    ]
    client, _ = mock_client(*replies)
    assert client.embed(["a", "b"], batch_size=1).usage == Usage()


def test_one_string_is_one_input():
    client, transport = mock_client(json_reply(openai_body((0, b64_float32(0.5, 0.75)))))
    result = client.embed("just one")
    assert result.vectors == ([0.5, 0.75],)
    assert transport.requests[0].json()["input"] == ["just one"]


def test_no_inputs_is_an_empty_result_without_a_request():
    client, transport = mock_client()
    result = client.embed([])
    assert (result.vectors, result.requests, result.dimensions, result.usage) == ((), 0, None, Usage())
    assert transport.requests == []


def test_embed_uses_the_model_given_else_the_clients():
    client, transport = mock_client(
        json_reply(openai_body((0, b64_float32(1.0)))), json_reply(openai_body((0, b64_float32(1.0))))
    )
    client.embed("x", "nomic-embed-text")
    client.embed("x")
    assert [r.json()["model"] for r in transport.requests] == ["nomic-embed-text", "text-embedding-3-small"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.embed(b"bytes"), "embed() takes a string or a list of strings, got bytes"),
        (lambda c: c.embed(42), "embed() takes a string or a list of strings, got int"),
        (lambda c: c.embed({"a": 1}), "embed() takes a string or a list of strings, got dict"),
        (lambda c: c.embed(["ok", 3]), "embed() input 1 is int, not a string"),
        (lambda c: c.embed(["a"], batch_size=0), "batch_size must be a whole number >= 1, got 0"),
        (lambda c: c.embed(["a"], batch_size=True), "batch_size must be a whole number >= 1, got True"),
        (lambda c: c.embed(["a"], dimensions=-3), "dimensions must be a whole number >= 1, got -3"),
    ],
)
def test_bad_arguments_are_config_errors_before_any_request(call, message):
    client, transport = mock_client()
    with pytest.raises(ConfigError) as info:
        call(client)
    assert str(info.value) == message
    assert transport.requests == []


def test_embed_without_any_model_is_a_config_error():
    client = Client.compatible("http://mock/v1", transport=MockTransport(), env={})
    with pytest.raises(ConfigError) as info:
        client.embed(["a"])
    assert str(info.value) == "no embeddings model: pass embed(..., model=...) or set model= on the client"


@pytest.mark.parametrize("texts", [["a"], []])
def test_anthropic_has_no_embeddings_and_says_so_before_sending(texts):
    transport = MockTransport(protocol="anthropic")
    client = Client.anthropic(api_key="k", model="claude-x", transport=transport)
    with pytest.raises(ConfigError) as info:
        client.embed(texts)
    assert str(info.value) == (
        "the Anthropic API has no embeddings endpoint; "
        "embed through an OpenAI-compatible provider (Client.openai(), Client.compatible(url))"
    )
    assert transport.requests == []


def test_modelrelay_has_no_embeddings_either():
    client = Client.modelrelay(api_key="mr_sk_x", model="m", transport=MockTransport())
    with pytest.raises(ConfigError) as info:
        client.embed(["a"])
    assert str(info.value) == "the ModelRelay API has no embeddings endpoint"


def test_a_failed_later_batch_carries_the_earlier_vectors_as_partial():
    client, _ = mock_client(
        json_reply(openai_body((0, b64_float32(1.0)), (1, b64_float32(2.0)), tokens=2)),
        Reply.json(
            {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
            status=429,
        ),
        retry=NO_RETRY,
    )
    with pytest.raises(relay_lite.RateLimitError) as info:
        client.embed(["a", "b", "c"], batch_size=2)
    partial = info.value.partial
    assert isinstance(partial, Embeddings)
    assert (partial.vectors, partial.requests) == (([1.0], [2.0]), 1)


def test_a_failed_first_batch_has_no_partial():
    client, _ = mock_client(Reply.json({"error": {"message": "bad key"}}, status=401), retry=NO_RETRY)
    with pytest.raises(relay_lite.AuthenticationError) as info:
        client.embed(["a"])
    assert info.value.partial is None


def test_batches_of_different_vector_lengths_are_an_error():
    client, _ = mock_client(
        json_reply(openai_body((0, b64_float32(1.0, 2.0)))), json_reply(openai_body((0, b64_float32(1.0))))
    )
    with pytest.raises(ResponseError) as info:
        client.embed(["a", "b"], batch_size=1)
    assert info.value.message == "the embeddings of inputs 1.. have 1 values each, those before 2"
    assert info.value.request_id == "req_emb"
    assert info.value.partial.vectors == ([1.0, 2.0],)


def test_an_error_object_in_a_200_body_is_mapped_and_scrubbed_of_the_key():
    key = "sk-embed-200-secret"
    body = {
        "error": {
            "message": f"Incorrect API key provided: {key}",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
        }
    }
    client, _ = mock_client(Reply.json(body, headers={"x-request-id": "req_err"}), api_key=key)
    with pytest.raises(relay_lite.AuthenticationError) as info:
        client.embed(["a"])
    assert key not in str(info.value)
    assert info.value.request_id == "req_err"
    assert info.value.headers["x-request-id"] == "req_err"


def test_a_body_that_is_not_json_is_a_response_error():
    client, _ = mock_client(Reply(body=b"<html>502 Bad Gateway</html>"))
    with pytest.raises(ResponseError) as info:
        client.embed(["a"])
    assert info.value.message == "response body is not valid JSON: '<html>502 Bad Gateway</html>'"


def test_each_batch_is_reported_to_usage_hooks():
    client, _ = mock_client(
        json_reply(openai_body((0, b64_float32(1.0)), tokens=2)),
        json_reply(openai_body((0, b64_float32(2.0)), tokens=3)),
    )
    reports = []
    client.on("usage", reports.append)
    client.embed(["a", "b"], batch_size=1)
    assert [(r.usage.input_tokens, r.model, r.request_id) for r in reports] == [
        (2, "text-embedding-3-small", "req_emb"),
        (3, "text-embedding-3-small", "req_emb"),
    ]


def test_per_call_headers_and_timeout_ride_along():
    client, transport = mock_client(json_reply(openai_body((0, b64_float32(1.0)))))
    client.embed(["a"], headers={"X-Team": "search"}, timeout=5)
    assert transport.requests[0].headers["x-team"] == "search"


# -- over the wire: FakeServer ------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/v1"])
def test_fake_server_embeds_deterministically_through_base64(suffix):
    with FakeServer.openai() as server:
        with Client.compatible(server.url + suffix, model="fake-embedding") as client:
            result = client.embed(["alpha", "beta gamma"], dimensions=4)
        sent = server.requests[0]
    assert result.vectors == (fake_embedding("alpha", 4), fake_embedding("beta gamma", 4))
    assert (result.model, result.usage.input_tokens, result.requests) == ("fake-embedding", 3, 1)
    assert sent.path == suffix + "/embeddings"
    assert sent.json()["encoding_format"] == "base64"


def test_fake_server_float_encoding_decodes_to_the_same_vectors():
    # The fake honours encoding_format: "float" sends lists (as Ollama always does).
    with FakeServer.openai() as server:
        body = json.dumps({"model": "m", "input": "x", "encoding_format": "float"}).encode()
        with urllib3.PoolManager() as pool:  # urllib3 1.26 has no urllib3.request()
            raw = json.loads(pool.request("POST", server.url + "/v1/embeddings", body=body).data)
        server.add(Reply.json(raw))
        client = Client.compatible(server.url, model="m")
        floats = client.embed("x")
        based = client.embed("x")
    assert raw["data"][0]["embedding"] == fake_embedding("x")
    assert floats.vectors == based.vectors == (fake_embedding("x", FAKE_EMBEDDING_DIMENSIONS),)


def test_fake_server_refuses_more_than_2048_inputs_so_batching_is_what_keeps_under_it():
    with FakeServer.openai() as server:
        client = Client.compatible(server.url, model="m", retry=NO_RETRY)
        with pytest.raises(relay_lite.BadRequestError) as info:
            client.embed(["w"] * 2049, batch_size=2049)
        result = client.embed(["w"] * 2049)
    assert info.value.message.startswith("'$.input' is invalid: at most 2048 inputs")
    assert (len(result), result.requests) == (2049, 2)
    assert [len(r.json()["input"]) for r in server.requests] == [2049, 2048, 1]


# -- Provider.embed (the rusty-agent-sdk facade) uses Client.embed ------------------------------


def test_provider_embed_goes_through_client_embed():
    with FakeServer.openai() as server:
        provider = Provider.openai("fake-embedding", api_key="sk-test", base_url=server.url)
        one = provider.embed("hello world")
        many = provider.embed_many(["a", "b"])
        provider.close()
    assert one == EmbeddingResult([fake_embedding("hello world")], 2, 2, "fake-embedding")
    assert many.embeddings == [fake_embedding("a"), fake_embedding("b")]
    assert server.requests[0].json() == {
        "model": "fake-embedding",
        "input": ["hello world"],
        "encoding_format": "base64",
    }


def test_provider_embed_many_of_nothing_is_empty_without_a_request():
    transport = MockTransport()
    provider = Provider.openai("m", api_key="k", transport=transport)
    assert provider.embed_many([]) == EmbeddingResult([], None, None, None)
    assert transport.requests == []


def test_provider_embed_on_anthropic_is_a_value_error_saying_why():
    provider = Provider.anthropic("claude-x", api_key="k", transport=MockTransport(protocol="anthropic"))
    with pytest.raises(ValueError) as info:
        provider.embed("x")
    assert isinstance(info.value, ConfigError)
    assert str(info.value).startswith("the Anthropic API has no embeddings endpoint")


# -- import cost --------------------------------------------------------------------------------


def test_embeddings_models_and_token_count_modules_load_only_when_used():
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = """
import json, sys
import relay_lite
from relay_lite.testing import MockTransport
client = relay_lite.Client.compatible("http://mock/v1", model="m", transport=MockTransport(protocol="openai"))
client.chat().user("hi").send()
ours = ["relay_lite._operations", "relay_lite._resources", "relay_lite.protocols._embeddings",
        "relay_lite.protocols._model_lists", "relay_lite.protocols._token_counts"]
chat_only = [m for m in ours if m in sys.modules]
client.embed("x")
print(json.dumps({"chat_only": chat_only, "after_embed": [m for m in ours if m in sys.modules]}))
"""
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(root))
    result = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "chat_only": [],
        "after_embed": [
            "relay_lite._operations",
            "relay_lite._resources",
            "relay_lite.protocols._embeddings",
        ],
    }


def test_result_types_are_exported_lazily():
    from relay_lite._resources import ModelInfo

    assert (relay_lite.Embeddings, relay_lite.ModelInfo) == (Embeddings, ModelInfo)
    assert {"Embeddings", "ModelInfo"} <= set(relay_lite.__all__)


def test_azure_maps_an_error_object_in_a_200_embeddings_body_with_its_own_codes():
    # Azure OpenAI's error code for a missing deployment, inside a 200 body (a proxy's doing).
    transport = MockTransport()
    transport.add(
        Reply.json(
            {
                "error": {
                    "code": "DeploymentNotFound",
                    "message": "The API deployment for this resource does not exist.",
                }
            },
            headers={"apim-request-id": "apim-1"},
        )
    )
    client = Client.azure(
        "https://example.openai.azure.com",
        "text-embedding-3-small",
        "2024-10-21",
        api_key="k",
        transport=transport,
    )
    with pytest.raises(relay_lite.NotFoundError) as info:
        client.embed(["a"])
    assert info.value.request_id == "apim-1"
    sent = transport.requests[0]
    assert sent.path == "/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21"
    assert sent.headers["api-key"] == "k"


# -- review fixes: the 300,000-token request cap, empty vectors, loose usage counts ------------------


def test_cut_batches_closes_a_batch_before_its_utf8_bytes_pass_the_cap():
    from relay_lite._operations import cut_batches

    inputs = ["aaaa", "bbbb", "cc", "d" * 11, "e", "éé", "ff"]  # "éé" is 4 UTF-8 bytes
    assert list(cut_batches(inputs, 2048, 10)) == [(0, 3), (3, 4), (4, 7)]
    assert list(cut_batches(inputs, 2, 10)) == [(0, 2), (2, 3), (3, 4), (4, 6), (6, 7)]
    assert list(cut_batches(inputs, 3, None)) == [(0, 3), (3, 6), (6, 7)]
    assert list(cut_batches([], 3, 10)) == []


def test_embed_keeps_each_request_under_openais_300000_token_cap():
    # ~1,080 bytes (~200 words) each: 2048 of them are ~410,000 of the fake's tokens, which
    # it refuses with OpenAI's max_tokens_per_request error, as OpenAI does.
    texts = [f"lorem ipsum dolor sit amet {i} " * 40 for i in range(2048)]
    with FakeServer.openai() as server:
        client = Client.compatible(server.url, model="text-embedding-3-small", retry=NO_RETRY)
        result = client.embed(texts, dimensions=2)
        batches = [r.json()["input"] for r in server.requests]
        sizes = [sum(len(t.encode()) for t in batch) for batch in batches]
        with pytest.raises(relay_lite.BadRequestError) as info:
            client.adapter.embedding_request_byte_limit = None  # count-only batching: one request
            client.embed(texts, dimensions=2)
    assert info.value.code == "max_tokens_per_request"
    assert info.value.message.endswith("tokens, max 300000 tokens per request")
    assert len(result) == 2048 and result.vectors[2047] == fake_embedding(texts[2047], 2)
    assert result.requests == len(batches) == 9 and max(sizes) <= 300_000
    assert [text for batch in batches for text in batch] == texts
    # Each batch was closed only because the next input would have passed the cap.
    assert all(size + len(batches[n + 1][0]) > 300_000 for n, size in enumerate(sizes[:-1]))


def test_an_input_longer_than_the_byte_cap_goes_alone():
    replies = [json_reply(openai_body((0, b64_float32(float(n))), tokens=1)) for n in range(3)]
    client, transport = mock_client(*replies)
    client.adapter.embedding_request_byte_limit = 5
    result = client.embed(["ab", "abcdefgh", "cd"], dimensions=1)
    assert [r.json()["input"] for r in transport.requests] == [["ab"], ["abcdefgh"], ["cd"]]
    assert result.vectors == ([0.0], [1.0], [2.0])


@pytest.mark.parametrize("embedding", [[], ""])
def test_an_empty_vector_is_a_response_error_naming_its_path(embedding):
    payload = {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": embedding}]}
    with pytest.raises(ResponseError) as info:
        parse_embeddings(payload, 1)
    assert info.value.message == "data[0].embedding is empty"


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ({"prompt_tokens": "5", "total_tokens": -1}, Usage()),
        ({"prompt_tokens": True, "total_tokens": 2.5}, Usage()),
        ({"prompt_tokens": 5.0, "total_tokens": 0}, Usage(input_tokens=5, total_tokens=0)),
    ],
)
def test_usage_counts_that_are_not_whole_numbers_from_zero_are_unknown(usage, expected):
    payload = {"object": "list", "data": [{"index": 0, "embedding": [0.5]}], "usage": usage}
    assert parse_embeddings(payload, 1).usage == expected
