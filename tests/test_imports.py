"""Tests of DESIGN.md section 1's promises about dependencies and import cost: importing
relay_lite loads only the standard library and urllib3, rare parts load lazily, and no
module in the package imports anything else."""

from __future__ import annotations

import ast
import configparser
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "relay_lite"

# Modules that must not be loaded by a bare ``import relay_lite``.
LAZY_MODULES = [
    "relay_lite._structured",
    "relay_lite._schema",
    "relay_lite._validate",
    "relay_lite._partial_json",
    "relay_lite.compat",
    "relay_lite.testing",
    "relay_lite.cli",
    "relay_lite._fake_chat",
    "relay_lite.platform",
    "relay_lite.platform.agents",
    "relay_lite.platform.agent_events",
    "relay_lite.platform.modelrelay",
    "relay_lite.protocols.anthropic",
    "relay_lite.protocols.modelrelay",
    "http.server",
    # The stream machinery: loaded by the first stream (issue 14: a cold process making one
    # plain call never pays for it).
    "relay_lite._stream",
    "relay_lite._sse",
    "relay_lite.protocols._framing",
    "relay_lite._hook_events",
    "relay_lite._chunked",  # with the first chunked body
]

# Modules a client making one plain (non-stream) call must still not have loaded.
NOT_LOADED_BY_A_PLAIN_CALL = [
    "relay_lite._stream",
    "relay_lite._sse",
    "relay_lite.protocols._framing",
    "relay_lite._hook_events",
]

# Modules that may import the standard library and relay_lite only (not even urllib3).
STDLIB_ONLY_FILES = {"testing.py", "_fake_chat.py"}


def _stdlib_from_disk() -> frozenset[str]:
    """Top-level standard-library names found in the stdlib directory, plus builtins.

    The fallback for Python 3.9, which has no ``sys.stdlib_module_names``."""
    names = set(sys.builtin_module_names)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for directory in (stdlib, stdlib / "lib-dynload"):
        if not directory.is_dir():
            continue
        for entry in directory.iterdir():
            if entry.name in ("site-packages", "dist-packages"):
                continue
            if entry.is_dir() and (entry / "__init__.py").exists():
                names.add(entry.name)
            elif entry.suffix == ".py":
                names.add(entry.stem)
            elif entry.suffix in (".so", ".pyd"):
                names.add(entry.name.split(".", 1)[0])
    return frozenset(names)


def stdlib_names() -> frozenset[str]:
    names = getattr(sys, "stdlib_module_names", None)
    return frozenset(names) if names is not None else _stdlib_from_disk()


def run_python(code: str) -> str:
    """Run ``code`` in a fresh interpreter with the repository first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=str(ROOT),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# Snapshot sys.modules inside the child: the system Python may import extra modules
# (certifi via a .pth file) at start-up, before relay_lite is ever touched.
IMPORT_PROBE = """
import json, sys
before = set(sys.modules)
import relay_lite
after = set(sys.modules)
print(json.dumps({"new": sorted(after - before), "all": sorted(after),
                  "file": relay_lite.__file__}))
"""


@pytest.fixture(scope="module")
def import_probe() -> dict[str, Any]:
    return json.loads(run_python(IMPORT_PROBE))


def test_probe_imports_this_checkout(import_probe: dict[str, Any]) -> None:
    assert Path(import_probe["file"]).resolve() == (PACKAGE / "__init__.py").resolve()


def test_import_loads_only_stdlib_urllib3_and_relay_lite(import_probe: dict[str, Any]) -> None:
    allowed = stdlib_names() | {"relay_lite", "urllib3"}
    new_top_level = {name.split(".", 1)[0] for name in import_probe["new"]}
    assert "relay_lite" in new_top_level
    assert sorted(new_top_level - allowed) == []


@pytest.mark.parametrize("module", LAZY_MODULES)
def test_import_does_not_load_lazy_part(import_probe: dict[str, Any], module: str) -> None:
    assert module not in import_probe["all"]


def test_stdlib_fallback_list_knows_the_usual_modules() -> None:
    names = _stdlib_from_disk()
    for name in ("json", "http", "urllib", "ssl", "socket", "logging", "dataclasses", "sys", "__future__"):
        assert name in names
    for name in ("urllib3", "relay_lite", "pytest", "site-packages"):
        assert name not in names


def test_fake_server_loads_lazily_on_first_access() -> None:
    code = """
