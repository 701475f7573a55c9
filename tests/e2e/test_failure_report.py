"""A failing browser test's report names a screenshot of its page."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(180)

FAILING_TEST = '''
def test_fails_on_a_page(page):
    page.set_content("<h1>the page under test</h1>")
    assert page.title() == "never this", "deliberate failure"
'''


def test_a_failure_names_a_screenshot_saved_under_the_tests_tmp_path(tmp_path: Path):
    test_file = tmp_path / "test_deliberate.py"
    test_file.write_text(FAILING_TEST)
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(test_file), "-p", "tests.e2e.conftest", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), "--basetemp", str(tmp_path / "inner"), "-q"],
        cwd=root, capture_output=True, text=True, timeout=150)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "deliberate failure" in result.stdout
    found = re.search(r"screenshot of the page at about:blank: (\S+\.png)", result.stdout)
    assert found, result.stdout
    screenshot = Path(found.group(1))
    assert screenshot.is_relative_to(tmp_path / "inner")
    assert screenshot.read_bytes().startswith(b"\x89PNG"), "not a PNG"
