"""Azure OpenAI (issue 16): both URL shapes, api-key and token-provider auth, content
filters and Azure's error bodies, against FakeServer(protocol="azure") and socket-free."""

from __future__ import annotations

import json
from typing import Any

import pytest

import relay_lite
from relay_lite import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
)
from relay_lite._azure import resolve_azure
from relay_lite.protocols.azure import AzureOpenAIAdapter
from relay_lite.testing import FakeServer, Reply

VERSION = "2024-10-21"


def azure_client(server: FakeServer, **options: Any) -> relay_lite.Client:
    options.setdefault("retry", RetryPolicy(backoff=0.01))
    options.setdefault("env", {})
    return relay_lite.Client.azure(server.url, **options)


# -- URL shapes and configuration (socket-free) ----------------------------------------------


def test_deployment_shape_puts_api_version_in_the_query() -> None:
    settings = resolve_azure(
        endpoint="https://contoso.openai.azure.com/",
        deployment="gpt-4o",
        api_version=VERSION,
        api_key="k",
        azure_ad_token_provider=None,
        model=None,
        env={},
    )
    assert (
        settings.base_url
        == "https://contoso.openai.azure.com/openai/deployments/gpt-4o?api-version=2024-10-21"
    )
    assert settings.model == "gpt-4o"


def test_v1_shape_has_no_api_version_and_no_model_of_its_own() -> None:
    settings = resolve_azure(
        endpoint="https://contoso.openai.azure.com",
        deployment=None,
        api_version=None,
        api_key="k",
        azure_ad_token_provider=None,
        model=None,
        env={"OPENAI_API_VERSION": VERSION},
    )
    assert (settings.base_url, settings.model) == ("https://contoso.openai.azure.com/openai/v1", None)


def test_environment_names_are_the_official_sdks() -> None:
    env = {
        "AZURE_OPENAI_ENDPOINT": "https://contoso.openai.azure.com",
        "AZURE_OPENAI_API_KEY": "azure-key-123",
        "OPENAI_API_VERSION": VERSION,
    }
    client = relay_lite.Client.azure(deployment="gpt-4o", env=env)
    assert (
        client.config.base_url
        == "https://contoso.openai.azure.com/openai/deployments/gpt-4o?api-version=2024-10-21"
    )
    assert client.config.api_key == "azure-key-123"
    assert "azure-key-123" not in repr(client) + repr(client.config)


def test_missing_endpoint_names_the_variable() -> None:
    with pytest.raises(
        ConfigError, match="^Azure OpenAI needs an endpoint: pass endpoint= or set AZURE_OPENAI_ENDPOINT$"
    ):
        relay_lite.Client.azure(deployment="d", api_version=VERSION, api_key="k", env={})


def test_deployment_without_api_version_is_refused() -> None:
    with pytest.raises(ConfigError, match="need an api-version: pass api_version= or set OPENAI_API_VERSION"):
        relay_lite.Client.azure("https://x.openai.azure.com", "d", api_key="k", env={})


def test_no_credential_is_refused() -> None:
    with pytest.raises(ConfigError, match="^Azure OpenAI needs a credential"):
        relay_lite.Client.azure("https://x.openai.azure.com", env={})


def test_key_and_token_provider_together_are_refused() -> None:
    with pytest.raises(ConfigError, match="^pass api_key= or azure_ad_token_provider=, not both$"):
        relay_lite.Client.azure(
            "https://x.openai.azure.com", api_key="k", azure_ad_token_provider=lambda: "t", env={}
        )


def test_an_azure_key_in_the_environment_does_not_pick_azure_for_a_bare_client() -> None:
    config = relay_lite.ClientConfig.resolve(env={"AZURE_OPENAI_API_KEY": "k"})
    assert config.provider == "openai"


# -- against FakeServer ------------------------------------------------------------------------


