"""The README's "Embeddings, models and token counts" examples run as-is against the fake
server and print what their comments say."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Embeddings, models and token counts"


def examples() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_section_has_one_example_per_operation():
    assert [("embed(" in e, ".models(" in e, "count_tokens()" in e) for e in examples()] == [
        (True, False, False),
        (False, True, False),
        (False, False, True),
    ]


@pytest.mark.parametrize("example", examples(), ids=["embeddings", "models", "token_counts"])
def test_readme_example_prints_what_its_comments_say(example):
    expected = [line.rsplit("# ", 1)[1] for line in example.splitlines() if "print(" in line]
    env = {
        k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("RELAY_LITE_")
    }
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-c", example], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == expected
