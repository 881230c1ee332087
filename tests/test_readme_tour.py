"""The README's tour, run as printed: every command in order, in a fresh home, right after
`drivestats demo`; the output must be the README's, times, ids and hashes masked.

The expected text is README.md itself; `python docs/tour.py --write` regenerates it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def tour_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("tour", ROOT / "docs" / "tour.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_tour_prints_what_the_readme_shows() -> None:
    tour = tour_module()
    outputs = tour.run_tour()
    assert not any("Traceback" in text or "(exit " in text for text in outputs.values())
    found = list(tour.differences((ROOT / "README.md").read_text(), outputs))
    assert not found, "README.md and the tour differ (python docs/tour.py --write):\n" + "\n".join(
        found
    )


def test_the_masks_hide_times_and_ids_but_not_figures() -> None:
    tour = tour_module()
    before = "✓ import  made  5.1 s  afr-9c2670fc2aa785b3\n│ ST4000DM000 │ 405 │ 1.57 │"
    after = "✓ import  made  7.9 s  afr-0123456789abcdef\n│ ST4000DM000 │ 405 │ 1.57 │"
    assert tour.masked(before) == tour.masked(after)
    assert tour.masked(before) != tour.masked(before.replace("1.57", "1.58"))
