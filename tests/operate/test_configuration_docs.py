"""docs/configuration.md describes every setting, and only settings that exist."""

from __future__ import annotations

import re
from pathlib import Path

from bots.doctor import setting_variable
from bots.settings import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
VARIABLE = re.compile(r"`((?:BREAKTHROUGH|SLACK|DISCORD)_[A-Z_]+)`")


def _table_rows() -> dict[str, str]:
    """Variable -> its table row (``| `NAME` | default | meaning | example |``)."""
    rows: dict[str, str] = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        found = re.match(r"\| `([A-Z_]+)` \|", line)
        if found:
            rows[found.group(1)] = line
    return rows


def test_every_setting_has_a_row_with_default_meaning_and_example_columns() -> None:
    rows = _table_rows()
    variables = {setting_variable(name) for name in Settings.model_fields}
    assert variables - rows.keys() == set(), "settings missing from docs/configuration.md"
    for variable in variables:
        cells = [cell.strip() for cell in rows[variable].strip("|").split("|")]
        assert len(cells) == 4, rows[variable]
        assert cells[1], f"{variable} has no default in docs/configuration.md"
        assert cells[2], f"{variable} has no meaning in docs/configuration.md"


def test_the_docs_name_no_setting_that_does_not_exist() -> None:
    variables = {setting_variable(name) for name in Settings.model_fields}
    named = set(VARIABLE.findall(DOCS.read_text(encoding="utf-8")))
    assert named - variables == set()


def test_every_secret_is_listed_as_one() -> None:
    text = DOCS.read_text(encoding="utf-8")
    secrets_section = text.split("### Secrets", 1)[1].split("\n## ", 1)[0]
    for name, field in Settings.model_fields.items():
        if "SecretStr" in str(field.annotation):
            variable = setting_variable(name)
            assert f"`{variable}`" in secrets_section, variable
            assert "Secret." in _table_rows()[variable], variable
