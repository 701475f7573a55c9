"""G-code as the host sends it: comments stripped, lines numbered and checksummed."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

ENCODING = "utf-8"


def strip_comment(line: str) -> str | None:
    """Return the command on a G-code line without its comment, or None if nothing is left."""
    command = line.split(";", 1)[0].strip()
    return command or None


def checksum(text: str) -> int:
    """Return the XOR of the bytes of `text`, the checksum Marlin and its relatives expect."""
    result = 0
    for byte in text.encode(ENCODING, errors="replace"):
        result ^= byte
    return result


def numbered(line_number: int, command: str) -> str:
    """Return `command` as a numbered line with its checksum: N{n} {command}*{checksum}."""
    body = f"N{line_number} {command}"
    return f"{body}*{checksum(body)}"


def line_number_reset(line_number: int = 0) -> str:
    """Return the numbered M110 that makes the firmware expect line_number + 1 next."""
    return numbered(line_number, f"M110 N{line_number}")


def read_commands(path: Path) -> Generator[tuple[str, int], None, None]:
    """Yield each command of a G-code file with the file offset just past its line."""
    offset = 0
    with path.open("rb") as file:
        for raw in file:
            offset += len(raw)
            command = strip_comment(raw.decode(ENCODING, errors="replace"))
            if command is not None:
                yield command, offset


def commands_in(path: Path) -> list[str]:
    """Return every command of a G-code file, in order."""
    return [command for command, _ in read_commands(path)]
