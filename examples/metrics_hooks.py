"""Feeding relay_lite's hooks to CloudWatch (embedded metric format) and OpenTelemetry.

Both are user code: relay_lite itself imports neither. The CloudWatch part only prints
JSON lines (in Lambda, CloudWatch Logs turns each into metrics); the OpenTelemetry part
runs when ``opentelemetry-api`` is installed and uses the GenAI semantic conventions
(``gen_ai.*`` attribute names), and is skipped otherwise.

    python examples/metrics_hooks.py      # fake server unless OPENAI_API_KEY is set
"""

import json
import os
import threading
import time

import relay_lite
from relay_lite.testing import FakeServer

NAMESPACE = "relay_lite"


def emf_line(model, figures, units):
    """One CloudWatch embedded-metric-format record: ``figures`` by name, one dimension."""
    metrics = [{"Name": name, "Unit": units[name]} for name in figures]
    record = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [["Model"]], "Metrics": metrics}],
        },
        "Model": model or "unknown",
    }
    record.update(figures)
    return json.dumps(record)


class CloudWatchMetrics:
    """Hooks printing one EMF line per response, stream end and usage report."""

    def install(self, client):
        self.model = client.config.model
        client.on("response", self.on_response)
        client.on("stream_end", self.on_stream_end)
        client.on("usage", self.on_usage)

    def on_response(self, info):
        print(
            emf_line(self.model, {"LatencyMs": round(info.elapsed * 1000, 1)}, {"LatencyMs": "Milliseconds"})
        )

    def on_stream_end(self, stats):
        figures = {"StreamDurationMs": round(stats.duration * 1000, 1)}
        if stats.ttft is not None:
            figures["TimeToFirstTokenMs"] = round(stats.ttft * 1000, 1)
        if stats.gap_p95 is not None:
            figures["InterTokenGapP95Ms"] = round(stats.gap_p95 * 1000, 1)
        print(emf_line(self.model, figures, dict.fromkeys(figures, "Milliseconds")))

    def on_usage(self, report):
        usage = report.usage
        figures = {"InputTokens": usage.input_tokens or 0, "OutputTokens": usage.output_tokens or 0}
        print(emf_line(report.model or self.model, figures, dict.fromkeys(figures, "Count")))


class OpenTelemetrySpans:
    """One ``chat {model}`` span per call, with GenAI semantic-convention attributes.

    Hooks are not told which call they belong to, so this keeps the open call per
    thread: a relay_lite call runs on its caller's thread from request to usage.
    """

    def __init__(self, tracer, provider_name):
        self.tracer = tracer
        self.provider_name = provider_name
        self.local = threading.local()

    def install(self, client):
        self.model = client.config.model
        client.on("request", self.on_request)
        client.on("first_token", self.on_first_token)
        client.on("usage", self.on_usage)

    def on_request(self, info):
        if info.attempt > 1:  # a retry belongs to the span already open
            return
        span = self.tracer.start_span(f"chat {self.model}")
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.provider.name", self.provider_name)
        span.set_attribute("gen_ai.request.model", self.model)
        span.set_attribute("server.address", info.url.split("://", 1)[-1].split("/", 1)[0])
        self.local.span = span

    def on_first_token(self, info):
        span = getattr(self.local, "span", None)
        if span is not None:
            span.add_event("gen_ai.first_token", {"gen_ai.server.time_to_first_token": info.ttft})

    def on_usage(self, report):
        span = getattr(self.local, "span", None)
        if span is None:
            return
        if report.model:
            span.set_attribute("gen_ai.response.model", report.model)
        if report.request_id:
            span.set_attribute("gen_ai.response.id", report.request_id)
        span.set_attribute("gen_ai.usage.input_tokens", report.usage.input_tokens or 0)
        span.set_attribute("gen_ai.usage.output_tokens", report.usage.output_tokens or 0)
        span.end()
        self.local.span = None


def main(client):
    CloudWatchMetrics().install(client)
    try:
        from opentelemetry import trace
    except ImportError:
        print("(opentelemetry-api not installed: spans skipped)")
    else:
        OpenTelemetrySpans(trace.get_tracer("relay_lite.example"), client.config.provider).install(client)
    client.chat().user("Hello!").send()
    with client.chat().user("Count to 5").stream() as stream:
        for _ in stream.text():
            pass


if __name__ == "__main__":
    if os.environ.get("OPENAI_API_KEY"):
        with relay_lite.Client.openai(model=os.environ.get("RELAY_LITE_MODEL", "gpt-4o-mini")) as client:
            main(client)
    else:
        with (
            FakeServer.openai() as server,
            relay_lite.Client.compatible(server.url, model="fake-model") as client,
        ):
            main(client)
