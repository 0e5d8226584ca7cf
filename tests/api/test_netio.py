"""The client's connections through wscfg.api.netio (AnyIO's, with a cheap "was it closed?"
check), over real sockets: kept alive and reused, a connection the server closed while idle
not reused, large answers and bodies in both directions, TLS with the environment's CA file
(and refused without it), and the environment's proxies still honoured."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from wscfg.api import netio
from wscfg.api.client import ApiClient
from wscfg.errors import TransportError
from wscfg.model.kinds import BY_NAME

from .helpers import TOKEN, Reply, Scripted, fast_policy, ws_json

pytestmark = pytest.mark.anyio

SLUG = "acme"
TAGS = BY_NAME["call_tags"]


class Served:
    """A Scripted app under uvicorn on 127.0.0.1 with its own settings (keep-alive, TLS)."""

    def __init__(self, app: Scripted, scheme: str = "http", **config: Any) -> None:
        self.app = app
        self.scheme = scheme
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=0, log_level="critical", lifespan="off", **config
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "did not start"
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"{self.scheme}://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def tag(name: str = "x") -> Reply:
    return ws_json(SLUG, {"name": name, "etag": "1"})


async def test_connections_are_kept_alive_and_reused(scripted, sleeps):
    scripted.handler = lambda r: tag()
    async with ApiClient(scripted.url, TOKEN, retry=fast_policy(sleeps)) as api:
        for _ in range(5):
            await api.workspace(SLUG).get_item(TAGS, "x")
        pool = api._wire.http._transport._pool
    assert isinstance(api._wire.http._transport, netio.Transport)
    assert len(scripted.requests) == 5
    # one connection served all five in turn (kept alive), none was refused or retried
    assert api.stats.total_retries == 0
    assert len(pool.connections) == 0  # closed with the client


@pytest.mark.parametrize("poll", [True, False], ids=["poll", "no-poll"])
async def test_a_connection_the_server_closed_while_idle_is_not_reused(sleeps, monkeypatch, poll):
    # uvicorn closes a keep-alive connection idle for 0.2 s; the next request must go on a
    # new connection at once (the pool sees the old one closed), not fail and be retried;
    # where select has no poll (Windows), the check is AnyIO's own, and still right
    monkeypatch.setattr(netio, "_POLL", poll)
    app = Scripted(lambda r: tag())
    with Served(app, timeout_keep_alive=0.2) as url:
        async with ApiClient(url, TOKEN, retry=fast_policy(sleeps)) as api:
            ws = api.workspace(SLUG)
            await ws.get_item(TAGS, "x")
            await asyncio.sleep(1.0)
            item = await ws.get_item(TAGS, "x")
    assert item["name"] == "x"
    assert api.stats.total_retries == 0
    assert sleeps.calls == []
    assert len(app.requests) == 2


async def test_large_answers_and_bodies_cross_whole(scripted, sleeps):
    # a 3 MiB answer and a 2 MiB request body, each whole
    big = [
        {"name": f"tag-{i:06d}", "color": "#" + "ab" * 3, "pad": "p" * 200} for i in range(14000)
    ]

    def handler(req):
        if req.method == "POST":
            return ws_json(SLUG, {"received": len(req.body), "etag": "1"}, status=201)
        return ws_json(SLUG, {"items": big, "next_cursor": None})

    scripted.handler = handler
    body = {"name": "x", "note": "n" * (2 * 1024 * 1024)}
    async with ApiClient(scripted.url, TOKEN, retry=fast_policy(sleeps)) as api:
        got = await api.workspace(SLUG).list_items(TAGS)
        made = await api.request(
            "POST",
            f"/v1/workspaces/{SLUG}/call-tags",
            json_body=body,
            idempotency_key="k-1",
            workspace=SLUG,
            route="POST call-tags",
        )
    assert got == big
    assert made.json_object()["received"] == len(scripted.requests[-1].body) > 2 * 1024 * 1024
    assert scripted.requests[-1].json() == body


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA and a certificate for 127.0.0.1 that it signed (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wscfg test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = {"ca": folder / "ca.pem", "cert": folder / "cert.pem", "key": folder / "key.pem"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


@pytest.fixture
def tls_server(tls_files: dict[str, Path]) -> Iterator[tuple[str, Scripted]]:
    app = Scripted(lambda r: tag())
    with Served(
        app,
        scheme="https",
        ssl_certfile=str(tls_files["cert"]),
        ssl_keyfile=str(tls_files["key"]),
    ) as url:
        yield url, app


async def test_tls_with_the_ca_file_of_the_environment(tls_server, tls_files, monkeypatch, sleeps):
    url, app = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files["ca"]))
    async with ApiClient(url, TOKEN, retry=fast_policy(sleeps)) as api:
        ws = api.workspace(SLUG)
        first = await ws.get_item(TAGS, "x")
        second = await ws.get_item(TAGS, "x")
    assert first["name"] == second["name"] == "x"
    assert [r.headers["authorization"] for r in app.requests] == [f"Bearer {TOKEN}"] * 2
    assert api.stats.total_retries == 0


async def test_tls_to_a_server_the_ca_files_do_not_vouch_for_is_refused(
    tls_server, monkeypatch, sleeps
):
    url, app = tls_server
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    async with ApiClient(url, TOKEN, retry=fast_policy(sleeps, max_attempts=1)) as api:
        with pytest.raises(TransportError) as caught:
            await api.workspace(SLUG).get_item(TAGS, "x")
    assert caught.value.message.startswith("no answer from the server (ConnectError: ")
    assert TOKEN not in caught.value.message
    assert app.requests == []  # the key never left: the handshake failed first


async def test_the_environments_proxy_is_still_used(scripted, other_host, monkeypatch, sleeps):
    # with HTTP_PROXY set, requests go through the proxy (here a server that records them),
    # as httpx's own transport sends them, not straight to the server
    other_host.handler = lambda r: tag()
    monkeypatch.setenv("HTTP_PROXY", other_host.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with ApiClient(scripted.url, TOKEN, retry=fast_policy(sleeps)) as api:
        item = await api.workspace(SLUG).get_item(TAGS, "x")
    assert item["name"] == "x"
    assert scripted.requests == []
    assert len(other_host.requests) == 1
    assert not isinstance(api._wire.http._transport, netio.Transport)


def test_without_a_proxy_the_asyncio_transport_is_used(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)
    import httpx

    made = netio.transport(httpx.Limits(max_connections=2, max_keepalive_connections=2))
    assert isinstance(made, netio.Transport)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    assert netio.transport(httpx.Limits(max_connections=2)) is None


async def test_a_plain_http_transport_trusts_no_certificate(tls_server, tls_files, monkeypatch):
    # the transport of an http:// server loads no certificate store: were it ever asked to
    # speak TLS it would refuse every server, even one the environment's CA file vouches for
    import httpx

    url, app = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files["ca"]))
    limits = httpx.Limits(max_connections=1)
    for tls, works in ((True, True), (False, False)):
        async with httpx.AsyncClient(transport=netio.Transport(limits, tls=tls)) as http:
            try:
                got = await http.get(f"{url}/v1/workspaces/{SLUG}/call-tags/x")
            except httpx.ConnectError:
                got = None
        assert (got is not None and got.status_code == 200) is works
    assert len(app.requests) == 1


async def test_cookies_the_server_sets_are_sent_back_as_httpx_does(scripted, sleeps):
    # a cookie the server sets (a load balancer's, say) comes back on the next request
    def handler(req):
        if len(scripted.requests) == 1:
            return ws_json(SLUG, {"name": "x", "etag": "1"}, **{"set-cookie": "lb=node-7; Path=/"})
        return tag()

    scripted.handler = handler
    async with ApiClient(scripted.url, TOKEN, retry=fast_policy(sleeps)) as api:
        ws = api.workspace(SLUG)
        await ws.get_item(TAGS, "x")
        await ws.get_item(TAGS, "x")
    assert "cookie" not in scripted.requests[0].headers
    assert scripted.requests[1].headers["cookie"] == "lb=node-7"


async def test_httpx_still_logs_each_request_without_the_key(scripted, sleeps, caplog):
    scripted.handler = lambda r: tag()
    with caplog.at_level(logging.INFO, logger="httpx"):
        async with ApiClient(scripted.url, TOKEN, retry=fast_policy(sleeps)) as api:
            await api.workspace(SLUG).get_item(TAGS, "x")
    lines = [r for r in caplog.records if r.name == "httpx"]
    assert len(lines) == 1
    assert lines[0].levelno == logging.INFO
    assert f"/v1/workspaces/{SLUG}/call-tags/x" in lines[0].getMessage()
    assert TOKEN not in caplog.text
