"""Configuration from the environment (documented in docs/configuration.md)."""
from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class ConfigError(ValueError):
    """A configuration value is unusable; the message names the variable."""


# A source checkout (an editable install, `make env`) keeps its state in <checkout>/var; an
# installed package keeps it in the user's data directory. Never the current folder: a command run
# from elsewhere must find the same database and the same checkpoint key.
_CHECKOUT = Path(__file__).resolve().parent.parent


def default_var_dir() -> Path:
    """Where local state lives when ``SEALTRAIL_VAR_DIR`` is unset (independent of the working folder)."""
    if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "engine").is_dir():
        return _CHECKOUT / "var"
    data_home = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(data_home) if data_home and Path(data_home).is_absolute() else Path.home() / ".local" / "share"
    return base / "sealtrail"


def var_dir() -> Path:
    """The directory for local state (SQLite file, generated secrets, checkpoints)."""
    raw = os.environ.get("SEALTRAIL_VAR_DIR", "").strip()
    if raw:
        path = Path(raw).expanduser()
        if not path.is_absolute():
            raise ConfigError(f"SEALTRAIL_VAR_DIR must be an absolute path (a relative one would "
                              f"depend on the folder a command is run from), got {raw!r}")
    else:
        path = default_var_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret_from_env_or_file(env_name: str, file_name: str, generate) -> str:
    """Read a secret from ``ENV``, ``ENV_FILE`` or ``var/<file_name>`` (generated on first use)."""
    value = os.environ.get(env_name)
    if value:
        return value
    file_path = os.environ.get(f"{env_name}_FILE")
    if file_path:
        return Path(file_path).read_text().strip()
    path = var_dir() / file_name
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(generate())
    return path.read_text().strip()


