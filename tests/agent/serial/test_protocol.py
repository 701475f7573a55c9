"""The line protocol's bookkeeping: window, numbering and resends, without a port."""

from __future__ import annotations

from collections import deque

import pytest

from printfleet_agent.printers.serial.gcode import numbered
from printfleet_agent.printers.serial.protocol import LineSender, Pending, ResendImpossible
from printfleet_agent.printers.serial.replies import Ok, Resend

pytestmark = pytest.mark.timeout(10)


class Commands:
    """A command source that remembers which of its commands were answered."""

    def __init__(self, *commands: str) -> None:
        self._left = deque(commands)
        self.answered: list[str] = []

    def next_command(self) -> Pending | None:
        if not self._left:
            return None
        return Pending(self._left.popleft(), on_done=lambda p: self.answered.append(p.command))


def sender_with(window: int, *commands: str, history: int = 16) -> tuple[LineSender, Commands]:
    sender = LineSender(window, history)
    source = Commands(*commands)
    sender.source = source
    return sender, source


def ok(sender: LineSender) -> None:
    pending = sender.handle(Ok(), "ok")
    if pending is not None:
        pending.finish()


def test_one_line_at_a_time_and_an_ok_frees_the_slot():
    sender, source = sender_with(1, "G28", "G1 X1", "G1 X2")
    assert sender.next_lines() == [numbered(1, "G28")]
    assert sender.next_lines() == []
    ok(sender)
    assert sender.next_lines() == [numbered(2, "G1 X1")]
    ok(sender)
    ok(sender)
    assert source.answered == ["G28", "G1 X1"]
    assert sender.next_lines() == [numbered(3, "G1 X2")]


def test_a_wider_window_keeps_several_lines_in_flight():
    sender, _ = sender_with(4, *[f"G1 X{i}" for i in range(10)])
    assert [line.split()[0] for line in sender.next_lines()] == ["N1", "N2", "N3", "N4"]
    ok(sender)
    assert [line.split()[0] for line in sender.next_lines()] == ["N5"]


def test_queued_commands_go_before_the_job():
    sender, _ = sender_with(1, "G1 X1")
    sender.submit(Pending("M105", key="M105"))
    assert sender.is_waiting_for("M105")
    assert sender.next_lines() == [numbered(1, "M105")]


def test_a_resend_rewinds_and_ignores_the_requests_that_lines_behind_it_cause():
    sender, source = sender_with(3, "G1 X1", "G1 X2", "G1 X3", "G1 X4")
    sender.next_lines()  # N1, N2, N3
    # N2 arrived corrupted: Marlin rejects it, then N3 (already sent) as out of sequence.
    assert sender.handle(Resend(2), "Resend: 2") is None
    assert sender.handle(Ok(), "ok") is None  # the ok that answers the rejected N2
    assert sender.handle(Resend(2), "Resend: 2") is None  # caused by N3: ignored
    assert sender.handle(Ok(), "ok") is None
    assert sender.next_lines() == [numbered(2, "G1 X2"), numbered(3, "G1 X3")]
    for _ in range(3):
        ok(sender)
    assert source.answered == ["G1 X1", "G1 X2", "G1 X3"]
    assert sender.next_lines() == [numbered(4, "G1 X4")]


def test_a_resend_of_a_line_not_sent_yet_is_ignored():
    sender, _ = sender_with(1, "G1 X1", "G1 X2")
    sender.next_lines()
    assert sender.handle(Resend(5), "Resend: 5") is None
    assert sender.handle(Ok(), "ok") is not None


def test_a_resend_beyond_the_history_cannot_be_served():
    sender, _ = sender_with(1, *[f"G1 X{i}" for i in range(10)], history=3)
    for _ in range(6):
        sender.next_lines()
        ok(sender)
    with pytest.raises(ResendImpossible, match="line 1"):
        sender.handle(Resend(1), "Resend: 1")


def test_reset_hands_back_what_was_never_answered():
    sender, _ = sender_with(2, "G1 X1", "G1 X2", "G1 X3")
    waiting = Pending("M115")
    sender.submit(waiting)
    sender.next_lines()
    abandoned = sender.reset()
    assert [p.command for p in abandoned] == ["M115", "G1 X1"]
    assert sender.next_line == 1 and not sender.waiting


def test_after_a_firmware_restart_answers_to_old_lines_are_not_taken_for_new_ones():
    sender, _ = sender_with(2, "G1 X1", "G1 X2")
    sender.next_lines()  # N1, N2 in flight when the board resets
    sender.restart_numbering(1)
    sender.submit(Pending("M115"))
    assert sender.settling and sender.next_lines() == []
    for _ in range(2):  # the rebooted firmware rejects both: "Resend: 1", "ok"
        assert sender.handle(Resend(1), "Resend: 1") is None
        assert sender.handle(Ok(), "ok") is None
    assert sender.next_lines() == [numbered(1, "M115")]
    answered = sender.handle(Ok(), "ok")
    assert answered is not None and answered.command == "M115"


def test_settling_ends_when_the_firmware_has_been_quiet():
    sender, _ = sender_with(3, "G1 X1", "G1 X2", "G1 X3")
    sender.next_lines()
    sender.handle(Resend(1), "Resend: 1")  # N2 and N3 may each bring a request, or not
    assert sender.settling and sender.next_lines() == []
    sender.settle()
    assert [line.split()[0] for line in sender.next_lines()] == ["N1", "N2", "N3"]


def test_a_request_beyond_the_history_starts_the_numbering_afresh_without_miscounting():
    sender, _ = sender_with(2, *[f"G1 X{i}" for i in range(20)], history=3)
    for _ in range(8):
        sender.next_lines()
        ok(sender)
    sender.next_lines()  # two lines in flight
    with pytest.raises(ResendImpossible) as raised:
        sender.handle(Resend(2), "Resend: 2")
    sender.restart_numbering(0, raised.value.line_number)
    sender.submit(Pending("M110 N0"))
    assert sender.handle(Ok(), "ok") is None  # answers the rejected line
    assert sender.handle(Resend(2), "Resend: 2") is None  # the other line in flight
    assert sender.handle(Ok(), "ok") is None
    assert sender.next_lines() == [numbered(0, "M110 N0"), numbered(1, "G1 X10")]
