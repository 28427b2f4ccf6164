"""Sealtrail web: Flask pages and the JSON API. Routes stay thin; rules live in engine/."""
from web.app import create_app

__all__ = ["create_app"]
