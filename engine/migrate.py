"""Alembic, driven from code: ``sealtrail init`` and the tests call these."""
from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from engine.db import make_engine
from engine.schema import all_metadata


def alembic_config(url: str) -> Config:
    """An Alembic Config pointing at engine/migrations and ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", "engine:migrations")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, target: str = "heads") -> None:
    """Create or upgrade the schema at ``url`` to the newest revision."""
    command.upgrade(alembic_config(url), target)


def current_heads(url: str) -> set[str]:
    """The revisions the database at ``url`` is at."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


def schema_drift(url: str) -> list:
    """Differences between the migrated database at ``url`` and the models (empty = agree)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return drift_on(conn)
    finally:
        engine.dispose()


def drift_on(conn) -> list:
    """Differences between the database behind ``conn`` and the models (Alembic's comparison)."""
    ctx = MigrationContext.configure(conn, opts={"compare_type": True})
    return compare_metadata(ctx, all_metadata())


def alembic_script_heads() -> list[str]:
    """The heads a fully upgraded database records (Alembic does not record a head that another
    area's revision names in ``depends_on``: it is covered by that revision)."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    heads = set(script.get_heads())
    covered = {rev.revision for head in heads for rev in script.iterate_revisions(head, "base")
               if rev.revision != head}
    return sorted(heads - covered)