def test_deployment_shape_sends_api_version_on_every_request_and_api_key_header() -> None:
    with FakeServer(protocol="azure") as server:
        with azure_client(server, deployment="gpt-4o", api_version=VERSION, api_key="azure-key") as client:
            assert client.chat().user("hi").send().text == "Echo: hi"
            assert client.chat().user("again").stream().response.text == "Echo: again"
        paths = [r.path for r in server.requests]
        assert paths == ["/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"] * 2
        assert [r.headers.get("api-key") for r in server.requests] == ["azure-key"] * 2
        assert all("authorization" not in r.headers for r in server.requests)


def test_v1_shape_sends_the_model_in_the_body() -> None:
    with FakeServer(protocol="azure") as server:
        with azure_client(server, api_key="azure-key", model="my-deployment") as client:
            client.chat().user("hi").send()
        assert server.requests[0].path == "/openai/v1/chat/completions"
        assert server.requests[0].json()["model"] == "my-deployment"


def test_token_provider_is_asked_per_attempt_and_the_refreshed_token_is_sent() -> None:
    tokens = iter(["expired-token", "fresh-token"])
    unauthorized = Reply.json(
        {"error": {"code": "401", "message": "Unauthorized. Access token is missing, invalid"}}, status=401
    )
    with FakeServer(protocol="azure") as server:
        server.add(unauthorized)
        policy = RetryPolicy(backoff=0.01, retry_statuses=frozenset({401}))
        with azure_client(
            server,
            deployment="d",
            api_version=VERSION,
            azure_ad_token_provider=lambda: next(tokens),
            retry=policy,
        ) as client:
            reply = client.chat().user("hi").send()
        assert reply.text == "Echo: hi"
        auth = [r.headers["authorization"] for r in server.requests]
        assert auth == ["Bearer expired-token", "Bearer fresh-token"]
        assert all("api-key" not in r.headers for r in server.requests)


def test_token_provider_returning_a_non_string_is_a_config_error() -> None:
    with FakeServer(protocol="azure") as server:
        with azure_client(
            server, deployment="d", api_version=VERSION, azure_ad_token_provider=lambda: None
        ) as client:
            with pytest.raises(ConfigError, match="must return a non-empty string, got NoneType$"):
                client.chat().user("hi").send()


def test_content_filter_results_stay_on_raw() -> None:
    with FakeServer(protocol="azure") as server:
        with azure_client(server, deployment="d", api_version=VERSION, api_key="k") as client:
            reply = client.chat().user("hi").send()
    assert reply.raw["prompt_filter_results"][0]["content_filter_results"]["hate"] == {
        "filtered": False,
        "severity": "safe",
    }
    assert reply.raw["choices"][0]["content_filter_results"]["violence"]["severity"] == "safe"


def test_content_filter_finish_reason_is_surfaced() -> None:
    # A filtered completion as Azure OpenAI sends it (REST reference, 2024-10-21).
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-2024-08-06",
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
        "choices": [
            {
                "index": 0,
                "finish_reason": "content_filter",
                "message": {"role": "assistant", "content": None},
                "content_filter_results": {"violence": {"filtered": True, "severity": "high"}},
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 0, "total_tokens": 9},
    }
    with FakeServer() as server:
        server.add(Reply.json(body))
        with azure_client(server, deployment="d", api_version=VERSION, api_key="k") as client:
            reply = client.chat().user("hi").send()
    assert (reply.finish_reason, reply.raw_finish_reason) == ("content_filter", "content_filter")
    assert reply.raw["choices"][0]["content_filter_results"]["violence"]["filtered"] is True


def test_stream_opening_with_prompt_filter_chunk_is_read() -> None:
    with FakeServer(protocol="azure") as server:
        with azure_client(server, deployment="d", api_version=VERSION, api_key="k") as client:
            stream = client.chat().user("streamed words").stream()
            assert "".join(stream.text()) == "Echo: streamed words"


