"""FakeServer's path routes: an API registered beside chat answers its path, chat the rest."""

from __future__ import annotations

import json

import urllib3

from relay_lite import Client
from relay_lite._fake_routes import _ROUTES, register_route
from relay_lite.testing import FakeServer, RecordedRequest, Reply


def test_a_registered_route_answers_its_path_and_chat_answers_the_rest() -> None:
    def handler(item: object, request: RecordedRequest) -> Reply:
        return Reply.json({"p": request.path})

    register_route("openai", "GET", r"/v1/fake-route-test/(\w+)", handler)
    try:
        # A PoolManager, not urllib3.request(): that function is urllib3 2.x only.
        with FakeServer.openai() as server, urllib3.PoolManager() as pool:
            reply = pool.request("GET", server.url + "/v1/fake-route-test/abc?x=1")
            assert reply.status == 200
            assert json.loads(reply.data) == {"p": "/v1/fake-route-test/abc?x=1"}
            post = pool.request("POST", server.url + "/v1/fake-route-test/abc", body=b"{}")
            assert "p" not in json.loads(post.data)  # not the route's method: the chat renderer answers
            client = Client.compatible(server.url, api_key="k", model="m")
            assert client.chat().user("hi").send().text == "Echo: hi"
    finally:
        # By identity: the route modules may have loaded (and registered) after this route.
        _ROUTES["openai"] = [route for route in _ROUTES["openai"] if route[2] is not handler]
