"""FakeServer's path routes: an API registered beside chat answers its path, chat the rest."""

from __future__ import annotations

import urllib3

from relay_lite import Client
from relay_lite._fake_routes import _ROUTES, register_route
from relay_lite.testing import FakeServer, Reply


def test_a_registered_route_answers_its_path_and_chat_answers_the_rest() -> None:
    register_route(
        "openai", "GET", r"/v1/fake-route-test/(\w+)", lambda item, request: Reply.json({"p": request.path})
    )
    try:
        with FakeServer.openai() as server:
            reply = urllib3.request("GET", server.url + "/v1/fake-route-test/abc?x=1")
            assert reply.status == 200
            assert reply.json() == {"p": "/v1/fake-route-test/abc?x=1"}
            post = urllib3.request("POST", server.url + "/v1/fake-route-test/abc", body=b"{}")
            assert "p" not in post.json()  # not the route's method: the chat renderer answers
            client = Client.compatible(server.url, api_key="k", model="m")
            assert client.chat().user("hi").send().text == "Echo: hi"
    finally:
        _ROUTES["openai"].pop()
