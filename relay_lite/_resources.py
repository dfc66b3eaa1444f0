"""What the operations beside chat return: ``Embeddings`` and ``ModelInfo``.

Neutral records, like ``_models`` is for chat: the protocol adapters build them from
their providers' bodies (``protocols/_embeddings.py``, ``protocols/_model_lists.py``) and
``Client.embed`` / ``Client.models`` hand them to the caller. Loaded on first use.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Optional

from ._models import Usage
from ._record import Record, factory

__all__ = ["Embeddings", "ModelInfo", "sum_usage"]


def sum_usage(first: Usage, second: Usage) -> Usage:
    """Counts of two calls added; a count either call left unreported stays unknown."""

    def add(a: Optional[int], b: Optional[int]) -> Optional[int]:
        return None if a is None or b is None else a + b

    return Usage(
        input_tokens=add(first.input_tokens, second.input_tokens),
        total_tokens=add(first.total_tokens, second.total_tokens),
    )


class Embeddings(Record):
    """Embedding vectors, one per input, in the order the inputs were given.

    ``vectors`` holds lists of floats; ``usage.input_tokens`` and ``usage.total_tokens``
    are summed over every request the inputs took (None if any request left them out);
    ``model`` is the model the provider reported. It is also a sequence of its vectors:
    ``len(result)``, ``result[0]``, ``for vector in result``.
    """

    _hidden_in_repr = frozenset({"vectors"})

    vectors: tuple[list[float], ...] = ()
    model: Optional[str] = None
    usage: Usage = factory(default_factory=Usage)
    #: How many HTTP requests the inputs took (one per batch).
    requests: int = 0

    @property
    def dimensions(self) -> Optional[int]:
        """The length of each vector (None when there are none)."""
        return len(self.vectors[0]) if self.vectors else None

    def __len__(self) -> int:
        return len(self.vectors)

    def __iter__(self) -> Iterator[list[float]]:
        return iter(self.vectors)

    def __getitem__(self, index: int) -> list[float]:
        return self.vectors[index]

    def __repr__(self) -> str:  # the vectors can be megabytes: their shape only
        return (
            f"Embeddings(count={len(self.vectors)}, dimensions={self.dimensions}, "
            f"model={self.model!r}, usage={self.usage!r}, requests={self.requests})"
        )


class ModelInfo(Record):
    """One model a provider lists: its id and what the provider says about it.

    ``created`` is Unix seconds (OpenAI's ``created``; Anthropic's ``created_at`` converted),
    ``owned_by`` is OpenAI's, ``display_name`` the name for people (Anthropic, Together AI,
    OpenRouter); each is None when not given.
    ``raw`` is the provider's object as sent.
    """

    _hidden_in_repr = frozenset({"raw"})

    id: str
    created: Optional[int] = None
    owned_by: Optional[str] = None
    display_name: Optional[str] = None
    raw: Mapping[str, Any] = factory(default_factory=dict)
