"""Configuration: every variable the code reads is documented; bad values name the variable."""
import re
from pathlib import Path

import pytest

from engine.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_variable_read_by_the_code_is_documented():
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    used = set()
    for package in ("engine", "audit", "web", "forms"):
        for path in (ROOT / package).rglob("*.py"):
            used |= set(re.findall(r"SEALTRAIL_[A-Z][A-Z0-9_]*[A-Z0-9]", path.read_text(encoding="utf-8")))
    missing = sorted(v for v in used if f"`{v}`" not in doc)
    assert not missing, f"undocumented in docs/configuration.md: {missing}"


@pytest.mark.parametrize("value, message", [("abc", "whole number"), ("0", "greater than zero")])
def test_bad_integer_names_the_variable(monkeypatch, value, message):
    monkeypatch.setenv("SEALTRAIL_SIGNING_LOCKOUT_FAILURES", value)
    with pytest.raises(ConfigError, match=f"SEALTRAIL_SIGNING_LOCKOUT_FAILURES must be .*{message}"):
        load_settings()


def test_database_url_from_environment(monkeypatch):
    monkeypatch.setenv("SEALTRAIL_DATABASE_URL", "postgresql+psycopg://u@h:5432/d")
    assert load_settings().database_url == "postgresql+psycopg://u@h:5432/d"
    monkeypatch.delenv("SEALTRAIL_DATABASE_URL")
    assert load_settings().database_url.startswith("sqlite:///") and load_settings().database_url.endswith("sealtrail.db")


def test_state_resolves_to_the_same_place_from_any_folder(monkeypatch, tmp_path):
    from engine.config import default_var_dir

    monkeypatch.delenv("SEALTRAIL_VAR_DIR", raising=False)
    monkeypatch.delenv("SEALTRAIL_DATABASE_URL", raising=False)
    monkeypatch.setattr("engine.config.var_dir", lambda: default_var_dir())  # don't create it here
    monkeypatch.setenv("SEALTRAIL_TOTP_KEY", "not-read-here")  # nor generate secrets in it
    monkeypatch.chdir(ROOT)
    here = load_settings()
    monkeypatch.chdir(tmp_path)
    elsewhere = load_settings()
    assert here.var_dir == elsewhere.var_dir == ROOT / "var"  # a checkout keeps state in <checkout>/var
    assert here.database_url == elsewhere.database_url == f"sqlite:///{ROOT / 'var' / 'sealtrail.db'}"
    assert here.checkpoint_key_path == elsewhere.checkpoint_key_path


@pytest.mark.parametrize("name, value", [("SEALTRAIL_VAR_DIR", "var"),
                                         ("SEALTRAIL_DATABASE_URL", "sqlite:///var/sealtrail.db")])
def test_a_relative_location_is_refused_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"{name} .*relative"):
        load_settings()
