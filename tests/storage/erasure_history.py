"""A user with history in every table, through the stores' real write paths."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

from broker_config import hash_password
from printfleet.settings import Settings
from printfleet_protocol import SCHEMA_VERSION, Family
from printfleet_protocol.payloads import (
    CommandAck,
    Downtime,
    Facts,
    Heartbeat,
    Heater,
    JobEvent,
    JobEventKind,
    JobOrigin,
    Presence,
    PresenceStatus,
    Telemetry,
)
from storage import Accepted, Rejected
from storage.actions import ActionDraft
from storage.camera_images import CameraImages, Picture
from storage.files import FileOwner
from storage.interface import IssuedCommand
from storage.notification_outbox import ObservedEvent, PlannedDelivery
from storage.notifications import NotificationSettings
from storage.orgs import OrgProfile

NOW = time.time()
MQTT_HASH = hash_password("device-secret")
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-body" * 20 + b"\xff\xd9"


@dataclass
class Person:
    """One user's identifiers and what was made for them."""

    email: str
    first_name: str
    last_name: str
    ip: str
    prefix: str
    user_id: int = 0
    devices: list[str] = field(default_factory=list)

    @property
    def org_device(self) -> str:
        return f"{self.prefix}-org"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Seq:
    value = 0

    def __call__(self) -> int:
        Seq.value += 1
        return Seq.value


def _device_messages(device: str, seq: Seq, job: str, transaction: str | None) -> list[Accepted]:
    v, ts = SCHEMA_VERSION, NOW - 120

    def accepted(family: Family, message: object) -> Accepted:
        return Accepted(device, family, message, ts)
    return [
        accepted(Family.TELEMETRY, Telemetry(v=v, ts=ts, seq=seq(), state="printing", job_id=job,
                                             heaters={"tool0": Heater(200.0, 210.0)})),
        accepted(Family.HEARTBEAT, Heartbeat(v=v, ts=ts, seq=seq(), interval_s=30, uptime_s=9)),
        accepted(Family.JOB, JobEvent(v=v, ts=ts, seq=seq(), job_id=job, file_name="cube.gcode",
                                      event=JobEventKind.STARTED, origin=JobOrigin.PRINTFLEET,
                                      command_transaction=transaction)),
        accepted(Family.DOWNTIME, Downtime(v=v, ts=ts, seq=seq(), started_at=ts - 60,
                                           ended_at=ts)),
        accepted(Family.PRESENCE, Presence(v=v, ts=ts, seq=seq(), status=PresenceStatus.ONLINE)),
        accepted(Family.FACTS, Facts(v=v, ts=ts, seq=seq(), hostname=f"{device}-pi",
                                     agent_version="1.0", local_ip="10.0.0.9")),
        accepted(Family.ACK, CommandAck(v=v, ts=ts, seq=seq(), transaction=transaction or "t",
                                        status="ok")),
    ]


