"""What ``Client.bedrock`` resolves: the Bedrock Runtime URL, the region and the authorizer.

Credentials and region come from ``relay_lite._aws_credentials.bedrock_authorizer``, in
the order AWS tools use (explicit arguments, a Bedrock API key, the environment Lambda
sets, the shared files, container credentials): a SigV4 signer with signing name
``bedrock``, or a bearer-token authorizer for a Bedrock API key. An authorizer passed in
(a ``SigV4Authorizer`` of your own) is used as it is. The URL is
``https://bedrock-runtime.{region}.amazonaws.com`` unless ``base_url=`` or the AWS SDKs'
endpoint variables (``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``, then ``AWS_ENDPOINT_URL``) name
another, as for a VPC endpoint, a proxy or a local fake.

Loaded by ``Client.bedrock`` only: ``import relay_lite`` does not pay for it.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional

from ._aws_credentials import bedrock_authorizer, resolve_region
from ._config import check_base_url

__all__ = ["ENDPOINT_ENV", "bedrock_url", "resolve_bedrock"]

#: The AWS SDKs' service-specific endpoint variable, then their global one.
ENDPOINT_ENV = ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL")


def bedrock_url(region: str) -> str:
    """The Bedrock Runtime endpoint of ``region`` (already checked as a region name)."""
    return f"https://bedrock-runtime.{region}.amazonaws.com"


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
    """The ``Client`` arguments for Bedrock: ``base_url``, ``authorizer``, ``model``."""
    environ = os.environ if env is None else env
    if authorizer is not None:
        resolved_region = resolve_region(region, profile=profile, environ=environ)
    else:
        authorizer, resolved_region = bedrock_authorizer(
            region,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            session_token=session_token,
            profile=profile,
            api_key=api_key,
            environ=environ,
        )
    if base_url is not None:
        url = check_base_url(base_url, "base_url")
    else:
        name = next((n for n in ENDPOINT_ENV if (environ.get(n) or "").strip()), None)
        url = check_base_url(environ[name], name) if name is not None else bedrock_url(resolved_region)
    return {"base_url": url, "authorizer": authorizer, "model": model}
