"""The demo plant (a sterile single-use infusion set), loaded by ``sealtrail demo`` and the tests."""
from engine.demo.plant import DEMO_PRODUCT, DemoResult, DemoUser, is_loaded, load_demo

__all__ = ["DEMO_PRODUCT", "DemoResult", "DemoUser", "is_loaded", "load_demo"]
