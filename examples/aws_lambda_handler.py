"""An AWS Lambda handler. urllib3 already ships in the Lambda Python runtime (with boto3),
so deploying relay_lite means copying one pure-Python folder.

- One client per container: it is built on the first invocation and kept in a module
  global, so warm invocations reuse its connection pool (no new TLS handshake).
- Each call's total deadline comes from the invocation's remaining time
  (``relay_lite.lambda_deadline``), less ``MARGIN_SECONDS`` kept for answering: a slow
  provider raises ``DeadlineExceeded`` and the handler still returns a 504 of its own
  instead of being killed by Lambda with nothing said.

Environment in Lambda: OPENAI_API_KEY (or RELAY_LITE_PROVIDER + its key, RELAY_LITE_MODEL).

Run it locally, with no key, against relay_lite's fake server and a fake context:

    python examples/aws_lambda_handler.py
"""

import json
import os
import time

import relay_lite

# Seconds kept back from the invocation's time to build and return the answer.
MARGIN_SECONDS = 1.0

_client = None


def get_client():
    """The container's one client, built on first use (configured from the environment)."""
    global _client
    if _client is None:
        _client = relay_lite.Client()
    return _client


def handler(event, context):
    prompt = (event or {}).get("prompt", "Say hello.")
    client = get_client()
    try:
        # Read the remaining time right before the call; None (a call by hand) means no limit.
        timeouts = relay_lite.lambda_deadline(context, margin_s=MARGIN_SECONDS, base=client.config.timeouts)
        reply = client.chat().user(prompt).timeout(timeouts).send()
    except relay_lite.DeadlineExceeded as exc:
        body = {"error": "the model did not answer in time", "attempts": exc.attempts}
        return {"statusCode": 504, "body": json.dumps(body)}
    except relay_lite.RateLimitError as exc:
        return {"statusCode": 429, "body": json.dumps({"error": str(exc)})}
    except relay_lite.RelayError as exc:
        return {"statusCode": 502, "body": json.dumps({"error": str(exc), "attempts": exc.attempts})}
    return {
        "statusCode": 200,
        "body": json.dumps({"text": reply.text, "tokens": reply.usage.total_tokens}),
    }


class LocalContext:
    """Stands in for Lambda's context object: the same ``get_remaining_time_in_millis()``."""

    aws_request_id = "local-invocation"

    def __init__(self, timeout_seconds: float) -> None:
        self._ends_at = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._ends_at - time.monotonic()) * 1000))


def _invoke(event, timeout_seconds: float) -> None:
    context = LocalContext(timeout_seconds)
    answer = handler(event, context)
    spare = context.get_remaining_time_in_millis() / 1000.0
    print(answer)
    print(f"returned before the function's {timeout_seconds:g} s timeout: {spare > 0}")


if __name__ == "__main__":
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("RELAY_LITE_API_KEY"):
        _invoke({"prompt": "Say hello."}, 30.0)
    else:
        from relay_lite.testing import FakeServer, Reply

        with FakeServer.openai() as server:
            print(f"No API key set: using the built-in fake server at {server.url}")
            _client = relay_lite.Client.compatible(server.url, model="fake-model")
            _invoke({"prompt": "ping"}, 3.0)  # the first (cold) invocation answers at once
            # Warm invocation, slow provider: one byte every 0.1 s would take far longer
            # than the 2.5 s function timeout; the 1.5 s deadline stops it in time.
            server.add(Reply.drip(json.dumps({"choices": [], "padding": "." * 100}), 0.1))
            _invoke({"prompt": "ping"}, 2.5)
            _client.close()
