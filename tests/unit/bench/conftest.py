import importlib.util
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture
def soak() -> ModuleType:
    """``bench/soak.py``, loaded as a module (bench/ is scripts, not a package)."""
    path = Path(__file__).resolve().parents[3] / "bench" / "soak.py"
    spec = importlib.util.spec_from_file_location("soak_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
