"""`printfleet retention show | set | preview | run-now`: operators' view of retention."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import re
import tempfile
import time
from pathlib import Path

from printfleet_protocol.settings import SettingsError, check_config_report
from storage.retention_classes import data_class

from .context import Context
from .retention import Outcome, Retention, class_settings
from .settings import ENV_PREFIX, RetentionSettings, load

SECTION = "retention"


class RetentionCommandError(RuntimeError):
    """A retention command cannot do what was asked; the message says why."""


def show(context: Context, args: argparse.Namespace) -> int:
    """Print every class's setting, default and ceiling, and the latest runs."""
    store = context.open_store(migrate=True)
    settings_rows = class_settings(context.settings)
    runs = store.retention_runs(args.runs)
    if args.json:
        print(json.dumps({
            "classes": [{"class": row.data_class.name, "key": row.key, "value": row.value,
                         "unit": row.data_class.unit, "default": row.default,
                         "ceiling": row.ceiling, "description": row.data_class.description}
                        for row in settings_rows],
            "runs": [dataclasses.asdict(run) for run in runs]}, indent=2))
        return 0
    print(f"{'class':<14} {'setting':<30} {'kept':>10} {'default':>10} {'ceiling':>10}  what")
    for row in settings_rows:
        unit = row.data_class.unit
        ceiling = f"{row.ceiling:g} {unit}" if row.ceiling is not None else "-"
        print(f"{row.data_class.name:<14} {row.key:<30} {row.value:>7g} {unit:<2} "
              f"{row.default:>7g} {unit:<2} {ceiling:>10}  {row.data_class.description}")
    print("\nlatest runs:" if runs else "\nno runs yet")
    for run in runs:
        kind = "preview" if run.preview else "run"
        print(f"  {_when(run.started_at)}  {run.data_class:<14} {kind:<7} {run.triggered_by:<8} "
              f"{run.rows_removed:>9} rows {run.files_removed:>6} files {run.seconds:8.3f} s"
              + (f"  error: {run.error}" if run.error else ""))
    return 0


def preview(context: Context, args: argparse.Namespace) -> int:
    """Say per class what a run now would remove; record it as a preview."""
    retention = Retention(context.settings, context.open_store(migrate=True))
    now = time.time()
    outcomes = retention.preview(now, _names(args))
    retention.record_preview(outcomes, now, "cli")
    _print_outcomes(outcomes, now, args.json, "would remove")
    return 0


def run_now(context: Context, args: argparse.Namespace) -> int:
    """Run retention for every class (or the ones named) now, and record it."""
    retention = Retention(context.settings, context.open_store(migrate=True))
    now = time.time()
    outcomes = retention.run(now, _names(args), triggered_by="cli")
    _print_outcomes(outcomes, now, args.json, "removed")
    return 1 if any(outcome.error for outcome in outcomes) else 0


def set_value(context: Context, args: argparse.Namespace) -> int:
    """Write one class's setting into the --config file, refusing values past a ceiling."""
    if args.config is None:
        raise RetentionCommandError("`retention set` writes the settings file: give it with "
                                    "--config FILE")
    try:
        key = data_class(args.name).setting
    except ValueError as error:
        raise RetentionCommandError(str(error)) from None
    value = _parse_value(key, args.value)
    path = Path(args.config)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    changed = set_toml_value(text, SECTION, key, value)
    _validate(path, changed)
    _write_atomically(path, changed)
    print(f"set {SECTION}.{key} = {value} in {path}; restart the scheduler to apply it")
    variable = f"{ENV_PREFIX}_{SECTION.upper()}__{key.upper()}"
    if variable in os.environ:
        print(f"note: {variable} is set and overrides the file")
    return 0


def set_toml_value(text: str, section: str, key: str, value: float | int) -> str:
    """Set `key = value` in a TOML text's [section], keeping every other line as it is."""
    lines = text.splitlines()
    header = re.compile(rf"^\s*\[{re.escape(section)}\]\s*(#.*)?$")
    assignment = re.compile(rf"^\s*{re.escape(key)}\s*=")
    new_line = f"{key} = {value!r}"
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        tail = [""] if lines and lines[-1].strip() else []
        return "\n".join([*lines, *tail, f"[{section}]", new_line]) + "\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")),
               len(lines))
    for i in range(start + 1, end):
        if assignment.match(lines[i]):
            lines[i] = new_line
            break
    else:
        lines.insert(start + 1, new_line)
    return "\n".join(lines) + "\n"


def _parse_value(key: str, raw: str) -> float | int:
    kind = type(getattr(RetentionSettings(), key))
    try:
        return kind(raw)
    except ValueError:
        raise RetentionCommandError(f"{SECTION}.{key} takes a number "
                                    f"({kind.__name__}), not {raw!r}") from None


def _validate(path: Path, text: str) -> None:
    """Load the changed file as the server would (ceilings included); raise with every error."""
    with tempfile.NamedTemporaryFile("w", suffix=".toml", dir=path.parent or Path("."),
                                     delete=False, encoding="utf-8") as candidate:
        candidate.write(text)
    try:
        load(Path(candidate.name), environ={})
    except SettingsError as error:
        raise RetentionCommandError(f"{path} left unchanged:\n"
                                    f"{check_config_report(error.errors)}") from None
    finally:
        Path(candidate.name).unlink(missing_ok=True)


def _write_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, path)


def _names(args: argparse.Namespace) -> list[str] | None:
    try:
        return [data_class(name).name for name in args.data_class] if args.data_class else None
    except ValueError as error:
        raise RetentionCommandError(str(error)) from None


def _print_outcomes(outcomes: list[Outcome], now: float, as_json: bool, verb: str) -> None:
    if as_json:
        print(json.dumps({"now": now, "classes": [o.as_dict() for o in outcomes]}, indent=2))
        return
    print(f"{'class':<14} {'older than':<20} {'rows':>10} {'files':>7}  oldest → newest")
    for o in outcomes:
        if not o.present:
            print(f"{o.data_class:<14} (no table yet: nothing to remove)")
            continue
        span = f"{_when(o.oldest)} → {_when(o.newest)}" if o.rows else "-"
        print(f"{o.data_class:<14} {_when(o.cutoff):<20} {o.rows:>10} {o.files:>7}  {span}"
              + (f"  error: {o.error}" if o.error else ""))
    print(f"{verb} {sum(o.rows for o in outcomes)} rows and {sum(o.files for o in outcomes)} "
          "files in all")


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")

