"""The printers page in a real browser: sign-in, live updates over one stream, sign-out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, Request, expect

from .conftest import ADMIN_EMAIL, Stack
from .steps import StreamWatch, sign_in

pytestmark = pytest.mark.timeout(180)

STREAM_PATH = "/printers/live"
ROW = 'tr[data-device-id="sim-printer-01"]'


def test_signing_in_shows_the_simulated_printer_updating_live_over_one_stream(page: Page, stack: Stack):
    streams = StreamWatch(page, stack.base_url + STREAM_PATH)
    sign_in(page, stack.admin_password)

    expect(page).to_have_url(re.compile(r"/printers$"))
    expect(page.get_by_role("heading", name="Printers")).to_be_visible()
    expect(page.locator('[data-field="user-email"]')).to_have_text(ADMIN_EMAIL)
    row = page.locator(ROW)
    expect(row.locator('[data-field="name"]')).to_have_text("Simulated printer 1", timeout=60_000)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    expect(row.locator('[data-field="presence"]')).to_have_text("online", timeout=60_000)

    # The simulated job heats up and progresses: the row's text changes with no reload.
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    page.evaluate("document.body.dataset.loadedOnce = 'yes'")
    live = row.locator('[data-field="heaters"], [data-field="progress_pct"], [data-field="time_left"]')
    before = live.all_inner_texts()
    page.wait_for_function(
        """([selector, before]) => {
             const row = document.querySelector(selector);
             const now = Array.from(row.querySelectorAll(
               '[data-field="heaters"], [data-field="progress_pct"], [data-field="time_left"]'))
               .map((cell) => cell.innerText);
             return JSON.stringify(now) !== JSON.stringify(before);
           }""",
        arg=[ROW, before], timeout=60_000)
    expect(row.locator('[data-heater="bed"] [data-field="heater-value"]')).to_have_text(
        re.compile(r"^\d+\.\d / \d+ °C$"))
    assert page.evaluate("document.body.dataset.loadedOnce") == "yes", "the page was reloaded"
    assert navigations == [], f"the page navigated: {navigations}"

    # Several updates arrived, all over the single EventSource the page keeps open.
    expect(row.locator('[data-field="progress_pct"]')).to_have_text(re.compile(r"^[1-9]\d*%$"),
                                                                    timeout=60_000)
    assert streams.opened >= 1 and streams.open_now == 1, vars(streams)
    assert streams.most_open == 1, f"more than one stream open at once: {vars(streams)}"


def test_signing_out_ends_access_to_the_printers_page(page: Page, stack: Stack):
    sign_in(page, stack.admin_password)
    expect(page).to_have_url(re.compile(r"/printers$"))

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/printers")
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)printers$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator(ROW)).to_have_count(0)


def test_a_wrong_password_shows_an_error_and_does_not_sign_in(page: Page, stack: Stack):
    sign_in(page, stack.admin_password + "-wrong")

    expect(page.locator('[data-field="login-error"]')).to_have_text("Wrong email or password.")
    expect(page.get_by_label("Email")).to_have_value(ADMIN_EMAIL)
    expect(page.get_by_label("Password")).to_have_value("")
    page.goto("/printers")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_pages_load_only_their_own_origin_and_cookies_are_httponly_and_samesite(page: Page, stack: Stack):
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    # The browser reports a cookie set without SameSite as Lax (its default), so
    # the Set-Cookie headers themselves are checked too.
    set_cookies: list[str] = []
    page.on("response", lambda response: set_cookies.extend(
        header["value"] for header in response.headers_array() if header["name"].lower() == "set-cookie"))
    sign_in(page, stack.admin_password)
    expect(page.locator(ROW)).to_have_count(1, timeout=60_000)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")

    urls = [request.url for request in requests]
    assert any(url.endswith(".css") for url in urls) and any(url.endswith(".js") for url in urls), urls
    foreign = [url for url in urls if not url.startswith(stack.base_url + "/")]
    assert foreign == [], f"requests to other origins: {foreign}"

    assert set_cookies, "signing in set no cookie"
    for header in set_cookies:
        name = header.split("=", 1)[0]  # never the value: a session token
        attributes = [part.strip().lower() for part in header.split(";")[1:]]
        assert "httponly" in attributes, f"cookie {name} has no HttpOnly: {attributes}"
        assert any(re.fullmatch(r"samesite=(lax|strict)", part) for part in attributes), \
            f"cookie {name} has no SameSite=Lax/Strict: {attributes}"
    cookies = page.context.cookies()
    assert cookies, "signed in without a cookie"
    loose = [cookie["name"] for cookie in cookies
             if not cookie["httpOnly"] or cookie["sameSite"] not in ("Lax", "Strict")]
    assert loose == [], f"cookies without HttpOnly or SameSite: {loose}"
