"""Shared test set-up: the developer's own environment must not change what tests see."""

from __future__ import annotations

import os

import pytest

# Proxies would send loopback traffic elsewhere; RELAY_LITE_* and provider keys would
# change clients built from the environment.
_CLEARED_PREFIXES = ("RELAY_LITE_", "RUSTY_AGENT_")
_CLEARED = {
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "OPENROUTER_API_KEY",
    "MODELRELAY_API_KEY",
    # the official SDKs' variables relay_lite also reads
    "OPENAI_BASE_URL",
    "ANTHROPIC_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "REQUESTS_CA_BUNDLE",
}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper() in _CLEARED or name.startswith(_CLEARED_PREFIXES):
            monkeypatch.delenv(name, raising=False)
