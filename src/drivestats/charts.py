"""Charts that come out byte-identical every time: matplotlib on Agg, PNG and SVG, no dates.

Jobs are checked by re-making them and comparing hashes, so a chart must not
carry a timestamp, a random id or the matplotlib version. Figures are made
with ``matplotlib.figure.Figure`` directly (no pyplot state), which is safe in
worker threads and needs no backend switch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Fixed so that SVG element ids (derived from a hash salted with this) repeat between runs.
SVG_SALT = "drivestats"
DPI = 100
PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
_RC = {
    "svg.hashsalt": SVG_SALT,
    # Text as paths: the SVG does not depend on fonts installed where it is viewed.
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}


@dataclass(frozen=True)
class Series:
    """One line of a chart, with an optional interval band around it."""

    label: str
    x: Sequence[float]
    y: Sequence[float | None]
    low: Sequence[float | None] | None = None
    high: Sequence[float | None] | None = None


def rc_context():  # type: ignore[no-untyped-def]
    """The matplotlib settings every drivestats chart is drawn and saved under."""
    import matplotlib

    return matplotlib.rc_context(_RC)


def new_figure(width: float = 8.0, height: float = 4.5):  # type: ignore[no-untyped-def]
    """An empty figure of width x height inches, not registered with pyplot."""
    from matplotlib.figure import Figure

    with rc_context():
        return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def save_figure(figure: Any, folder: Path, stem: str, job_id: str) -> list[Path]:
    """Write a figure as <stem>.png and <stem>.svg with reproducible bytes; return both paths.

    Both carry the id of the job that drew them (drivestats.provenance reads it back).
    """
    from drivestats import provenance

    png = folder / f"{stem}.png"
    svg = folder / f"{stem}.svg"
    with rc_context():
        # "Software" would embed the matplotlib version; "Date" a timestamp.
        figure.savefig(
            png, format="png", dpi=DPI, metadata={"Software": None, provenance.JOB_KEY: job_id}
        )
        svg_metadata: dict[str, str | None] = {"Date": None, "Creator": None}
        svg_metadata["Description"] = provenance.svg_description(job_id)
        figure.savefig(svg, format="svg", metadata=svg_metadata)
    return [png, svg]


def plot_series(axes: Any, series: Sequence[Series], step: bool = False) -> None:
    """Draw lines with shaded interval bands on one axes; None values leave gaps."""
    import numpy as np

    for index, one in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        x = np.asarray(one.x, dtype=float)
        y = np.asarray([np.nan if v is None else v for v in one.y], dtype=float)
        where = "post" if step else None
        if step:
            axes.step(x, y, where="post", color=color, label=one.label, linewidth=1.4)
        else:
            axes.plot(x, y, color=color, label=one.label, marker="o", markersize=3, linewidth=1.2)
        if one.low is not None and one.high is not None:
            low = np.asarray([np.nan if v is None else v for v in one.low], dtype=float)
            high = np.asarray([np.nan if v is None else v for v in one.high], dtype=float)
            axes.fill_between(x, low, high, color=color, alpha=0.18, linewidth=0, step=where)
            if not step:
                # Whiskers too: a band is invisible around a lone point between gaps.
                axes.vlines(x, low, high, color=color, alpha=0.6, linewidth=1.0)
