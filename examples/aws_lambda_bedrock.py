"""An AWS Lambda handler calling Amazon Bedrock (Converse) with the function's own role.

No boto3 import: Lambda puts the role's temporary credentials in the environment
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``) with
``AWS_REGION``, and ``relay_lite.Client.bedrock()`` signs each request with them (SigV4).
The role needs ``bedrock:InvokeModel`` on the model (``bedrock:InvokeModelWithResponseStream``
to stream).

- One client per container, built on the first invocation and kept in a module global:
  warm invocations reuse its connections.
- Each call's total deadline is the invocation's remaining time less ``MARGIN_SECONDS``
  (``relay_lite.lambda_deadline``), so a slow model ends in a 504 of our own, not a kill.

Environment in Lambda: set ``BEDROCK_MODEL_ID`` (a model id or an inference-profile id).

Run it locally, with no AWS account, against relay_lite's fake Bedrock server (which checks
the SigV4 signature made with its known test keys) and a fake Lambda context:

    python examples/aws_lambda_bedrock.py
"""

import json
import os
import time

import relay_lite

MARGIN_SECONDS = 1.0
DEFAULT_MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"

_client = None


def get_client():
    """The container's one Bedrock client (region and credentials from the environment)."""
    global _client
    if _client is None:
        _client = relay_lite.Client.bedrock(model=os.environ.get("BEDROCK_MODEL_ID", DEFAULT_MODEL))
    return _client


def handler(event, context):
    prompt = (event or {}).get("prompt", "Say hello.")
    client = get_client()
    try:
        timeouts = relay_lite.lambda_deadline(context, margin_s=MARGIN_SECONDS, base=client.config.timeouts)
        reply = client.chat().user(prompt).max_tokens(256).timeout(timeouts).send()
    except relay_lite.DeadlineExceeded as exc:
        body = {"error": "the model did not answer in time", "attempts": exc.attempts}
        return {"statusCode": 504, "body": json.dumps(body)}
    except relay_lite.RateLimitError as exc:  # Bedrock's ThrottlingException, after retries
        return {"statusCode": 429, "body": json.dumps({"error": exc.message, "attempts": exc.attempts})}
    except relay_lite.RelayError as exc:
        return {"statusCode": 502, "body": json.dumps({"error": str(exc)})}
    body = {"text": reply.text, "tokens": reply.usage.total_tokens, "stop": reply.finish_reason}
    return {"statusCode": 200, "body": json.dumps(body)}


class LocalContext:
    """Stands in for Lambda's context object: the same ``get_remaining_time_in_millis()``."""

    aws_request_id = "local-invocation"

    def __init__(self, timeout_seconds: float) -> None:
        self._ends_at = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._ends_at - time.monotonic()) * 1000))


if __name__ == "__main__":
    if os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_BEARER_TOKEN_BEDROCK"):
        print(handler({"prompt": "Say hello."}, LocalContext(30.0)))
    else:
        from relay_lite._fake_bedrock import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY, error_reply
        from relay_lite.testing import FakeServer

        with FakeServer.bedrock() as server:
            print(f"No AWS credentials set: using the built-in fake Bedrock server at {server.url}")
            # What Lambda would set for the function's role (here: the fake's test keys).
            os.environ.update(
                AWS_REGION="us-east-1",
                AWS_ACCESS_KEY_ID=FAKE_ACCESS_KEY_ID,
                AWS_SECRET_ACCESS_KEY=FAKE_SECRET_ACCESS_KEY,
                AWS_SESSION_TOKEN="fake-session-token",
                AWS_ENDPOINT_URL_BEDROCK_RUNTIME=server.url,
            )
            print(handler({"prompt": "ping"}, LocalContext(3.0)))
            authorization = server.requests[-1].headers["authorization"]
            print("signed with SigV4:", authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"))
            # A throttled model: the client retries, then the handler answers 429 itself.
            throttled = error_reply(429, "ThrottlingException", "Too many requests, please wait.")
            server.add(throttled, throttled, throttled)
            print(handler({"prompt": "ping"}, LocalContext(10.0)))
            _client.close()
