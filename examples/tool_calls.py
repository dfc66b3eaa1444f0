"""A tool-call round trip: the model asks for a tool, we answer, the model replies.

python examples/tool_calls.py          # fake server unless OPENAI_API_KEY is set
"""

import os

import relay_lite
from relay_lite.testing import ChatScript, FakeServer

WEATHER = relay_lite.ToolSpec(
    "get_weather",
    "Current weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def get_weather(city: str) -> dict:
    return {"city": city, "temperature_c": 18}


def main(client: relay_lite.Client) -> None:
    request = client.chat().user("What's the weather in Paris?").tools([WEATHER])
    first = request.send()
    request = request.messages([first.message])  # the reply, tool calls included
    for call in first.tool_calls:
        print(f"model called {call.name}({call.arguments})")
        request = request.tool_result(call.id, get_weather(**call.arguments))
    print("answer:", request.send().text)


if __name__ == "__main__":
    if os.environ.get("OPENAI_API_KEY"):
        with relay_lite.Client.openai() as client:
            main(client)
    else:
        with (
            FakeServer.openai() as server,
            relay_lite.Client.compatible(server.url, model="fake-model") as client,
        ):
            # The fake server plays the model: first it asks for the tool with the city a
            # real model would pick out of the question, then it echoes the tool's answer.
            call = relay_lite.ToolCall("call_1", "get_weather", {"city": "Paris"}, '{"city": "Paris"}')
            server.add(ChatScript(tool_calls=[call]))
            main(client)
