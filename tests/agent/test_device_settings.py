"""A printer's downtime switch, set while it was offline, reaches it once it is back."""

from __future__ import annotations

import asyncio

import pytest

from printfleet.device_commands import fleet_publisher
from printfleet.device_settings import deliver_settings

from .conftest import eventually

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def publisher(context):
    running = fleet_publisher(context)
    yield running
    running.close()


async def test_a_setting_made_offline_is_delivered_when_the_printer_comes_online(
        broker, worker, store, owner, make_device, publisher):
    device, _ = make_device("printer-set")
    prefix = broker.prefix
    store.set_downtime_logging("printer-set", True, owner, 1.0)
    assert await asyncio.to_thread(deliver_settings, store, publisher, prefix, 60.0) == [], \
        "offline: nothing sent"
    await device.start()
    try:
        await eventually(lambda: (store.printer_for_user(owner, "printer-set").presence
                                  == "online"), 10, "the printer online")
        sent = await asyncio.to_thread(deliver_settings, store, publisher, prefix, 60.0)
        assert sent == ["printer-set"]
        await eventually(lambda: store.device_settings("printer-set").applied == "finished", 10,
                         "the printer to apply it")
        assert await device.downtime.enabled() is True
        assert await asyncio.to_thread(deliver_settings, store, publisher, prefix, 0.0) == [], \
            "applied: never sent again"
        command = store.command_state("printer-set",
                                      store.device_settings("printer-set").sent_transaction)
        assert (command.kind, command.args, command.user_id) == (
            "configure", {"downtime_logging": True}, owner)
    finally:
        await device.stop()


async def test_simulated_printers_log_downtime_at_the_server_and_the_scheduler_confirms_it(
        broker, worker, store, owner, context, publisher):
    from printfleet.simulate import provision_simulated
    from printfleet_agent.runtime import build_device

    settings = provision_simulated(context, store, 1, owner, job_duration_s=60.0,
                                   heartbeat_interval_s=1.0)
    (printer,) = settings.printers
    switched_on = store.device_settings(printer.device_id)
    assert (switched_on.downtime_logging, switched_on.changed_by) == (True, owner)
    device = build_device(settings, printer)
    await device.start()
    try:
        await eventually(lambda: store.table_rows("presence_events", printer.device_id), 10,
                         "its 'online' kept in the presence history")
        sent = await asyncio.to_thread(deliver_settings, store, publisher, broker.prefix, 60.0)
        assert sent == [printer.device_id]
        await eventually(lambda: store.device_settings(printer.device_id).applied == "finished",
                         10, "the printer to confirm the setting")
        assert await device.downtime.enabled() is True
    finally:
        await device.stop()
    # A second `printfleet simulate` leaves the switch as it was (the history stays shown).
    # In a thread: the device's last messages may still be committing in this loop.
    await asyncio.to_thread(provision_simulated, context, store, 1, owner, job_duration_s=60.0,
                            heartbeat_interval_s=1.0)
    assert store.device_settings(printer.device_id).changed_at == switched_on.changed_at
