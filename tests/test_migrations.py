"""Migrations create the schema from nothing and agree with the models."""
from engine import migrate


def test_upgrade_on_empty_database_reaches_every_head(fresh_db):
    heads = migrate.current_heads(fresh_db.url)
    script_heads = set(migrate.alembic_script_heads())
    assert heads == script_heads and heads


def test_models_and_migrations_agree(fresh_db):
    assert migrate.schema_drift(fresh_db.url) == []