async def build_history(stores, settings: Settings, person: Person, org_owner: int | None
                        ) -> None:
    """Give `person` history in every table: own printers, an org printer, everything else.

    With `org_owner`, the person joins that user's organisation as an admin and
    acts on its printer; without, they make their own organisation (and own it).
    """
    sync, seq = stores.sync, Seq()
    uid = sync.create_user(person.email, "hash", person.first_name, person.last_name)
    person.user_id = uid
    person.devices = [f"{person.prefix}-p1", f"{person.prefix}-p2"]
    for device in person.devices:
        sync.add_device(device, f"{person.first_name}'s printer", uid, MQTT_HASH)
        sync.set_downtime_logging(device, True, uid, NOW)  # so presence and downtime are kept
    # A pending device the person claimed (pairing), and a failed claim.
    pending = f"{person.prefix}-pend"
    sync.add_pending_device(pending, _hash(pending + "c"), _hash(pending + "t"), person.ip,
                            f"{pending}-host", "1.0", NOW, NOW + 600)
    claimed = sync.pending_by_token(_hash(pending + "t"))
    assert claimed is not None and sync.claim_pending(claimed.id, uid, NOW)
    sync.record_pairing_failure(uid, NOW)
    # Sessions, page views, failed sign-ins, password resets, tokens.
    session = sync.open_web_session(uid, _hash(person.email + "s"), person.ip, "Firefox", NOW)
    sync.record_web_activity(session, NOW, "/printers")
    sync.record_login_failure(person.email, person.ip, NOW)
    sync.record_password_reset_request(person.email, person.ip, NOW)
    sync.add_password_reset_token(uid, _hash(person.email + "r"), NOW, NOW + 3600)
    sync.create_api_token(uid, "script", _hash(person.email + "a"), "pf_abc", NOW)
    sync.save_notification_settings(uid, NotificationSettings(by_sms=True, phone="+4512345678"),
                                    NOW)
    webhook = sync.add_webhook(uid, f"https://{person.prefix}.example/hook", "secret", NOW)
    # Files, in a folder, with contents on disk.
    owner = FileOwner(user_id=uid)
    folder = sync.create_folder(owner, None, f"{person.first_name} parts", NOW)
    sync.add_file(owner, folder.id, "cube.gcode", 3, _hash("abc"), None, NOW)
    (settings.files_dir / str(uid)).mkdir(parents=True, exist_ok=True)
    (settings.files_dir / str(uid) / _hash("abc")).write_bytes(b"abc")
    # An organisation with a printer the person acts on.
    if org_owner is None:
        org = sync.create_organisation(uid, OrgProfile(name=f"{person.prefix} Ltd"), NOW)
        org_id = org.id
    else:
        org_id = sync.organisations_for_user(org_owner)[0].org.id
        invitation = sync.create_invitation(org_id, person.email, "admin",
                                            _hash(person.email + "i"), org_owner, NOW, NOW + 9)
        assert sync.accept_invitation(invitation.id, uid, NOW)
    sync.add_device(person.org_device, "Org printer", uid, MQTT_HASH)
    assert sync.move_printer_to_org(uid, person.org_device, org_id)
    sync.create_invitation(org_id, f"friend-of-{person.email}", "viewer",
                           _hash(person.email + "f"), uid, NOW, NOW + 9)
    sync.set_downtime_logging(person.org_device, True, uid, NOW)
    # Commands, time series, print jobs, pictures, on every printer.
    images = CameraImages(sync, settings.camera_dir)
    for device in [*person.devices, person.org_device]:
        transaction = f"tx-{device}"
        sync.record_command(IssuedCommand(transaction, device, uid, "start_print",
                                          {"file": "cube.gcode"}, NOW - 130, NOW + 60))
        await stores.ingest.write_batch(
            _device_messages(device, seq, f"job-{device}", transaction),
            [Rejected(f"printfleet/{device}/telemetry", device, "bad_json", "no", 3, "x", NOW)])
        images.save(Picture(device, seq(), NOW, NOW, "job_started", f"job-{device}", JPEG))
        images.save(Picture(device, seq(), NOW, NOW, "live", None, JPEG + b"live"))
        name = "Org printer" if device == person.org_device else f"{person.first_name}'s printer"
        sync.queue_notification(ObservedEvent(
            "finished", device, name, f"job-{device}", "cube.gcode",
            None, NOW, uid if device != person.org_device else None, uid),
            [PlannedDelivery(uid, "email"), PlannedDelivery(uid, "webhook", webhook.id)], NOW)
    for delivery in sync.due_deliveries(NOW + 1):
        if delivery.user_id == uid:
            sync.record_delivery_attempt(delivery, False, 500, f"mail to {person.email} failed",
                                         NOW, NOW + 60)
    # Actions: personal ones, and ones in the organisation.
    for org in (None, org_id):
        sync.record_action(ActionDraft(NOW, uid, org, person.ip, "DK", "Capital", "Copenhagen",
                                       "printer.rename", "printer", person.org_device,
                                       f"{person.email} renamed a printer"))
