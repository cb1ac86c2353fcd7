"""The worker's main process prepares its pool children to share its memory."""

import gc
import sys

from workers.signals import share_memory_with_the_pool


def test_the_worker_main_imports_what_children_load_and_freezes_its_objects():
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        share_memory_with_the_pool()
        assert "mlflow.lightgbm" in sys.modules
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