def test_wrong_path_is_a_not_found_error_from_the_fake() -> None:
    with FakeServer(protocol="azure") as server:
        with relay_lite.Client(
            "azure", base_url=server.url + "/wrong", api_key="k", model="m", env={}
        ) as client:
            with pytest.raises(NotFoundError):
                client.chat().user("hi").send()


# -- error bodies (socket-free) -----------------------------------------------------------------

ADAPTER = AzureOpenAIAdapter()


def test_content_filter_error_is_a_bad_request_with_azure_code() -> None:
    # Azure's 400 for a filtered prompt (innererror carries the filter result).
    body = json.dumps(
        {
            "error": {
                "message": (
                    "The response was filtered due to the prompt triggering Azure OpenAI's "
                    "content management policy."
                ),
                "type": None,
                "param": "prompt",
                "code": "content_filter",
                "status": 400,
                "innererror": {
                    "code": "ResponsibleAIPolicyViolation",
                    "content_filter_result": {"hate": {"filtered": True, "severity": "high"}},
                },
            }
        }
    ).encode()
    error = ADAPTER.map_error(400, body, {"apim-request-id": "apim-1"})
    assert type(error) is BadRequestError
    assert error.code == "content_filter"
    assert error.request_id == "apim-1"


def test_apim_flat_401_is_an_authentication_error() -> None:
    # API Management answers before the model does, in its own flat shape.
    body = (
        b'{ "statusCode": 401, "message": "Access denied due to invalid subscription key or wrong API '
        b"endpoint. Make sure to provide a valid key for an active subscription and use a correct "
        b'regional API endpoint for your resource." }'
    )
    error = ADAPTER.map_error(401, body, {})
    assert type(error) is AuthenticationError
    assert "Access denied due to invalid subscription key" in str(error)


def test_deployment_not_found_is_not_found() -> None:
    body = (
        b'{"error":{"code":"DeploymentNotFound",'
        b'"message":"The API deployment for this resource does not exist."}}'
    )
    assert type(ADAPTER.map_error(404, body, {})) is NotFoundError


def test_rate_limit_code_without_status_is_rate_limited() -> None:
    body = {
        "error": {
            "code": "429",
            "message": "Requests to the ChatCompletions_Create Operation have exceeded call rate limit.",
        }
    }
    assert type(ADAPTER.map_error(None, body, {})) is RateLimitError


# Azure's stream for a completion its output filter stopped: the prompt-results chunk
# with no choices first, then deltas carrying content_filter_results, then the finish.
FILTERED_STREAM = (
    b'data: {"choices":[],"created":0,"id":"","model":"","object":"",'
    b'"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}\n\n'
    b'data: {"choices":[{"content_filter_results":{},"delta":{"content":"Once","role":"assistant"},'
    b'"finish_reason":null,"index":0}],"created":1,"id":"chatcmpl-1","model":"gpt-4o","object":"chat.completion.chunk"}\n\n'
    b'data: {"choices":[{"content_filter_results":{"violence":{"filtered":true,"severity":"medium"}},'
    b'"delta":{},"finish_reason":"content_filter","index":0}],"created":1,"id":"chatcmpl-1","model":"gpt-4o",'
    b'"object":"chat.completion.chunk"}\n\n'
    b"data: [DONE]\n\n"
)


@pytest.mark.parametrize("one_byte_chunks", [False, True])
def test_streamed_content_filter_finish_is_surfaced(one_byte_chunks: bool) -> None:
    chunks = (
        [FILTERED_STREAM[i : i + 1] for i in range(len(FILTERED_STREAM))]
        if one_byte_chunks
        else [FILTERED_STREAM]
    )
    with FakeServer() as server:
        server.add(Reply.sse(list(chunks)))
        with azure_client(server, deployment="d", api_version=VERSION, api_key="k") as client:
            reply = client.chat().user("tell a story").stream().response
    assert (reply.text, reply.finish_reason, reply.raw_finish_reason) == (
        "Once",
        "content_filter",
        "content_filter",
    )
