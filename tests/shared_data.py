"""Where the project's shared real data lives (the odds workbooks 2010-2019, Retrosheet logs,
Pinnacle's 2016 line changes): ``$BULLPEN_SHARED_DATA``, else ``../shared/data`` beside the
checkout, else the workplace's copy. Tests that read it skip, saying so, when it is absent.
"""

import os
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parent.parent
_CANDIDATES = [
    Path(os.environ["BULLPEN_SHARED_DATA"]) if os.environ.get("BULLPEN_SHARED_DATA") else None,
    _ROOT.parent / "shared" / "data",
    Path("/work/shared/data"),
]
SHARED_DATA = next(
    (path for path in _CANDIDATES if path is not None and path.is_dir()), _CANDIDATES[1]
)
SHARED_SBRO = SHARED_DATA / "sbro"
needs_shared_data = pytest.mark.skipif(
    not SHARED_SBRO.is_dir(), reason=f"the shared data folder {SHARED_DATA} is absent"
)
