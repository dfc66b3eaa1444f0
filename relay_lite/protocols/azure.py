"""Azure OpenAI: the OpenAI chat-completions protocol with Azure's auth, ids and error codes.

Wire facts (Microsoft's REST reference; the openai SDK's ``AzureOpenAI``):

- URLs, both served today: ``{endpoint}/openai/deployments/{deployment}/chat/completions
  ?api-version=2024-10-21`` (the model is the deployment; ``api-version`` is required on
  every request), and the newer ``{endpoint}/openai/v1/chat/completions`` (no
  api-version, the model -- a deployment name -- in the body). Both are base URLs here;
  the session keeps their query on every call (``relay_lite._urls``).
- Auth: an ``api-key: KEY`` header, or ``Authorization: Bearer TOKEN`` with a Microsoft
  Entra ID token (``relay_lite._token_auth.TokenProviderAuthorizer`` asks the caller's
  token provider on every attempt).
- Replies are OpenAI's, plus ``prompt_filter_results`` (top level, and in the first
  stream chunk, whose ``choices`` is empty) and ``content_filter_results`` per choice;
  both stay on ``ChatResponse.raw``. A filtered completion ends with ``finish_reason:
  "content_filter"`` (already a neutral reason).
- Errors: OpenAI's ``{"error": {"code", "message", ...}}`` with Azure's codes
  (``content_filter`` with ``innererror.content_filter_result``, ``DeploymentNotFound``,
  codes that are HTTP statuses as text such as ``"429"``), or API Management's flat
  ``{"statusCode": 401, "message": ...}`` in front of it.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from .._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RateLimitError,
    read_error_body,
)
from .openai import ERROR_CODES, OpenAIAdapter, map_error

__all__ = ["AzureOpenAIAdapter", "auth_headers"]

API_KEY_HEADER = "api-key"
# Azure answers with both; apim-request-id is the one its support asks for.
RESPONSE_ID_HEADERS = ("apim-request-id", "x-request-id", "x-ms-request-id")
#: Azure's error codes (lower case) on top of OpenAI's, for errors that carry no status.
AZURE_ERROR_CODES: Mapping[str, type[APIError]] = {
    **ERROR_CODES,
    "content_filter": BadRequestError,
    "responsibleaipolicyviolation": BadRequestError,
    "deploymentnotfound": NotFoundError,
    "operationnotsupported": BadRequestError,
    "401": AuthenticationError,
    "404": NotFoundError,
    "429": RateLimitError,
}


def auth_headers(api_key: Optional[str]) -> dict[str, str]:
    """``api-key: KEY`` (Azure's key header), or nothing when a token provider authorizes."""
    return {API_KEY_HEADER: api_key} if api_key else {}


class AzureOpenAIAdapter(OpenAIAdapter):
    """OpenAI chat completions as Azure OpenAI serves them (URLs are the base URL's job)."""

    name = "azure"
    display_name = "Azure OpenAI"
    request_id_header = "x-ms-client-request-id"
    response_id_headers = RESPONSE_ID_HEADERS

    def auth_headers(self, api_key: Optional[str]) -> dict[str, str]:
        return auth_headers(api_key)

    def map_error(
        self,
        status: Optional[int],
        body: Any,
        headers: Optional[Mapping[str, str]] = None,
        *,
        attempts: int = 1,
    ) -> APIError:
        parsed, _ = read_error_body(body)
        if isinstance(parsed, Mapping) and "error" not in parsed and "statusCode" in parsed:
            # API Management's flat shape, in OpenAI's (the status as the code, as Azure does).
            body = {"error": {"code": str(parsed.get("statusCode")), "message": parsed.get("message")}}
        return map_error(
            status,
            body,
            headers,
            attempts=attempts,
            code_classes=AZURE_ERROR_CODES,
            request_id_headers=RESPONSE_ID_HEADERS,
        )
