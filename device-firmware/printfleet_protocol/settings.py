"""Typed settings from one TOML file plus prefixed environment overrides.

Shared by the server and the agent so both report configuration errors the
same way: every error names its key path, the value found and the reason.
``PREFIX_SECTION__KEY=value`` overrides ``[section] key`` (two underscores
separate levels); unknown keys are errors, never silently ignored.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import msgspec

T = TypeVar("T", bound=msgspec.Struct)

_PATH_IN_MESSAGE = re.compile(r" - at `\$(?P<path>[^`]*)`$")


@dataclass(frozen=True)
class SettingError:
    key: str
    value: Any
    reason: str

    def __str__(self) -> str:
        shown = "(missing)" if self.value is _MISSING else repr(self.value)
        return f"{self.key}: {self.reason} (value: {shown})"


_MISSING = object()


class SettingsError(ValueError):
    def __init__(self, errors: list[SettingError]) -> None:
        super().__init__("\n".join(str(error) for error in errors))
        self.errors = errors


def load_settings(
    kind: type[T], path: Path | None, env_prefix: str, environ: Mapping[str, str] | None = None
) -> T:
    """Load, override and validate settings; raise SettingsError listing every problem."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError([SettingError(str(path), _MISSING, "config file not found")]) from None
        except tomllib.TOMLDecodeError as error:
            raise SettingsError([SettingError(str(path), _MISSING, f"not valid TOML: {error}")]) from None
    _apply_env(raw, env_prefix, os.environ if environ is None else environ)
    return _convert(kind, raw)


def _apply_env(raw: dict[str, Any], env_prefix: str, environ: Mapping[str, str]) -> None:
    marker = env_prefix.upper() + "_"
    for name, value in environ.items():
        if not name.startswith(marker) or name == marker:
            continue
        keys = name[len(marker):].lower().split("__")
        target = raw
        for key in keys[:-1]:
            target = target.setdefault(key, {})
            if not isinstance(target, dict):
                break
        else:
            target[keys[-1]] = value


def _convert(kind: type[T], raw: dict[str, Any]) -> T:
    """Validate each section on its own so one run reports every broken section."""
    errors: list[SettingError] = []
    fields = {field.encode_name: field for field in msgspec.structs.fields(kind)}
    for key in raw:
        if key not in fields:
            errors.append(SettingError(key, raw[key], "unknown setting"))
    for name, field in fields.items():
        if name not in raw:
            continue
        try:
            msgspec.convert(raw[name], field.type, strict=False)
        except msgspec.ValidationError as error:
            errors.append(_describe(name, raw[name], error))
    if not errors:
        try:
            return msgspec.convert(raw, kind, strict=False)
        except msgspec.ValidationError as error:
            errors.append(_describe("", raw, error))
    raise SettingsError(errors)


def _describe(section: str, raw: Any, error: msgspec.ValidationError) -> SettingError:
    message = str(error)
    match = _PATH_IN_MESSAGE.search(message)
    reason = _PATH_IN_MESSAGE.sub("", message)
    parts = [part for part in re.split(r"[.\[\]]", match.group("path")) if part] if match else []
    value: Any = raw
    for part in parts:
        value = _child(value, part)
    unknown = re.match(r"Object contains unknown field `(?P<name>[^`]+)`", reason)
    if unknown:
        parts.append(unknown.group("name"))
        value = _child(value, unknown.group("name"))
        reason = "unknown setting"
    key = ".".join([p for p in [section, *parts] if p])
    return SettingError(key or "(top level)", value, reason)


def _child(value: Any, part: str) -> Any:
    if isinstance(value, dict):
        return value.get(part, _MISSING)
    if isinstance(value, list) and part.isdigit() and int(part) < len(value):
        return value[int(part)]
    return _MISSING


def check_config_report(errors: list[SettingError]) -> str:
    """Format errors for --check-config output."""
    return "\n".join(f"error: {error}" for error in errors)
