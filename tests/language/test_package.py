from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import core.language as language

PACKAGE = Path(language.__file__).parent
PLATFORM_LIBRARIES = ("slack_bolt", "slack_sdk", "discord", "sqlalchemy", "apscheduler")


def test_public_names_are_reexported() -> None:
    assert language.__all__
    for name in language.__all__:
        assert hasattr(language, name), name


def test_importing_pulls_in_no_platform_or_storage_library() -> None:
    check = (
        "import sys, core.language; "
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {PLATFORM_LIBRARIES!r}); "
        "print(','.join(loaded))"
    )
    result = subprocess.run(
        [sys.executable, "-c", check],
        cwd=PACKAGE.parent.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == ""


def test_never_reads_the_clock() -> None:
    for source in PACKAGE.glob("*.py"):
        text = source.read_text(encoding="utf-8")
        for forbidden in (".now(", ".today(", ".utcnow(", "time.time("):
            assert forbidden not in text, f"{source.name} calls {forbidden}"