@dataclass(frozen=True)
class Settings:
    """Everything configurable; built once per process by :func:`load_settings`."""

    database_url: str
    secret_key: str
    totp_key: str  # Fernet key for TOTP secrets at rest
    var_dir: Path
    checkpoint_key_path: Path  # Ed25519 private key (PEM), outside the database
    checkpoint_every: int = 1000
    checkpoint_max_age_seconds: int = 600  # the worker seals new entries at least this often
    signing_idle_seconds: int = 900
    signing_lockout_failures: int = 5
    signing_lockout_seconds: int = 900
    session_idle_seconds: int = 1800
    upload_max_bytes: int = 2 * 1024 * 1024
    log_format: str | None = None  # "json" or "text"; None leaves logging to the host (tests)
    log_level: str = "INFO"
    smtp_url: str | None = None  # smtp://, smtp+starttls:// or smtps://[user:pass@]host[:port]
    smtp_from: str = "sealtrail@localhost"
    public_url: str = "http://127.0.0.1:5000"  # where people open the app (links in notifications)
    ldap_url: str | None = None  # ldap:// or ldaps://host[:port]: sign-in with the directory
    ldap_user_dn: str = ""  # the DN (or AD UPN) a user binds as, with {username}
    ldap_base_dn: str = ""  # where the user's entry and groups are searched
    ldap_user_filter: str = "(|(uid={username})(sAMAccountName={username}))"
    ldap_group_filter: str = "(|(member={dn})(uniqueMember={dn}))"
    ldap_starttls: bool = False
    oidc_issuer: str | None = None  # https://…: sign-in with an OpenID Connect provider
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    extra: dict = field(default_factory=dict)


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than zero, got {value}")
    return value


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def load_settings(**overrides) -> Settings:
    """Build settings from ``SEALTRAIL_*`` environment variables, then ``overrides``."""
    vd = var_dir()
    default_db = f"sqlite:///{vd / 'sealtrail.db'}"
    values = dict(
        database_url=os.environ.get("SEALTRAIL_DATABASE_URL", default_db),
        secret_key=_secret_from_env_or_file(
            "SEALTRAIL_SECRET_KEY", "secret_key", lambda: secrets.token_hex(32)
        ),
        totp_key=_secret_from_env_or_file("SEALTRAIL_TOTP_KEY", "totp_key", _fernet_key),
        var_dir=vd,
        checkpoint_key_path=Path(
            os.environ.get("SEALTRAIL_CHECKPOINT_KEY_FILE", vd / "checkpoint_ed25519.pem")
        ),
        checkpoint_every=_positive_int("SEALTRAIL_CHECKPOINT_EVERY", 1000),
        checkpoint_max_age_seconds=_positive_int("SEALTRAIL_CHECKPOINT_MAX_AGE", 600),
        signing_idle_seconds=_positive_int("SEALTRAIL_SIGNING_IDLE_SECONDS", 900),
        signing_lockout_failures=_positive_int("SEALTRAIL_SIGNING_LOCKOUT_FAILURES", 5),
        signing_lockout_seconds=_positive_int("SEALTRAIL_SIGNING_LOCKOUT_SECONDS", 900),
        session_idle_seconds=_positive_int("SEALTRAIL_SESSION_IDLE_SECONDS", 1800),
        upload_max_bytes=_positive_int("SEALTRAIL_UPLOAD_MAX_BYTES", 2 * 1024 * 1024),
        log_format=os.environ.get("SEALTRAIL_LOG_FORMAT") or None,
        log_level=os.environ.get("SEALTRAIL_LOG_LEVEL", "INFO").upper(),
        smtp_url=os.environ.get("SEALTRAIL_SMTP_URL", "").strip() or None,
        smtp_from=os.environ.get("SEALTRAIL_SMTP_FROM", "").strip() or "sealtrail@localhost",
        public_url=(os.environ.get("SEALTRAIL_PUBLIC_URL", "").strip() or "http://127.0.0.1:5000").rstrip("/"),
        ldap_url=os.environ.get("SEALTRAIL_LDAP_URL", "").strip() or None,
        ldap_user_dn=os.environ.get("SEALTRAIL_LDAP_USER_DN", "").strip(),
        ldap_base_dn=os.environ.get("SEALTRAIL_LDAP_BASE_DN", "").strip(),
        ldap_user_filter=os.environ.get("SEALTRAIL_LDAP_USER_FILTER", "").strip()
        or "(|(uid={username})(sAMAccountName={username}))",
        ldap_group_filter=os.environ.get("SEALTRAIL_LDAP_GROUP_FILTER", "").strip() or "(|(member={dn})(uniqueMember={dn}))",
        ldap_starttls=os.environ.get("SEALTRAIL_LDAP_STARTTLS", "0").strip() in ("1", "true", "yes"),
        oidc_issuer=os.environ.get("SEALTRAIL_OIDC_ISSUER", "").strip() or None,
        oidc_client_id=os.environ.get("SEALTRAIL_OIDC_CLIENT_ID", "").strip(),
        oidc_client_secret=os.environ.get("SEALTRAIL_OIDC_CLIENT_SECRET", "").strip(),
    )
    values.update(overrides)
    _check_sqlite_path(values["database_url"])
    return Settings(**values)


def _check_sqlite_path(url: str) -> None:
    """A relative SQLite path would name a different file in every folder: refuse it."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"SEALTRAIL_DATABASE_URL is not a database URL: {url!r}") from None
    path = parsed.database
    if (parsed.get_backend_name() == "sqlite" and path and path != ":memory:"
            and not path.startswith("file:") and not Path(path).is_absolute()):
        raise ConfigError("SEALTRAIL_DATABASE_URL names a relative SQLite file (it would depend on "
                          f"the folder a command is run from): use sqlite:////absolute/path, got {url!r}")


def checkpoint_files(settings: Settings) -> list[Path]:
    """Where audit checkpoints are appended outside the database.

    ``settings.extra["checkpoint_files"]`` when given; otherwise ``SEALTRAIL_CHECKPOINT_FILE``
    (default ``var/audit_checkpoints.jsonl``) plus the ``SEALTRAIL_CHECKPOINT_MIRRORS`` paths
    (separated by ``os.pathsep``; e.g. a WORM share another administrator controls).
    """
    if "checkpoint_files" in settings.extra:
        return [Path(p) for p in settings.extra["checkpoint_files"]]
    files = [Path(os.environ.get("SEALTRAIL_CHECKPOINT_FILE", settings.var_dir / "audit_checkpoints.jsonl"))]
    mirrors = os.environ.get("SEALTRAIL_CHECKPOINT_MIRRORS", "")
    files += [Path(p) for p in mirrors.split(os.pathsep) if p.strip()]
    return files
