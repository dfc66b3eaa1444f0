"""SigV4 on any endpoint: ``relay_lite.aws_sigv4`` with ``Client.compatible`` end to end.

A real loopback FakeServer plays an OpenAI-compatible server behind AWS auth (API Gateway
style): it checks each request's signature with the same credentials, the way the
service would, and answers in OpenAI's chat-completion shape.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

import relay_lite
from relay_lite import AuthenticationError, Client, RetryPolicy
from relay_lite._sigv4 import AWSCredentials, check_signature, sign_headers
from relay_lite.testing import FakeServer, RecordedRequest, Reply

KEY_ID = "AKIDENDTOENDTEST"
SECRET = "endToEndSecretKey/abc+123"
TOKEN = "endToEndSessionToken=="
CREDENTIALS = AWSCredentials(KEY_ID, SECRET, TOKEN)
START = datetime(2026, 12, 3, 12, 0, 0, tzinfo=timezone.utc).timestamp()
NO_WAIT = RetryPolicy(max_retries=2, backoff=0, max_backoff=0)

# OpenAI's chat.completion object, as api.openai.com sends it (fields in its order).
COMPLETION = {
    "id": "chatcmpl-sigv4",
    "object": "chat.completion",
    "created": 1764763200,
    "model": "my-model",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "signed and served", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
}


class StepClock:
    """Epoch seconds, one second later at each reading."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        value = self.now
        self.now += 1
        return value


def signed_correctly(request: RecordedRequest) -> bool:
    url = "http://" + request.headers["host"] + request.path
    return check_signature(
        request.method,
        url,
        request.headers,
        request.body,
        CREDENTIALS,
        region="us-east-1",
        service="execute-api",
    )


def gateway(*statuses: int):  # type: ignore[no-untyped-def]
    """A gateway answering ``statuses`` in turn (then 200s), refusing bad signatures with 403."""
    remaining = list(statuses)

    def handler(request: RecordedRequest) -> Reply:
        if not signed_correctly(request):
            return Reply.json({"message": "The request signature we calculated does not match"}, status=403)
        if remaining:
            return Reply.json({"message": "Service Unavailable"}, status=remaining.pop(0))
        return Reply.json(COMPLETION)

    return handler


def signer(**options: object) -> relay_lite.SigV4Authorizer:
    return relay_lite.aws_sigv4(
        service="execute-api",
        region="us-east-1",
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        session_token=TOKEN,
        clock=StepClock(),
        environ={},
        **options,  # type: ignore[arg-type]
    )


def test_signed_call_is_accepted_by_a_verifying_server() -> None:
    with FakeServer(gateway()) as server:
        client = Client.compatible(server.url + "/v1", authorizer=signer())
        reply = client.chat("my-model").user("Hello").send()
    assert reply.text == "signed and served"
    (request,) = server.requests
    assert request.headers["x-amz-date"] == "20261203T120000Z"
    assert request.headers["x-amz-security-token"] == TOKEN
    assert request.headers["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={KEY_ID}/20261203/us-east-1/execute-api/aws4_request, "
        "SignedHeaders=accept;accept-encoding;content-type;host;x-amz-date;x-amz-security-token, Signature="
    )


def test_retry_after_503_carries_a_fresh_date_and_signature() -> None:
    with FakeServer(gateway(503)) as server:
        client = Client.compatible(server.url + "/v1", authorizer=signer(), retry=NO_WAIT)
        reply = client.chat("my-model").user("Hello").send()
    assert reply.text == "signed and served"
    first, second = server.requests
    assert (first.headers["x-amz-date"], second.headers["x-amz-date"]) == (
        "20261203T120000Z",
        "20261203T120001Z",
    )
    assert first.headers["authorization"] != second.headers["authorization"]
    assert first.body == second.body
    assert all(signed_correctly(request) for request in server.requests)


@pytest.mark.parametrize(
    ("base_path", "received"),
    [
        ("/stage/a%3ab", "/stage/a%3Ab/chat/completions"),
        ("/stage/v1^beta", "/stage/v1%5Ebeta/chat/completions"),
        ("/stage/caf\u00e9", "/stage/caf%C3%A9/chat/completions"),
        ("/stage/x|y{z}", "/stage/x%7Cy%7Bz%7D/chat/completions"),
    ],
)
def test_path_is_signed_as_urllib3_sends_it(base_path: str, received: str) -> None:
    # The gateway re-signs the path it received, as AWS does: urllib3 encoded "^", "é",
    # "|" and "{" and upper-cased "%3a" before sending (Client refuses a raw space).
    with FakeServer(gateway()) as server:
        client = Client.compatible(server.url + base_path, authorizer=signer(), retry=NO_WAIT)
        reply = client.chat("my-model").user("Hello").send()
    assert reply.text == "signed and served"
    (request,) = server.requests
    assert request.path == received


