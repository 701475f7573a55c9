"""Provisioning a batch: each device its own credentials, one render and one reload."""

from __future__ import annotations

from broker_config.credentials import verify_password

from ..support import wait_until


def test_a_batch_gets_its_own_credentials_and_one_reload(broker, store, context):
    log_size = len(broker.log())

    batch = context.provisioner(store).provision_many(
        [(f"printer-{n}", f"Printer {n}") for n in range(3)], None)

    broker.wait_for_log("Reloading config", after=log_size)
    assert broker.log()[log_size:].count("Reloading config") == 1
    lines = broker.paths.password_file.read_text().splitlines()
    hashes = dict(line.split(":", 1) for line in lines)
    assert len(hashes) == 4  # the fleet account and the three printers
    assert len({credentials.password for credentials in batch}) == 3
    for credentials in batch:
        assert verify_password(credentials.password, hashes[credentials.username])
        client = wait_until(lambda c=credentials: _accepted(broker, c), 5,
                            f"{credentials.username} to be accepted")
        client.close()
    # A device's password does not open another device's account.
    wrong = broker.connect_device(batch[0].username, batch[1].password)
    assert wrong.connect_result[0].is_failure
    wrong.close()


def test_a_bad_id_in_a_batch_is_refused_with_a_clear_error(broker, store, context):
    import pytest

    with pytest.raises(ValueError, match="must be 3-64 characters"):
        context.provisioner(store).provision_many([("ok-printer", "OK"), ("Bad Id!", "Bad")],
                                                  None)


def _accepted(broker, credentials):
    client = broker.connect_device(credentials.username, credentials.password,
                                   client_id=credentials.device_id)
    if client.connect_result[0].is_failure:
        client.close()
        return None
    return client
