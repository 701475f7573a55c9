"""API tokens on both backends: only the hash is stored, revoked tokens stop working."""

from __future__ import annotations

from storage.api_tokens import LAST_USED_RESOLUTION_S


def test_a_token_finds_its_user_until_revoked(stores):
    alice = stores.sync.create_user("a@example.com", "h")
    bob = stores.sync.create_user("b@example.com", "h")
    token = stores.sync.create_api_token(alice, "slicer", "hash-1", "pf_abc", 100.0)
    assert stores.sync.api_token_user("hash-1", 200.0) == alice
    assert stores.sync.api_token_user("hash-2", 200.0) is None
    # Someone else's token id is refused like a missing one.
    assert not stores.sync.revoke_api_token(bob, token.id, 300.0)
    assert stores.sync.revoke_api_token(alice, token.id, 300.0)
    assert not stores.sync.revoke_api_token(alice, token.id, 301.0)
    assert stores.sync.api_token_user("hash-1", 400.0) is None
    (listed,) = stores.sync.api_tokens_for_user(alice)
    assert (listed.name, listed.token_prefix, listed.revoked_at) == ("slicer", "pf_abc", 300.0)
    assert stores.sync.api_tokens_for_user(bob) == []


def test_last_use_is_noted_at_a_coarse_resolution(stores):
    alice = stores.sync.create_user("a@example.com", "h")
    stores.sync.create_api_token(alice, "script", "hash-1", "pf_abc", 0.0)
    stores.sync.api_token_user("hash-1", 1000.0)
    stores.sync.api_token_user("hash-1", 1000.0 + LAST_USED_RESOLUTION_S / 2)
    assert stores.sync.api_tokens_for_user(alice)[0].last_used_at == 1000.0
    stores.sync.api_token_user("hash-1", 1000.0 + LAST_USED_RESOLUTION_S)
    assert stores.sync.api_tokens_for_user(alice)[0].last_used_at == 1000.0 + LAST_USED_RESOLUTION_S
