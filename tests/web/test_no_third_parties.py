"""Every page, signed in and out: nothing from another origin, no inline script, one cookie.

The pages are read from app.url_map, so a new page is checked the day it lands;
routes with ids get Alice's things from the authorization matrix's OWNED_BY_ALICE.
Every response the app sends during the test (sign-in, uploads, every GET) is
watched for Set-Cookie: the only cookie allowed is the functional session cookie.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask

from web.security import CONTENT_SECURITY_POLICY

from .conftest import ALICE
from .flask_client import sign_in
from .test_authorization_matrix import _NEUTRAL, OWNED_BY_ALICE, World

pytestmark = pytest.mark.timeout(120)

STATIC_DIR = Path(__file__).resolve().parents[2] / "web" / "static"
SESSION_COOKIE = "printfleet_session"
# The test client's own origin: anything else in a page is another origin.
OWN_HOSTS = {"", "localhost"}
# Secret-bearing links (reset, invitation, device download): any token renders their page.
_TOKENS = {"token": "not-a-real-token"}
_PARAM = re.compile(r"<(?:[a-z]+(?:\([^)]*\))?:)?(\w+)>")
_URL_ATTRIBUTES = {"src", "href", "action", "formaction", "poster", "data", "background",
                   "manifest", "ping", "cite", "longdesc"}
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""@import\s+(?:url\()?\s*['"]?([^'")\s;]+)""", re.IGNORECASE)
_JS_ABSOLUTE_URL = re.compile(r"""['"`]\s*((?:https?|wss?):)?//[A-Za-z0-9][^'"`\s]*""")


def foreign(url: str) -> bool:
    """Say whether a URL in a page points at another origin (data: images stay here)."""
    url = url.strip()
    if not url or url.startswith(("#", "data:image/")):
        return False
    parts = urlsplit(url)
    if parts.scheme and parts.scheme not in ("http", "https"):
        return True  # mailto:, javascript:, ws: and the like all leave the page
    return parts.netloc not in OWN_HOSTS


