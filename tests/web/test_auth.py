"""Sign-in, sign-out and CSRF against the real app served by waitress."""

import httpx

from web.server import WebServer

from .conftest import ALICE, csrf_from, log_in


def test_login_page_renders_a_form_with_a_csrf_token(client: httpx.Client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "<title>Sign in · Printfleet</title>" in response.text
    assert len(csrf_from(response.text)) >= 32
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


def test_login_with_right_password_redirects_to_printers(client: httpx.Client, users):
    response = log_in(client, *ALICE)
    assert response.status_code == 302
    assert response.headers["location"] == "/printers"
    page = client.get("/printers")
    assert page.status_code == 200
    assert 'data-field="user-email">alice@example.org<' in page.text


def test_login_email_is_case_insensitive(client: httpx.Client, users):
    response = log_in(client, ALICE[0].upper(), ALICE[1])
    assert response.status_code == 302


def test_wrong_password_shows_the_form_again_with_401(client: httpx.Client, users):
    response = log_in(client, ALICE[0], "not the password")
    assert response.status_code == 401
    assert "Wrong email or password." in response.text
    assert 'value="alice@example.org"' in response.text
    assert client.get("/printers").status_code == 302


def test_unknown_email_gets_the_same_answer(client: httpx.Client, users):
    response = log_in(client, "nobody@example.org", ALICE[1])
    assert response.status_code == 401
    assert "Wrong email or password." in response.text


def test_login_post_without_csrf_token_is_rejected(client: httpx.Client, users):
    client.get("/login")
    response = client.post("/login", data={"email": ALICE[0], "password": ALICE[1]})
    assert response.status_code == 400
    assert client.get("/printers").status_code == 302


def test_login_post_with_a_wrong_csrf_token_is_rejected(client: httpx.Client, users):
    client.get("/login")
    response = client.post("/login", data={"email": ALICE[0], "password": ALICE[1],
                                           "csrf_token": "forged"})
    assert response.status_code == 400


def test_csrf_token_from_another_session_is_rejected(make_client, users):
    attacker, victim = make_client(), make_client()
    token = csrf_from(attacker.get("/login").text)
    victim.get("/login")
    response = victim.post("/login", data={"email": ALICE[0], "password": ALICE[1],
                                           "csrf_token": token})
    assert response.status_code == 400


def test_logout_without_csrf_token_is_rejected_and_keeps_the_session(
        client: httpx.Client, users):
    log_in(client, *ALICE)
    response = client.post("/logout")
    assert response.status_code == 400
    assert client.get("/printers").status_code == 200


def test_logout_ends_the_session_even_for_a_copied_cookie(make_client, users):
    client = make_client()
    log_in(client, *ALICE)
    page = client.get("/printers")
    assert page.status_code == 200
    old_cookie = client.cookies["printfleet_session"]

    response = client.post("/logout", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 302
    assert response.headers["location"] == "/login"

    replay = make_client()
    replay.cookies.set("printfleet_session", old_cookie)
    response = replay.get("/printers")
    assert response.status_code == 302
    assert response.headers["location"].startswith("/login")


def test_root_redirects_to_printers(client: httpx.Client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["location"] == "/printers"


def test_signed_out_page_request_redirects_to_login_with_next(client: httpx.Client):
    response = client.get("/printers")
    assert response.status_code == 302
    assert response.headers["location"] == "/login?next=/printers"


def test_next_is_followed_only_within_the_site(make_client, users):
    for target, expected in (("/api/v1/printers", "/api/v1/printers"),
                             ("//evil.example/", "/printers"),
                             ("https://evil.example/", "/printers")):
        client = make_client()
        token = csrf_from(client.get("/login").text)
        response = client.post("/login", params={"next": target}, data={
            "email": ALICE[0], "password": ALICE[1], "csrf_token": token})
        assert response.headers["location"] == expected


def test_signing_in_replaces_the_csrf_token(client: httpx.Client, users):
    before = csrf_from(client.get("/login").text)
    log_in(client, *ALICE)
    after = csrf_from(client.get("/printers").text)
    assert after != before


def test_server_reports_the_port_it_listens_on(server: WebServer):
    [(host, port)] = server.addresses
    assert host == "127.0.0.1"
    assert isinstance(port, int) and port > 0
    assert server.port == port


def test_session_cookie_is_secure_only_when_served_over_https(tmp_path, store):
    from printfleet.settings import load
    from web import create_app

    # One trusted proxy: its X-Forwarded-Proto decides the scheme.
    settings = load(None, environ={"PRINTFLEET_DATA_DIR": str(tmp_path),
                                   "PRINTFLEET_WEB__TRUSTED_PROXY_COUNT": "1"})
    client = create_app(settings, store).test_client()
    plain = client.get("/login").headers["set-cookie"].lower()
    proxied = client.get("/login", headers={"X-Forwarded-Proto": "https"},
                         ).headers["set-cookie"].lower()
    assert "; secure" not in plain
    assert "; secure" in proxied and "httponly" in proxied
