"""Every table the application owns, for Alembic and the models-vs-migrations check."""
from __future__ import annotations

import importlib
import pkgutil

from sqlalchemy import MetaData

from audit.models import AuditBase
from engine.db import Base

_MODEL_PACKAGES = ("audit", "engine")


def load_models() -> None:
    """Import every ``models`` module (or ``models`` package) below audit/ and engine/."""
    for root in _MODEL_PACKAGES:
        package = importlib.import_module(root)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{root}."):
            leaf = info.name.rsplit(".", 1)[-1]
            if leaf == "models" or ".models." in info.name:
                importlib.import_module(info.name)


def all_metadata() -> list[MetaData]:
    """The MetaData objects of engine/ and audit/, with every model loaded."""
    load_models()
    return [Base.metadata, AuditBase.metadata]
