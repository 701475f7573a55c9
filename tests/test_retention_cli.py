"""`printfleet retention show | set | preview | run-now` and the ceilings at start-up."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from printfleet import settings as settings_module
from printfleet.retention_cli import set_toml_value
from storage.sqlite import SqliteIngestStore, SqliteSyncStore

from .storage.test_retention_classes import _prepare

pytestmark = pytest.mark.timeout(120)


def printfleet(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "printfleet", *args], capture_output=True,
                          text=True, timeout=90, env={"PATH": "/usr/bin:/bin", **(env or {})})


@pytest.fixture
def prepared(tmp_path: Path) -> Path:
    """A data directory whose SQLite store holds rows of every class on both sides of it."""
    data = tmp_path / "data"
    settings = settings_module.load(None, environ={"PRINTFLEET_DATA_DIR": str(data)})
    settings.data_path.mkdir(parents=True)
    sync, ingest = SqliteSyncStore(settings.sqlite_file), SqliteIngestStore(settings.sqlite_file)
    sync.migrate()

    async def fill() -> None:
        await ingest.start()
        await _prepare(SimpleNamespace(sync=sync, ingest=ingest), settings)
        await ingest.stop()

    asyncio.run(fill())
    sync.stop()
    return data


def test_run_now_removes_exactly_what_preview_said(prepared):
    preview = printfleet("retention", "preview", "--json", "--data-dir", str(prepared))
    assert preview.returncode == 0, preview.stderr
    run = printfleet("retention", "run-now", "--json", "--data-dir", str(prepared))
    assert run.returncode == 0, run.stderr
    said = {c["class"]: c for c in json.loads(preview.stdout)["classes"]}
    done = {c["class"]: c for c in json.loads(run.stdout)["classes"]}
    fields = ("rows", "files", "oldest", "newest", "present")
    assert {name: [c[f] for f in fields] for name, c in said.items()} == {
        name: [c[f] for f in fields] for name, c in done.items()}
    assert sum(c["rows"] for c in said.values()) > 0 and said["job_pictures"]["files"] == 6
    again = printfleet("retention", "preview", "--json", "--data-dir", str(prepared))
    assert all(c["rows"] == c["files"] == 0 for c in json.loads(again.stdout)["classes"])
    shown = printfleet("retention", "show", "--json", "--data-dir", str(prepared))
    runs = json.loads(shown.stdout)["runs"]
    real = {r["data_class"]: r for r in runs if not r["preview"] and r["triggered_by"] == "cli"}
    assert real["telemetry"]["rows_removed"] == said["telemetry"]["rows"]
    assert any(r["preview"] for r in runs)


def test_show_lists_every_class_with_its_default_and_ceiling(tmp_path):
    shown = printfleet("retention", "show", "--data-dir", str(tmp_path))
    assert shown.returncode == 0, shown.stderr
    lines = {line.split()[0]: line for line in shown.stdout.splitlines() if line.strip()}
    assert "retention.job_pictures_days" in lines["job_pictures"]
    assert lines["job_pictures"].split()[2:8] == ["7", "days", "7", "days", "7", "days"]
    assert lines["camera_live"].split()[2:8] == ["10", "s", "10", "s", "10", "s"]
    assert lines["telemetry"].split()[6] == "-"  # the policy names no ceiling for it


def test_set_writes_the_config_file_and_refuses_a_ceiling(tmp_path):
    config = tmp_path / "printfleet.toml"
    config.write_text('# mine\ndata_dir = "x"\n\n[retention]\n# kept\njob_pictures_days = 3\n'
                      "\n[web]\nport = 8081\n")
    ok = printfleet("retention", "set", "job_pictures", "5", "--config", str(config))
    assert ok.returncode == 0, ok.stderr
    ok = printfleet("retention", "set", "sessions_days", "90", "--config", str(config))
    assert ok.returncode == 0, ok.stderr
    text = config.read_text()
    assert text == ('# mine\ndata_dir = "x"\n\n[retention]\nsessions_days = 90\n# kept\n'
                    "job_pictures_days = 5\n\n[web]\nport = 8081\n")
    refused = printfleet("retention", "set", "job_pictures_days", "8", "--config", str(config))
    assert refused.returncode == 1
    assert "job_pictures_days = 8 is above the privacy policy's ceiling of 7" in refused.stderr
    assert "We only store pictures up to 7 days" in refused.stderr
    assert config.read_text() == text  # left unchanged
    for args in (("live_forever", "1"), ("camera_live", "eleven")):
        bad = printfleet("retention", "set", *args, "--config", str(config))
        assert bad.returncode == 1 and "error:" in bad.stderr
    missing = printfleet("retention", "set", "actions", "30")
    assert missing.returncode == 1 and "--config" in missing.stderr


@pytest.mark.parametrize("setting, value", [("JOB_PICTURES_DAYS", "8"),
                                            ("CAMERA_LIVE_S", "10.5")])
def test_a_ceiling_is_refused_by_check_config_and_at_start_up(tmp_path, setting, value):
    env = {f"PRINTFLEET_RETENTION__{setting}": value}
    for args in (("scheduler", "--check-config"), ("scheduler",), ("web",)):
        result = printfleet(*args, "--data-dir", str(tmp_path), env=env)
        assert result.returncode == 2, args
        assert f"{setting.lower()} = {float(value) if '.' in value else value}" in result.stderr
        assert "privacy policy's ceiling" in result.stderr


def test_set_toml_value_adds_the_section_when_missing():
    assert set_toml_value("", "retention", "actions_days", 30) == "[retention]\nactions_days = 30\n"
    assert set_toml_value('data_dir = "d"\n', "retention", "camera_live_s", 5.0) == (
        'data_dir = "d"\n\n[retention]\ncamera_live_s = 5.0\n')


def test_operators_are_the_first_user_of_up_and_those_added_with_operator(tmp_path):
    from printfleet import stack
    from printfleet.context import Context

    data = tmp_path / "data"
    password = tmp_path / "password"
    password.write_text("long enough password\n")
    for email, extra in (("op@example.org", ("--operator",)), ("user@example.org", ())):
        added = printfleet("user-add", email, "--password-file", str(password), *extra,
                           "--data-dir", str(data))
        assert added.returncode == 0, added.stderr
    context = Context(settings_module.load(None, environ={"PRINTFLEET_DATA_DIR": str(data)}))
    store = context.open_store(migrate=True)
    try:
        email, _ = stack.ensure_admin(context, store)
        operators = {e: store.is_operator(store.user_by_email(e).id)  # type: ignore[union-attr]
                     for e in ("op@example.org", "user@example.org", email)}
    finally:
        store.stop()
    assert operators == {"op@example.org": True, "user@example.org": False, email: True}