import json, sys
import relay_lite
before = "relay_lite.testing" in sys.modules
server_cls = relay_lite.FakeServer
import relay_lite.testing
print(json.dumps({"before": before, "after": "relay_lite.testing" in sys.modules,
                  "same": server_cls is relay_lite.testing.FakeServer}))
"""
    assert json.loads(run_python(code)) == {"before": False, "after": True, "same": True}


@pytest.mark.skipif(not (PACKAGE / "compat.py").exists(), reason="relay_lite/compat.py not written yet")
def test_provider_loads_lazily_on_first_access() -> None:
    code = """
import json, sys
import relay_lite
before = "relay_lite.compat" in sys.modules
provider_cls = relay_lite.Provider
import relay_lite.compat
print(json.dumps({"before": before, "after": "relay_lite.compat" in sys.modules,
                  "same": provider_cls is relay_lite.compat.Provider}))
"""
    assert json.loads(run_python(code)) == {"before": False, "after": True, "same": True}


# One non-stream chat call against a stdlib server in the child (a whole reply in the shape
# of OpenAI's chat.completion object), then the list of relay_lite modules it loaded.
PLAIN_CALL_PROBE = """
import json, sys, threading
from http.server import BaseHTTPRequestHandler, HTTPServer

REPLY = json.dumps({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}).encode()

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(REPLY)))
        self.end_headers()
        self.wfile.write(REPLY)

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
import relay_lite
client = relay_lite.Client.compatible(f"http://127.0.0.1:{server.server_port}/v1", api_key="sk-test")
text = client.chat("m").user("Hi").send().text
server.shutdown()
print(json.dumps({"text": text, "loaded": sorted(n for n in sys.modules if n.startswith("relay_lite"))}))
"""


def test_plain_call_does_not_load_the_stream_machinery() -> None:
    result = json.loads(run_python(PLAIN_CALL_PROBE))
    assert result["text"] == "hello"
    assert "relay_lite.protocols.openai" in result["loaded"]  # the probe did reach the adapter
    assert [name for name in NOT_LOADED_BY_A_PLAIN_CALL if name in result["loaded"]] == []


def test_first_stream_puts_the_stream_classes_in_place_of_their_stand_ins() -> None:
    # _client, _transport and _adapter make ChatStream, ChunkedDecoder and SSEDecoder through
    # private stand-ins that import the class on first use and then rebind their own name
    # to it; the class names themselves are not bound there at run time.
    code = """
import json
import relay_lite
from relay_lite.testing import ChatScript, FakeServer
import relay_lite._client as client_module, relay_lite._transport as transport
import relay_lite.protocols._adapter as adapter
places = ((client_module, "_new_chat_stream"), (transport, "_new_chunked_decoder"),
          (adapter, "_new_sse_decoder"))
before = [isinstance(m.__dict__[n], type) for m, n in places]
absent = [hasattr(client_module, "ChatStream"), hasattr(transport, "ChunkedDecoder"),
          hasattr(adapter, "SSEDecoder")]
with FakeServer.openai() as fake:
    fake.add(ChatScript(text="abcdef", chunk_size=2))
    fake.add(ChatScript(text="ghi", chunk_size=1))
    client = relay_lite.Client.compatible(fake.url + "/v1", api_key="sk-test")
    texts = []
    for _ in range(2):
        with client.chat("m").user("hi").stream() as stream:
            texts.append("".join(stream.text()))
import relay_lite._chunked, relay_lite._sse, relay_lite._stream
print(json.dumps({"before": before, "absent": absent, "texts": texts, "after": [
    client_module._new_chat_stream is relay_lite._stream.ChatStream,
    transport._new_chunked_decoder is relay_lite._chunked.ChunkedDecoder,
    adapter._new_sse_decoder is relay_lite._sse.SSEDecoder]}))
