"""Erasing an account takes its printers' MQTT credentials away on a real Mosquitto."""

from __future__ import annotations

import time

from printfleet.erasure import erase_account

from ..support import wait_until


def _accepted(broker, credentials):
    client = broker.connect_device(credentials.username, credentials.password,
                                   client_id=credentials.device_id)
    if client.connect_result[0].is_failure:
        client.close()
        return None
    return client


def test_an_erased_users_printers_can_no_longer_connect(broker, store, context):
    alice = store.create_user("alice@example.org", "hash")
    bob = store.create_user("bob@example.org", "hash")
    provisioner = context.provisioner(store)
    hers = provisioner.provision("alice-printer", "Alice's printer", alice)
    his = provisioner.provision("bob-printer", "Bob's printer", bob)
    for credentials in (hers, his):
        wait_until(lambda c=credentials: _accepted(broker, c), 5,
                   f"{credentials.username} to be accepted").close()
    log_size = len(broker.log())

    outcome = erase_account(store, context.settings, provisioner, alice, time.time())

    assert outcome.revoked_devices == ["alice-printer"]
    broker.wait_for_log("Reloading config", after=log_size)
    refused = broker.connect_device(hers.username, hers.password)
    assert refused.connect_result[0].is_failure
    refused.close()
    assert "alice-printer" not in broker.paths.password_file.read_text()
    wait_until(lambda: _accepted(broker, his), 5, "Bob's printer to be accepted").close()
