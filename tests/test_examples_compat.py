"""The rusty-agent-sdk README examples run unchanged (bar the import) against the fake server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY_VARIABLES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENROUTER_API_KEY", "MODELRELAY_API_KEY")


def test_rusty_agent_sdk_readme_example_prints_exactly_this():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in KEY_VARIABLES and not k.startswith(("RELAY_LITE_", "RUSTY_AGENT_"))
    }
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "examples/rusty_agent_sdk_readme.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "Echo: Say hello in one sentence.\n"
        "Echo: Count to 3.\n"
        "Provider(model='gpt-4o-mini', base_url='https://api.openai.com/v1')\n"
        # generate_text(include_usage=True): text, str(result), usage, finish reason, model
        "Echo: Hello!\nEcho: Hello!\n1\n2\n3\nstop\nfake-model\n"
        # stream_text(include_usage=True): the text, then the metadata filled at the end
        "Echo: Hello!\n1\n2\n3\nstop\nfake-model\n"
    )
