"""Webhook signatures, address checks and posts to a real local HTTP receiver."""

from __future__ import annotations

import time

import pytest

from printfleet.notify.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookUrlError,
    check_url,
    new_secret,
    post,
    sign,
    verify_signature,
)

from .receiver import http_receiver

pytestmark = pytest.mark.timeout(30)


def test_a_signature_verifies_only_with_its_secret_body_and_a_fresh_timestamp():
    now = int(time.time())
    signature = sign("s3cret", now, b'{"a":1}')
    assert signature.startswith("sha256=")
    assert verify_signature("s3cret", str(now), b'{"a":1}', signature)
    assert not verify_signature("other", str(now), b'{"a":1}', signature)
    assert not verify_signature("s3cret", str(now), b'{"a":2}', signature)
    assert not verify_signature("s3cret", str(now + 1), b'{"a":1}', signature)
    assert not verify_signature("s3cret", str(now), b'{"a":1}', signature, now=now + 301)
    assert not verify_signature("s3cret", "soon", b'{"a":1}', signature)
    assert new_secret() != new_secret()


def test_addresses_are_checked():
    assert check_url(" https://hooks.example.com/x ", allow_private=True) == (
        "https://hooks.example.com/x")
    for bad, why in (("ftp://example.com/", "http"), ("https:///nohost", "http"),
                     ("https://user:pw@example.com/", "password"),
                     ("https://example.com/" + "x" * 2000, "longer")):
        with pytest.raises(WebhookUrlError, match=why):
            check_url(bad, allow_private=True)
    for private in ("http://127.0.0.1:8080/", "http://10.1.2.3/", "http://169.254.169.254/",
                    "http://[::1]/", "http://localhost/"):
        with pytest.raises(WebhookUrlError, match="private or local"):
            check_url(private, allow_private=False)


def test_a_post_is_signed_and_a_failure_or_timeout_is_reported():
    with http_receiver([500, "slow", 200], slow_s=1.5) as receiver:
        failed = post(receiver.url, "s3cret", b'{"x":1}', "finished", 7, 0.5, True)
        slow = post(receiver.url, "s3cret", b'{"x":1}', "finished", 7, 0.5, True)
        sent = post(receiver.url, "s3cret", b'{"x":1}', "finished", 7, 0.5, True)
    assert (failed.ok, failed.status_code) == (False, 500)
    assert (slow.ok, slow.status_code) == (False, None) and "no answer" in slow.detail
    assert (sent.ok, sent.status_code) == (True, 200)
    last = receiver.requests[-1]
    assert last.headers["Content-Type"] == "application/json"
    assert last.headers["X-Printfleet-Event"] == "finished"
    assert verify_signature("s3cret", last.headers[TIMESTAMP_HEADER], last.body,
                            last.headers[SIGNATURE_HEADER])


def test_a_private_address_is_refused_at_send_time_too():
    with http_receiver([]) as receiver:
        result = post(receiver.url, "s", b"{}", "test", 1, 1.0, allow_private=False)
    assert not result.ok and result.detail.startswith("refused:")
    assert receiver.requests == []
