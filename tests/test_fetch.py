"""fetch against real local servers: redirects, cookies across them, credentials kept to their origin."""

from __future__ import annotations

import asyncio
import ssl

import pytest
import trustme

from watcher.errors import CertificateError, ConnectError
from watcher.fetch import Fetcher, FetchSettings
from watcher.localsite import LocalServer
from watcher.models import Page

SETTINGS = FetchSettings(robots=False, retries=0, per_host_delay=0, allow_private=("127.0.0.1",))


def get(url: str, **kw: object) -> Page:
    async def run() -> Page:
        async with Fetcher(SETTINGS) as fetcher:
            page = await fetcher.get(url, **kw)  # type: ignore[arg-type]
            assert isinstance(page, Page)
            return page

    return asyncio.run(run())


def test_redirects_are_followed_and_cookies_kept_across_them(server: LocalServer) -> None:
    # A CMS that sets a session cookie on a redirect to the same page's real address.
    server.site.put(
        "/tzgg/", b"", status=302, headers={"Location": "/tzgg/index.html", "Set-Cookie": "sid=42; Path=/"}
    )
    server.site.put("/tzgg/index.html", "<html><body><p>通知公告</p></body></html>")
    page = get(server.url("/tzgg/"))
    assert page.url == server.url("/tzgg/") and page.final_url == server.url("/tzgg/index.html")
    assert "通知公告" in page.text
    assert server.site.request_headers["/tzgg/index.html"].get("cookie") == "sid=42"


def test_credentials_do_not_follow_a_redirect_to_another_origin(server: LocalServer) -> None:
    with LocalServer() as other:
        other.site.put("/b", "<html><body>elsewhere</body></html>")
        server.site.put("/a", b"", status=301, headers={"Location": other.url("/b")})
        server.site.put("/same", b"", status=307, headers={"Location": "/a"})
        page = get(
            server.url("/same"),
            headers={"Authorization": "Bearer s3cret", "Referer": "https://kjj.gz.gov.cn/"},
        )
        seen_here, seen_there = server.site.request_headers, other.site.request_headers["/b"]
    assert page.final_url == other.url("/b")
    assert (
        seen_here["/same"]["authorization"] == "Bearer s3cret"
        and seen_here["/a"]["authorization"] == "Bearer s3cret"
    )
    assert "authorization" not in seen_there and seen_there["referer"] == "https://kjj.gz.gov.cn/"


def test_a_redirect_loop_is_a_connection_error(server: LocalServer) -> None:
    server.site.put("/loop", b"", status=302, headers={"Location": "/loop"})
    with pytest.raises(ConnectError, match="too many redirects"):
        get(server.url("/loop"))
    assert server.site.hits["/loop"] == SETTINGS.max_redirects + 1


def test_an_untrusted_certificate_is_not_retried() -> None:
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(tls)
    with LocalServer(tls=tls) as https:
        https.site.put("/", "<html><body>通知公告</body></html>")

        async def run() -> None:
            async with Fetcher(
                FetchSettings(robots=False, retries=2, backoff=0.01, allow_private=("127.0.0.1",))
            ) as fetcher:
                with pytest.raises(CertificateError, match="verify_tls: false"):
                    await fetcher.get(https.url("/"))
                assert isinstance(await fetcher.get(https.url("/"), verify=False), Page)

        asyncio.run(run())
    assert https.site.connections == 2  # one refused handshake, no retries; then one unverified read


def test_the_environment_proxy_is_used_and_no_proxy_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    """A notice site's name that does not resolve anywhere, reached through a proxy on 127.0.0.1 (the
    local server answers proxy requests by the path); NO_PROXY sends a host straight to itself."""
    with LocalServer() as proxy, LocalServer() as direct:
        proxy.site.put("/tzgg/index.html", "<html><body>经代理</body></html>")
        direct.site.put("/tzgg/index.html", "<html><body>直连</body></html>")
        monkeypatch.setenv("HTTP_PROXY", proxy.base)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        for name in ("http_proxy", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        through = get("http://kjj.notices.invalid/tzgg/index.html")
        straight = get(direct.url("/tzgg/index.html"))
        seen = proxy.site.request_headers["/tzgg/index.html"]
    assert "经代理" in through.text and "直连" in straight.text
    assert seen["host"] == "kjj.notices.invalid" and direct.site.hits["/tzgg/index.html"] == 1


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("http://[bad", "malformed address"),
        ("ftp://files.example.invalid/a.pdf", "not a web address"),
        ("javascript:alert(1)", "not a web address"),
    ],
)
def test_a_redirect_to_nowhere_is_a_connection_error(
    server: LocalServer, location: str, message: str
) -> None:
    server.site.put("/r", b"", status=302, headers={"Location": location})
    with pytest.raises(ConnectError, match=message):
        get(server.url("/r"))


PAGE = (
    "<html><head><title>关于组织申报科技项目的通知</title></head><body>"
    + "<p>各有关单位：现将有关事项通知如下。</p>" * 40
)


def test_a_utf8_page_with_a_stray_byte_stays_utf8(server: LocalServer) -> None:
    """One bad byte in a footer used to turn the whole page into GB18030 mojibake."""
    server.site.put(
        "/p.html", PAGE.encode() + b"<footer>\xff \xc0</footer></body></html>", content_type="text/html"
    )
    page = get(server.url("/p.html"))
    assert page.encoding == "utf-8" and "关于组织申报科技项目的通知" in page.text


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_read(server: LocalServer, codec: str) -> None:
    server.site.put("/p.html", (PAGE + "</body></html>").encode(codec), content_type="text/html")
    page = get(server.url("/p.html"))
    assert page.encoding == codec and "各有关单位" in page.text


def test_random_bytes_are_binary_not_a_notice(server: LocalServer) -> None:
    import random

    from watcher.errors import ExtractError

    rng = random.Random(7)
    noise = bytes(rng.randrange(1, 256) for _ in range(20_000))  # no NUL to give it away
    server.site.put("/p.html", noise, content_type="text/html")
    with pytest.raises(ExtractError, match="binary content"):
        get(server.url("/p.html"))
