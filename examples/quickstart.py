"""Send one chat and stream another.

Runs against the real API when OPENAI_API_KEY (or RELAY_LITE_API_KEY) is set, and against
relay_lite's built-in fake server otherwise:

    python examples/quickstart.py
"""

import os

import relay_lite
from relay_lite.testing import FakeServer


def main(client: relay_lite.Client) -> None:
    reply = client.chat().system("Be brief.").user("Hello!").temperature(0.2).send()
    print("reply:", reply.text)
    print("usage:", reply.usage.input_tokens, "in,", reply.usage.output_tokens, "out")

    with client.chat().user("Count to 5").stream() as stream:
        for piece in stream.text():
            print(piece, end="", flush=True)
    print()
    print("finish_reason:", stream.response.finish_reason)


if __name__ == "__main__":
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("RELAY_LITE_API_KEY"):
        with relay_lite.Client.openai() as client:
            main(client)
    else:
        with (
            FakeServer.openai() as server,
            relay_lite.Client.compatible(server.url, model="fake-model") as client,
        ):
            main(client)