"""
    assert json.loads(run_python(code)) == {
        "before": [False, False, False],
        "absent": [False, False, False],
        "texts": ["abcdef", "ghi"],
        "after": [True, True, True],
    }


def test_lazily_loaded_core_names_are_the_defining_modules_objects() -> None:
    code = """
import json, sys
import relay_lite, relay_lite.protocols, relay_lite.protocols._adapter as adapter
from relay_lite import ChatStream
from relay_lite.protocols import Decoder, StreamParser
import relay_lite._stream, relay_lite.protocols._framing as framing
import relay_lite._hooks as hooks
from relay_lite._hooks import StreamStats, UsageReport
import relay_lite._hook_events as hook_events
print(json.dumps({
    "chat_stream": ChatStream is relay_lite._stream.ChatStream is relay_lite.ChatStream,
    "decoder": Decoder is framing.Decoder is adapter.Decoder,
    "parser": StreamParser is framing.StreamParser is adapter.StreamParser,
    "aliases": (adapter.ChatDecoder is framing.ChatDecoder
                and adapter.ChatStreamParser is framing.ChatStreamParser),
    "in_all": "ChatStream" in relay_lite.__all__ and "ChatStream" in dir(relay_lite),
    "hook_events": all(getattr(hooks, name) is getattr(hook_events, name) for name in hook_events.__all__),
}))
"""
    assert json.loads(run_python(code)) == {
        "chat_stream": True,
        "decoder": True,
        "parser": True,
        "aliases": True,
        "in_all": True,
        "hook_events": True,
    }


def test_modules_with_lazy_names_refuse_unknown_attributes() -> None:
    import relay_lite.protocols
    import relay_lite.protocols._adapter

    with pytest.raises(AttributeError, match="no_such_thing"):
        relay_lite.protocols.no_such_thing  # noqa: B018
    with pytest.raises(AttributeError, match="no_such_thing"):
        relay_lite.protocols._adapter.no_such_thing  # noqa: B018
    import relay_lite._hooks

    with pytest.raises(AttributeError, match="no_such_thing"):
        relay_lite._hooks.no_such_thing  # noqa: B018


def test_unknown_attribute_raises_attribute_error() -> None:
    import relay_lite

    with pytest.raises(AttributeError, match="no_such_thing"):
        relay_lite.no_such_thing  # noqa: B018


# -- declared and actual dependencies -------------------------------------------------------


def test_setup_cfg_requires_only_urllib3() -> None:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg", encoding="utf-8")
    raw = parser.get("options", "install_requires")
    requirements = [line.strip() for line in raw.splitlines() if line.strip()]
    assert requirements == ["urllib3>=1.26,<3"]


def imported_top_level_names(path: Path) -> set[str]:
    """Top-level names of every absolute import in ``path`` (relative imports are internal)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".", 1)[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".", 1)[0])
    return names


def package_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_package_has_modules_to_check() -> None:
    names = {p.name for p in package_files()}
    assert {"__init__.py", "_config.py", "_errors.py", "_transport.py"} <= names


@pytest.mark.parametrize("path", package_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_stdlib_urllib3_and_relay_lite(path: Path) -> None:
    allowed = stdlib_names() | {"relay_lite"}
    if path.relative_to(PACKAGE).as_posix() not in STDLIB_ONLY_FILES:
        allowed |= {"urllib3"}
    assert sorted(imported_top_level_names(path) - allowed) == []


def test_import_checker_sees_absolute_and_from_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os.path\nimport requests as r\nfrom httpx import Client\n"
        "from . import sibling\nfrom .._x import y\n"
        "def f():\n    import orjson\n"
    )
    assert imported_top_level_names(sample) == {"os", "requests", "httpx", "orjson"}


def test_lazy_names_are_listed_by_dir_and_the_hook_alias_resolves() -> None:
    import relay_lite._hooks as hooks
    import relay_lite.protocols as protocols
    import relay_lite.protocols._adapter as adapter

    assert {"Decoder", "StreamParser", "AdapterFactory"} <= set(dir(protocols))
    assert {"ChatDecoder", "ChatStreamParser", "Decoder", "StreamParser"} <= set(dir(adapter))
    assert {"Hook", "UsageReport", "StreamStats"} <= set(dir(hooks))
    assert "Callable" in repr(hooks.Hook)
