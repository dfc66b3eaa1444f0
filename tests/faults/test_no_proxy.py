"""NO_PROXY entries as curl, Python's urllib and requests read them (ports honoured).

Sans-I/O over ``ProxySettings.proxy_for``, plus one real-socket check that an entry
with the server's port goes direct and one with another port goes through the proxy.
"""

from __future__ import annotations

import socket

import pytest
from faultserver import NO_RETRY, Peer, RawServer, json_reply

from relay_lite import ConnectError, Timeouts
from relay_lite._config import ProxySettings
from relay_lite._transport import Transport

PROXY = "http://proxy.corp:3128"


def settings(no_proxy: str) -> ProxySettings:
    return ProxySettings.from_env({"HTTPS_PROXY": PROXY, "HTTP_PROXY": PROXY, "NO_PROXY": no_proxy})


def test_no_proxy_entry_with_a_port_bypasses_only_that_port():
    # Before: the port was cut off, so localhost:8080 also sent localhost:9090 direct.
    proxies = settings("localhost:8080")
    assert proxies.proxy_for("http://localhost:8080/v1") is None
    assert proxies.proxy_for("http://localhost:9090/v1") == PROXY
    assert proxies.proxy_for("http://localhost/v1") == PROXY  # port 80


@pytest.mark.parametrize(
    ("entry", "url"),
    [
        ("api.corp:443", "https://api.corp/v1"),  # the scheme's default port
        ("api.corp:80", "http://api.corp/v1"),
        ("corp:8443", "https://api.corp:8443/v1"),  # a domain with a port covers subdomains
        ("10.0.0.5:8000", "http://10.0.0.5:8000/v1"),
        ("[::1]:8080", "http://[::1]:8080/v1"),
    ],
)
def test_no_proxy_port_entry_matches_the_urls_port_or_scheme_default(entry: str, url: str):
    assert settings(entry).proxy_for(url) is None


@pytest.mark.parametrize(
    ("entry", "url"),
    [
        ("api.corp:443", "http://api.corp/v1"),  # port 80, not 443
        ("[::1]:8080", "http://[::1]:8081/v1"),
        ("api.corp:notaport", "http://api.corp/v1"),  # unreadable entries match nothing
        ("", "http://api.corp/v1"),
    ],
)
def test_no_proxy_port_entry_does_not_match_another_port(entry: str, url: str):
    assert settings(entry).proxy_for(url) == PROXY


@pytest.mark.parametrize("entry", [".example.com", "example.com", "*.example.com"])
def test_no_proxy_leading_dot_or_star_dot_covers_the_domain_and_its_subdomains(entry: str):
    # curl (7.86+) and Python's urllib ignore the leading dot; Go reads ".x" as
    # subdomains only. Matching both keeps a user's curl setup working.
    proxies = settings(entry)
    assert proxies.proxy_for("https://example.com/") is None
    assert proxies.proxy_for("https://api.example.com/") is None
    assert proxies.proxy_for("https://notexample.com/") == PROXY
    assert proxies.proxy_for("https://example.com.evil.net/") == PROXY


def test_no_proxy_star_alone_bypasses_every_host():
    assert settings("*").proxy_for("https://api.openai.com/v1") is None
    assert settings("other.corp, *").proxy_for("http://10.1.2.3:8000/") is None


@pytest.mark.parametrize(
    ("entry", "url", "direct"),
    [
        ("10.0.0.0/8", "http://10.20.30.40:8000/v1", True),
        ("10.0.0.0/8", "http://11.0.0.1/v1", False),
        ("192.168.1.7/24", "http://192.168.1.200/", True),  # host bits ignored, as curl does
        ("fd00::/8", "http://[fd12::1]/", True),
        ("10.0.0.0/8", "http://ten.corp/", False),  # names are never resolved to match a block
        ("::1", "http://[0:0::1]:9000/", True),  # addresses compared as addresses
        ("127.0.0.1", "http://127.0.0.1:1234/", True),
        ("2.3", "http://10.1.2.3/", False),  # an address is never a name suffix
        ("10.0.0.0/33", "http://10.0.0.1/", False),  # a bad block matches nothing
    ],
)
def test_no_proxy_cidr_blocks_and_ip_addresses(entry: str, url: str, direct: bool):
    assert settings(entry).proxy_for(url) == (None if direct else PROXY)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_proxy_with_the_servers_port_connects_directly_and_another_port_uses_the_proxy():
    def answer(peer: Peer) -> None:
        while peer.read_request() is not None:
            peer.send(json_reply(b'{"ok": true}'))

    dead_proxy = f"http://127.0.0.1:{closed_port()}"
    with RawServer([answer]) as server:
        env = {"HTTP_PROXY": dead_proxy, "NO_PROXY": f"127.0.0.1:{server.port}"}
        direct = Transport(timeouts=Timeouts(connect=1), retry=NO_RETRY, proxies=ProxySettings.from_env(env))
        assert direct.request("GET", server.url + "/x").json() == {"ok": True}
        direct.close()

        env["NO_PROXY"] = f"127.0.0.1:{server.port + 1}"
        proxied = Transport(timeouts=Timeouts(connect=1), retry=NO_RETRY, proxies=ProxySettings.from_env(env))
        with pytest.raises(ConnectError) as info:
            proxied.request("GET", server.url + "/x")
        proxied.close()
    assert info.value.message.startswith(f"could not connect through the proxy to 127.0.0.1:{server.port}")