@dataclass
class PageProblems(HTMLParser):
    """Collect third-party references and inline script found in one HTML page."""

    found: list[str] = field(default_factory=list)
    _in_script: bool = False
    _in_style: bool = False

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name, value in values.items():
            if name in _URL_ATTRIBUTES and foreign(value) and not _plain_link(tag, name, values):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in ("srcset", "imagesrcset"):
                self.found += [f"<{tag} {name}={c!r}>" for c in _srcset_urls(value) if foreign(c)]
            if name.startswith("on"):
                self.found.append(f"inline handler <{tag} {name}=...>")
            if name == "style":
                self.found += [f"<{tag} style> {u}" for u in css_urls(value) if foreign(u)]
        if tag == "script":
            self._in_script = "src" not in values
        if tag == "style":
            self._in_style = True
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            url = values.get("content", "").partition("url=")[2]
            if foreign(url):
                self.found.append(f"meta refresh to {url!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append(f"inline script: {data.strip()[:60]!r}")
        if self._in_style:
            self.found += [f"<style> {u}" for u in css_urls(data) if foreign(u)]


def _plain_link(tag: str, name: str, values: dict[str, str]) -> bool:
    # A link the user may click loads nothing; without a referrer it tells nothing
    # either (a licence's attribution, e.g. the geolocation database's, needs one).
    return tag == "a" and name == "href" and "noreferrer" in values.get("rel", "").split()


def _srcset_urls(value: str) -> list[str]:
    return [candidate.split()[0] for candidate in value.split(",") if candidate.strip()]


def css_urls(css: str) -> list[str]:
    """Return every url(...) and @import target in a piece of CSS."""
    return _CSS_URL.findall(css) + _CSS_IMPORT.findall(css)


def page_problems(html: str) -> list[str]:
    """Return what in one HTML page loads from elsewhere or runs inline."""
    parser = PageProblems()
    parser.feed(html)
    parser.close()
    return parser.found


def csp_problems(header: str | None) -> list[str]:
    """Return why a Content-Security-Policy header is not self-only."""
    if not header:
        return ["no Content-Security-Policy"]
    problems = []
    directives = {}
    for part in header.split(";"):
        name, _, sources = part.strip().partition(" ")
        if name:
            directives[name] = " ".join(sources.split())
    for name, sources in directives.items():
        for source in sources.split():
            allowed = {"'self'", "'none'"} | ({"data:"} if name == "img-src" else set())
            if source not in allowed:
                problems.append(f"{name} allows {source}")
    for needed in ("default-src", "script-src", "style-src", "connect-src", "form-action"):
        if directives.get(needed) != "'self'":
            problems.append(f"{needed} is {directives.get(needed)!r}, not 'self'")
    return problems


def cookie_problems(set_cookie: str) -> list[str]:
    """Return why one Set-Cookie header is not the functional session cookie."""
    name = set_cookie.split("=", 1)[0].strip()
    attributes = {part.strip().split("=", 1)[0].lower(): part.strip()
                  for part in set_cookie.split(";")[1:]}
    if name != SESSION_COOKIE:
        return [f"non-functional cookie {name!r}: {set_cookie}"]
    problems = []
    if "httponly" not in attributes:
        problems.append(f"session cookie without HttpOnly: {set_cookie}")
    if attributes.get("samesite", "").lower() not in ("samesite=lax", "samesite=strict"):
        problems.append(f"session cookie without SameSite: {set_cookie}")
    if "domain" in attributes:
        problems.append(f"session cookie shared with other hosts: {set_cookie}")
    return problems


@pytest.fixture
def cookies_sent(app: Flask) -> list[str]:
    """Every Set-Cookie header the app sends from now on, on any response."""
    # At the WSGI edge, after Flask has saved the session into the headers.
    sent: list[str] = []
    inner = app.wsgi_app

    def watching(environ, start_response):
        def start(status, headers, *args):
            sent.extend(value for name, value in headers if name.lower() == "set-cookie")
            return start_response(status, headers, *args)
        return inner(environ, start)

    app.wsgi_app = watching  # type: ignore[method-assign]
    return sent


@pytest.fixture
def world(app: Flask, cookies_sent, store, users, db_path) -> World:
    alice = app.test_client()
    assert sign_in(alice, *ALICE).status_code == 302
    store.set_operator(users[ALICE[0]], True)  # so the admin pages render for her too
    made = World(app, store, db_path, users[ALICE[0]], alice, {})
    for name, make in OWNED_BY_ALICE.items():
        made.ids[name] = make(made)
    return made


def get_urls(app: Flask, ids: dict[str, str]) -> list[str]:
    """Every GET page of the app, ids filled with Alice's things (static files apart)."""
    known = {**ids, **_NEUTRAL, **_TOKENS}
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.endpoint == "static":
            continue
        missing = set(_PARAM.findall(rule.rule)) - set(known)
        assert not missing, f"{rule.rule}: no value for {missing}; add it to OWNED_BY_ALICE"
        urls.append(_PARAM.sub(lambda m: known[m.group(1)], rule.rule))
    return sorted(urls) + ["/no-such-page"]


def check_page(client, url: str) -> tuple[int, list[str]]:
    """GET one URL; return its status and every problem its response shows."""
    response = client.get(url)
    try:
        problems = [f"{url}: {p}" for c in response.headers.getlist("Set-Cookie")
                    for p in cookie_problems(c)]
        if response.mimetype == "text/html":
            problems += [f"{url}: {p}" for p in page_problems(response.get_data(as_text=True))]
            problems += [f"{url}: {p}" for p in
                         csp_problems(response.headers.get("Content-Security-Policy"))]
        return response.status_code, problems
    finally:
        response.close()  # streams and downloads hold resources until closed


def test_every_page_signed_in_and_out_loads_nothing_from_elsewhere(world: World):
    signed_out = world.app.test_client()
    statuses: dict[str, int] = {}
    problems: list[str] = []
    for url in get_urls(world.app, world.ids):
        for who, client in (("alice", world.alice), ("anonymous", signed_out)):
            status, found = check_page(client, url)
            statuses[f"{who} {url}"] = status
            problems += [f"{who} {p}" for p in found]
    assert problems == []
    # Proof the pages were really rendered: Alice got most of them, not redirects.
    rendered = [k for k, v in statuses.items() if k.startswith("alice") and v == 200]
    assert len(rendered) >= 40, statuses
    assert statuses["anonymous /login"] == 200 and statuses["anonymous /signup"] == 200


def test_the_only_cookie_is_the_functional_session_cookie(world: World, cookies_sent):
    signed_out = world.app.test_client()
    for url in get_urls(world.app, world.ids):
        for client in (world.alice, signed_out):
            client.get(url).close()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      world.alice.get("/printers").get_data(as_text=True))
    assert token
    world.alice.post("/logout", data={"csrf_token": token.group(1)}).close()
    # The sign-in and every upload and page above went through the watch.
    assert any(c.startswith(f"{SESSION_COOKIE}=") for c in cookies_sent)
    assert [p for c in cookies_sent for p in cookie_problems(c)] == []


