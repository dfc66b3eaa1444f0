"""What ``Client.bedrock`` resolves: the Bedrock Runtime URL, the region and the credentials.

Credentials and region come from ``relay_lite._aws_credentials.bedrock_authorizer``, in
the order AWS tools use (explicit arguments, a Bedrock API key, the environment Lambda
sets, the shared files): a SigV4 signer with signing name ``bedrock``, or a bearer-token
authorizer for a Bedrock API key. The URL is ``https://bedrock-runtime.{region}
.amazonaws.com`` unless ``base_url=`` or the AWS SDKs' endpoint variables
(``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``, then ``AWS_ENDPOINT_URL``) name another, as for a
VPC endpoint, a proxy or a local fake.

Loaded by ``Client.bedrock`` only: ``import relay_lite`` does not pay for it.
"""

from __future__ import annotations

import os
import re
from typing import Any, Mapping, Optional

from ._config import check_base_url
from ._errors import ConfigError

__all__ = ["bedrock_url", "resolve_bedrock"]

#: The AWS SDKs' service-specific endpoint variable, then their global one.
ENDPOINT_ENV = ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL")
# Region names as AWS spells them (us-east-1, eu-central-2, us-gov-west-1, ...): nothing
# else may go into a host name.
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")


def bedrock_url(region: str) -> str:
    """The Bedrock Runtime endpoint of ``region``."""
    if not isinstance(region, str) or not _REGION.fullmatch(region):
        raise ConfigError(f"{region!r} is not an AWS region name (like 'us-east-1')")
    return f"https://bedrock-runtime.{region}.amazonaws.com"


def _credentials() -> Any:
    """``_aws_credentials.bedrock_authorizer`` (it lands on its own branch; until then,
    credentials come from the arguments and the environment only)."""
    import importlib

    try:
        return importlib.import_module("relay_lite._aws_credentials").bedrock_authorizer
    except ImportError:
        return _environment_only


def _environment_only(
    region: Optional[str],
    *,
    access_key_id: Optional[str],
    secret_access_key: Optional[str],
    session_token: Optional[str],
    api_key: Optional[str],
    environ: Mapping[str, str],
    **_: Any,
) -> tuple[Any, str]:
    """Until the credentials chain is merged: arguments and environment variables only."""

    def env(name: str) -> Optional[str]:
        return (environ.get(name) or "").strip() or None

    region = region or env("AWS_REGION") or env("AWS_DEFAULT_REGION")
    if not region:
        raise ConfigError("Bedrock needs a region: pass region= or set AWS_REGION or AWS_DEFAULT_REGION")
    if not (access_key_id and secret_access_key):
        key = api_key or env("AWS_BEARER_TOKEN_BEDROCK")
        if key:
            from ._session import KeyAuthorizer

            return KeyAuthorizer({"Authorization": f"Bearer {key}"}), region
        access_key_id, secret_access_key = env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")
        session_token = env("AWS_SESSION_TOKEN")
    if not (access_key_id and secret_access_key):
        raise ConfigError(
            "no AWS credentials: looked at the arguments, AWS_BEARER_TOKEN_BEDROCK, "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        )
    from ._sigv4 import AWSCredentials, SigV4Authorizer

    credentials = AWSCredentials(access_key_id, secret_access_key, session_token)
    return SigV4Authorizer(region, "bedrock", credentials), region


def resolve_bedrock(
    region: Optional[str],
    *,
    model: Optional[str],
    access_key_id: Optional[str],
    secret_access_key: Optional[str],
    session_token: Optional[str],
    profile: Optional[str],
    api_key: Optional[str],
    base_url: Optional[str],
    env: Optional[Mapping[str, str]],
    authorizer: Any = None,
) -> dict[str, Any]:
    """The ``Client`` arguments for Bedrock: ``base_url``, ``authorizer``, ``model``.

    An ``authorizer`` given (a ``SigV4Authorizer`` of your own) is used as it is; the
    region then comes from the argument, ``AWS_REGION`` or ``AWS_DEFAULT_REGION``.
    """
    environ = os.environ if env is None else env
    if authorizer is not None:
        resolved_region = region or next(
            (
                environ[n].strip()
                for n in ("AWS_REGION", "AWS_DEFAULT_REGION")
                if (environ.get(n) or "").strip()
            ),
            "",
        )
        if not resolved_region:
            raise ConfigError("Bedrock needs a region: pass region= or set AWS_REGION or AWS_DEFAULT_REGION")
        return {
            "base_url": _url(resolved_region, base_url, environ),
            "authorizer": authorizer,
            "model": model,
        }
    authorizer, resolved_region = _credentials()(
        region,
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        session_token=session_token,
        profile=profile,
        api_key=api_key,
        environ=environ,
    )
    return {"base_url": _url(resolved_region, base_url, environ), "authorizer": authorizer, "model": model}


def _url(region: str, base_url: Optional[str], environ: Mapping[str, str]) -> str:
    default_url = bedrock_url(region)  # checks the region even where another URL is used
    if base_url is not None:
        return check_base_url(base_url, "base_url")
    name = next((n for n in ENDPOINT_ENV if (environ.get(n) or "").strip()), None)
    return check_base_url(environ[name], name) if name is not None else default_url
