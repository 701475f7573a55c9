"""broker-config against a real Mosquitto: who may connect, publish and read what."""

from __future__ import annotations

import time

import paho.mqtt.client as mqtt
import pytest

from printfleet_protocol import Family, device_topic

from ..support import RunningBroker, wait_until

SETTLE_S = 0.5  # time for a message that *would* be delivered to arrive


@pytest.fixture
def devices(broker, store, context):
    provisioner = context.provisioner(store)
    a = provisioner.provision("device-a", "A", None)
    b = provisioner.provision("device-b", "B", None)
    return a, b


def _fleet(broker: RunningBroker, context):
    fleet = broker.connect_fleet()
    assert not fleet.connect_result[0].is_failure
    assert not fleet.subscribe(f"{broker.prefix}/#")[0].is_failure
    return fleet


def _device(broker: RunningBroker, credentials):
    client = wait_until(lambda: _try_connect(broker, credentials), 5, "device to be accepted")
    return client


def _try_connect(broker, credentials):
    client = broker.connect_device(credentials.username, credentials.password,
                                   client_id=credentials.device_id)
    if client.connect_result[0].is_failure:
        client.close()
        return None
    return client


def test_device_reads_and_writes_only_its_own_subtree(broker, devices, context):
    a_credentials, b_credentials = devices
    fleet = _fleet(broker, context)
    a = _device(broker, a_credentials)
    b = _device(broker, b_credentials)
    prefix = broker.prefix
    b_telemetry = device_topic(prefix, "device-b", Family.TELEMETRY)
    a_command = device_topic(prefix, "device-a", Family.COMMAND)

    # A subscribes above its subtree and to B's topics: it must receive nothing of B's.
    for topic in ("#", f"{prefix}/#", f"{prefix}/+/telemetry", b_telemetry):
        a.subscribe(topic)
    a.subscribe(a_command)
    b.publish(b_telemetry, b'{"from": "b"}')
    wait_until(lambda: b_telemetry in fleet.topics(), 5, "the fleet to receive B's telemetry")

    # A publishes into B's subtree: nobody receives it, not even the fleet.
    a.publish(device_topic(prefix, "device-b", Family.JOB), b'{"forged": true}')
    a.publish(device_topic(prefix, "device-a", Family.JOB), b'{"own": true}')
    wait_until(lambda: f"{prefix}/device-a/job" in fleet.topics(), 5, "A's own job topic")

    # A cannot forge a command to itself, nor publish below its three-level topics.
    a.publish(a_command, b'{"forged": "command"}')
    a.publish(f"{prefix}/device-a/telemetry/extra", b'{"deep": true}')

    # The fleet can command A, and A receives its own command.
    fleet.publish(a_command, b'{"cmd": 1}')
    wait_until(lambda: a_command in a.topics(), 5, "A to receive its command")
    time.sleep(SETTLE_S)

    assert f"{prefix}/device-b/job" not in fleet.topics()
    assert [t for t in a.topics() if "device-b" in t] == []
    with a.lock:  # overlapping subscriptions may deliver a message more than once
        commands = {m.payload for m in a.messages if m.topic == a_command}
    assert commands == {b'{"cmd": 1}'}, "only the fleet's command, not A's forgery"
    assert f"{prefix}/device-a/telemetry/extra" not in fleet.topics()
    assert all(t.startswith(f"{prefix}/device-a/") for t in a.topics())
    for client in (a, b, fleet):
        client.close()


def test_anonymous_and_wrong_password_are_refused(broker, devices):
    anonymous = broker.connect_device(None, None)
    assert anonymous.connect_result[0].is_failure
    wrong = broker.connect_device("device-a", "not-the-password")
    assert wrong.connect_result[0].is_failure
    assert wrong.connect_result[0] in (mqtt.ReasonCode(mqtt.PacketTypes.CONNACK, "Not authorized"),
                                       mqtt.ReasonCode(mqtt.PacketTypes.CONNACK,
                                                       "Bad user name or password"))
    anonymous.close()
    wrong.close()


def test_revoked_device_is_disconnected_and_refused(broker, devices, store, context):
    a_credentials, _ = devices
    a = _device(broker, a_credentials)
    log_size = len(broker.log())
    assert context.provisioner(store).revoke("device-a")
    broker.wait_for_log("Reloading config", after=log_size)
    # Mosquitto re-checks connected clients on reload and drops the revoked one.
    wait_until(lambda: not a.client.is_connected(), 5, "the revoked device to be dropped")
    a.close()
    again = broker.connect_device(a_credentials.username, a_credentials.password,
                                  client_id="device-a")
    assert again.connect_result[0].is_failure
    again.close()


def test_rotated_password_replaces_the_old_one(broker, devices, store, context):
    a_credentials, _ = devices
    log_size = len(broker.log())
    rotated = context.provisioner(store).rotate("device-a")
    broker.wait_for_log("Reloading config", after=log_size)
    old = broker.connect_device("device-a", a_credentials.password)
    assert old.connect_result[0].is_failure
    old.close()
    new = _device(broker, rotated)
    assert new.client.is_connected()
    new.close()


def test_the_fleet_reads_the_brokers_client_count_and_devices_do_not(broker, devices, context):
    a_credentials, _ = devices
    a = _device(broker, a_credentials)
    fleet = broker.connect_fleet()
    connected = "$SYS/broker/clients/connected"
    a.subscribe(connected)
    fleet.subscribe(connected)

    # $SYS values are retained, so the subscriber gets the last one at once (it
    # may still be the start-up 0: Mosquitto refreshes them every sys_interval).
    wait_until(lambda: connected in fleet.topics(), 5, "the fleet to read the client count")
    with fleet.lock:
        assert next(m.payload for m in fleet.messages if m.topic == connected).isdigit()
    time.sleep(SETTLE_S)
    assert a.topics() == []
    for client in (a, fleet):
        client.close()