def test_content_sha256_header_is_sent_and_verified() -> None:
    with FakeServer(gateway()) as server:
        client = Client.compatible(server.url + "/v1", authorizer=signer(content_sha256_header=True))
        client.chat("my-model").user("Hello").send()
    (request,) = server.requests
    assert "x-amz-content-sha256" in request.headers["authorization"]
    assert signed_correctly(request)


def test_wrong_secret_is_refused_by_the_verifying_server() -> None:
    wrong = relay_lite.aws_sigv4(
        service="execute-api", region="us-east-1", access_key_id=KEY_ID, secret_access_key="not-the-secret",
        session_token=TOKEN, environ={},
    )  # fmt: skip
    with FakeServer(gateway()) as server:
        client = Client.compatible(server.url + "/v1", authorizer=wrong, retry=NO_WAIT)
        with pytest.raises(relay_lite.PermissionDeniedError):
            client.chat("my-model").user("Hello").send()


def test_signature_and_secrets_stay_out_of_errors_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    def echo(request: RecordedRequest) -> Reply:
        # A gateway that quotes everything it was sent back in its 401.
        quoted = f"{request.headers['authorization']} token={request.headers['x-amz-security-token']}"
        return Reply.json({"error": {"message": f"rejected {quoted}", "type": "auth"}}, status=401)

    caplog.set_level(logging.DEBUG, logger="relay_lite")
    authorizer = signer()
    with FakeServer(echo) as server:
        client = Client.compatible(server.url + "/v1", authorizer=authorizer, retry=NO_WAIT)
        with pytest.raises(AuthenticationError) as caught:
            client.chat("my-model").user("Hello").send()
    sent = server.requests[0].headers["authorization"]
    signature = sent.rpartition("Signature=")[2]
    said = " ".join([str(caught.value), repr(caught.value), repr(caught.value.body), caplog.text])
    for secret in (SECRET, TOKEN, signature):
        assert secret not in said
    assert "rejected [REDACTED]" in str(caught.value)


def test_check_signature_accepts_the_suite_request_and_refuses_a_changed_one() -> None:
    suite = AWSCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    now = datetime(2015, 8, 30, 12, 36, tzinfo=timezone.utc)
    url = "https://example.amazonaws.com/model/a%3Ab/converse"
    headers = {"Content-Type": "application/json"}
    headers.update(
        sign_headers("POST", url, headers, b"{}", suite, region="us-east-1", service="bedrock", now=now)
    )
    verify = {"region": "us-east-1", "service": "bedrock"}
    assert check_signature("POST", url, headers, b"{}", suite, **verify) is True
    assert check_signature("POST", url, headers, b"{ }", suite, **verify) is False
    assert check_signature("POST", url.replace("%3A", ":"), headers, b"{}", suite, **verify) is False
    assert (
        check_signature("POST", url, dict(headers, **{"Content-Type": "text/plain"}), b"{}", suite, **verify)
        is False
    )
    assert check_signature("POST", url, {"Authorization": "Bearer x"}, b"{}", suite, **verify) is False


def test_sigv4_exports_load_lazily() -> None:
    # configparser is loaded only when a shared AWS file is read (Python 3.9's own start-up
    # may load it, so only what each step adds is compared).
    code = (
        "import json, sys\n"
        "import relay_lite\n"
        "mine = ('relay_lite._sigv4', 'relay_lite._aws_credentials')\n"
        "loaded = [m for m in mine if m in sys.modules]\n"
        "before = set(sys.modules)\n"
        "relay_lite.aws_sigv4\n"
        "added = sorted(m for m in set(sys.modules) - before if m in mine or m == 'configparser')\n"
        "print(json.dumps([loaded, added]))\n"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=str(root), capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(out.stdout) == [[], ["relay_lite._aws_credentials", "relay_lite._sigv4"]]
    assert {"aws_sigv4", "AWSCredentials", "SigV4Authorizer"} <= set(relay_lite.__all__)