@pytest.mark.parametrize("path", sorted(p.name for p in STATIC_DIR.iterdir() if p.is_file()))
def test_static_files_load_nothing_from_elsewhere(app: Flask, path: str):
    source = (STATIC_DIR / path).read_text(encoding="utf-8")
    if path.endswith(".css"):
        found = [u for u in css_urls(source) if foreign(u)]
    else:
        found = [m.group(0) for m in _JS_ABSOLUTE_URL.finditer(source)]
        found += re.findall(r"\b(?:importScripts|document\.write|eval)\s*\(", source)
    assert found == []
    response = app.test_client().get(f"/static/{path}")
    assert response.status_code == 200 and response.headers.getlist("Set-Cookie") == []
    response.close()


def test_the_checks_catch_what_they_look_for():
    # Each check fails on the thing it exists to find, so a pass above means something.
    assert page_problems('<script src="https://cdn.example.com/x.js"></script>')
    assert page_problems('<link rel="stylesheet" href="//fonts.example.com/a.css">')
    assert page_problems('<img srcset="/a.png 1x, https://t.example/p.gif 2x">')
    assert page_problems('<form action="https://evil.example/"></form>')
    assert page_problems("<script>track()</script>")
    assert page_problems('<button onclick="x()">b</button>')
    assert page_problems("<style>@import 'https://x.example/a.css';</style>")
    assert page_problems('<div style="background: url(https://x.example/p.png)"></div>')
    assert page_problems('<img src="/static/a.png"><a href="/files">f</a>') == []
    assert page_problems('<img src="data:image/png;base64,AAAA">') == []
    assert page_problems('<a href="https://db-ip.com">attribution</a>')
    assert page_problems('<a rel="noopener noreferrer" href="https://db-ip.com">a</a>') == []
    assert page_problems('<link rel="noreferrer" href="https://x.example/a.css">')
    assert csp_problems(CONTENT_SECURITY_POLICY) == []
    assert csp_problems("default-src 'self' https://cdn.example.com")
    assert csp_problems("default-src 'self'; script-src 'self' 'unsafe-inline'")
    assert csp_problems(None)
    assert cookie_problems("_ga=GA1.1.1; Path=/")
    assert cookie_problems(f"{SESSION_COOKIE}=x; Path=/; SameSite=Lax")
    assert cookie_problems(f"{SESSION_COOKIE}=x; HttpOnly; Path=/; SameSite=Lax") == []
    assert _JS_ABSOLUTE_URL.search('fetch("https://api.example.com/t")')
    assert not _JS_ABSOLUTE_URL.search('fetch("/api/v1/printers")')
