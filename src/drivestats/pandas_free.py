"""Keep pandas out of a drivestats process: pyarrow imports it (0.6 s) to look for pandas
objects in any conversion from Python values, which drivestats never hands it.

Installed by the command line and by movie workers only: a program using drivestats as a
library keeps its pandas. Should anything ask pyarrow for pandas itself (to_pandas), it gets
the ImportError pyarrow raises when pandas is not installed.
"""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder
from typing import Any


class _NoPandas(MetaPathFinder):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError(
                "drivestats keeps pandas out of its commands (drivestats.pandas_free)"
            )
        return None


def keep_pandas_out() -> None:
    """From now on, importing pandas in this process fails (unless it is imported already)."""
    if "pandas" in sys.modules or any(isinstance(f, _NoPandas) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _NoPandas())
