"""What ``Client.azure`` resolves: Azure OpenAI's base URL, credential and model.

Names follow the openai SDK's ``AzureOpenAI``: ``AZURE_OPENAI_ENDPOINT``,
``AZURE_OPENAI_API_KEY``, ``OPENAI_API_VERSION``; an explicit argument wins over its
variable. With a deployment the URL is ``{endpoint}/openai/deployments/{deployment}
?api-version=...`` (api-version required); without one it is ``{endpoint}/openai/v1``
(the v1 API: no api-version unless one is passed, the model named per request). An
endpoint that already ends in ``/openai/v1`` or ``/openai/deployments/...`` is used as
given. Credentials: an API key (``api-key`` header), or a token provider called on every
attempt (``Authorization: Bearer``) -- one of the two, never both.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Mapping, Optional
from urllib.parse import quote

from ._config import check_base_url
from ._errors import ConfigError

__all__ = ["AzureSettings", "resolve_azure"]

ENDPOINT_ENV = "AZURE_OPENAI_ENDPOINT"
API_KEY_ENV = "AZURE_OPENAI_API_KEY"
API_VERSION_ENV = "OPENAI_API_VERSION"


class AzureSettings:
    """The resolved pieces: base URL, key (or None), token provider (or None), model."""

    __slots__ = ("base_url", "api_key", "token_provider", "model")

    def __init__(
        self,
        base_url: str,
        api_key: Optional[str],
        token_provider: Optional[Callable[[], str]],
        model: Optional[str],
    ) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.token_provider = token_provider
        self.model = model

    def __repr__(self) -> str:  # never the key
        return (
            f"AzureSettings({self.base_url!r}, key={'set' if self.api_key else None}, model={self.model!r})"
        )


def _env(env: Mapping[str, str], name: str) -> Optional[str]:
    return (env.get(name) or "").strip() or None


def resolve_azure(
    *,
    endpoint: Optional[str],
    deployment: Optional[str],
    api_version: Optional[str],
    api_key: Optional[str],
    azure_ad_token_provider: Optional[Callable[[], str]],
    model: Optional[str],
    env: Optional[Mapping[str, str]],
) -> AzureSettings:
    """Arguments, then the openai SDK's variables; ``ConfigError`` naming what is missing."""
    env = os.environ if env is None else env
    source = "endpoint"
    if endpoint is None:
        endpoint, source = _env(env, ENDPOINT_ENV), ENDPOINT_ENV
    if endpoint is None:
        raise ConfigError(f"Azure OpenAI needs an endpoint: pass endpoint= or set {ENDPOINT_ENV}")
    url = check_base_url(endpoint, source)
    if "?" in url:
        raise ConfigError(f"{source} must not carry a query string; pass api_version= instead")

    if api_key is not None and azure_ad_token_provider is not None:
        raise ConfigError("pass api_key= or azure_ad_token_provider=, not both")
    if azure_ad_token_provider is None and api_key is None:
        api_key = _env(env, API_KEY_ENV)
        if api_key is None:
            raise ConfigError(
                f"Azure OpenAI needs a credential: pass api_key= (or set {API_KEY_ENV}) "
                "or azure_ad_token_provider="
            )
    if azure_ad_token_provider is not None and not callable(azure_ad_token_provider):
        raise ConfigError(
            f"azure_ad_token_provider must be callable, got {type(azure_ad_token_provider).__name__}"
        )

    explicit_version = api_version is not None
    version = api_version if explicit_version else _env(env, API_VERSION_ENV)
    if deployment is not None:
        if not isinstance(deployment, str) or not deployment.strip():
            raise ConfigError(f"deployment must be a non-empty name, got {deployment!r}")
        if version is None:
            raise ConfigError(
                "Azure OpenAI deployment URLs need an api-version: "
                f"pass api_version= or set {API_VERSION_ENV}"
            )
        base = f"{url}/openai/deployments/{quote(deployment.strip(), safe='')}"
        model = model or deployment.strip()
    elif url.endswith("/openai/v1") or "/openai/deployments/" in url:
        base = url
    else:
        base = f"{url}/openai/v1"
    # The v1 API takes no api-version; one passed explicitly (e.g. "preview") is sent.
    needs_version = deployment is not None or "/openai/deployments/" in base or explicit_version
    if needs_version and version is not None:
        base += "?api-version=" + quote(version.strip(), safe="-.")
    return AzureSettings(base, api_key, azure_ad_token_provider, model)


def azure_options(settings: AzureSettings) -> dict[str, Any]:
    """The ``Client`` arguments for ``settings`` (the token provider as an authorizer)."""
    options: dict[str, Any] = {
        "base_url": settings.base_url,
        "api_key": settings.api_key,
        "model": settings.model,
    }
    if settings.token_provider is not None:
        from ._token_auth import TokenProviderAuthorizer

        options["authorizer"] = TokenProviderAuthorizer(settings.token_provider)
    return options
