"""An AWS Lambda handler. urllib3 already ships in the Lambda Python runtime (with boto3),
so deploying relay_lite means copying one pure-Python folder.

The client is created once per container, outside the handler, so warm invocations
reuse its connection pool. Keep RELAY_LITE_TIMEOUT below the function's own timeout so
a slow provider raises a clear DeadlineExceeded instead of the function being killed.

Environment: OPENAI_API_KEY (or RELAY_LITE_PROVIDER + its key), RELAY_LITE_TIMEOUT=25.
"""

import json

import relay_lite

client = relay_lite.Client()


def handler(event, context):
    prompt = (event or {}).get("prompt", "Say hello.")
    try:
        reply = client.chat().user(prompt).send()
    except relay_lite.RateLimitError as exc:
        return {"statusCode": 429, "body": json.dumps({"error": str(exc)})}
    except relay_lite.RelayError as exc:
        return {"statusCode": 502, "body": json.dumps({"error": str(exc), "attempts": exc.attempts})}
    return {
        "statusCode": 200,
        "body": json.dumps({"text": reply.text, "tokens": reply.usage.total_tokens}),
    }
