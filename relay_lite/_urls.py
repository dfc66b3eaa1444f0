"""Joining a configured base URL and a call's path, keeping the base URL's query string.

A base URL may carry a query that every request must keep (Azure OpenAI's
``?api-version=2024-10-21``, a gateway's ``?tenant=acme``). The path of each call goes
*before* that query, never after it, and a query the call brings itself is appended
after the base URL's parameters (both are kept; nothing is decoded or re-encoded, so
the bytes the caller configured are the bytes sent).
"""

from __future__ import annotations

__all__ = ["join_url", "split_query"]


def split_query(base_url: str) -> tuple[str, str]:
    """``(url without query, query)``; a fragment (never sent by HTTP) is dropped."""
    url = base_url.split("#", 1)[0]
    head, _, query = url.partition("?")
    return head.rstrip("/"), query


def join_url(base: str, query: str, path: str) -> str:
    """``base + path`` with ``query`` (the base URL's) merged into the path's own query.

    >>> join_url("https://x/openai/deployments/d", "api-version=1", "/chat/completions")
    'https://x/openai/deployments/d/chat/completions?api-version=1'
    """
    if not query:
        return base + path
    path, _, own = path.partition("?")
    return f"{base}{path}?{query}&{own}" if own else f"{base}{path}?{query}"
