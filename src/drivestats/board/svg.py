"""Charts drawn on the server as inline SVG: time series, stacked areas, bars, interval bars.

No chart library and no script: the page stays usable offline and printable.
Colours and sizes come from presentation attributes, never inline ``style``,
so a strict Content-Security-Policy holds. Each mark carries a ``<title>``,
which browsers show as a tooltip.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from drivestats.charts import PALETTE

OTHER_COLOUR = "#b8b8b8"
INK = "#333333"
GRID = "#e4e4e4"
Formatter = Callable[[float], str]


@dataclass(frozen=True)
class Frame:
    """The plotting area inside an SVG canvas and the data ranges it maps."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    x_min: float
    x_max: float
    y_min: float
    y_max: float

    def x(self, value: float) -> float:
        span = (self.x_max - self.x_min) or 1.0
        return self.left + (value - self.x_min) / span * (self.width - self.left - self.right)

    def y(self, value: float) -> float:
        span = (self.y_max - self.y_min) or 1.0
        return self.height - self.bottom - (value - self.y_min) / span * self.plot_height

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    @property
    def plot_right(self) -> float:
        return self.width - self.right


# --- numbers --------------------------------------------------------------------


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top``: steps of 1, 2 or 5 times a power of ten."""
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    ticks = [0.0]
    while ticks[-1] < top - 1e-9 * top:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def count_label(value: float) -> str:
    """A count for an axis: 1,200 or 1.2M."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:g}M"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def percent_label(value: float) -> str:
    return f"{value:g}%"


def bytes_unit(largest: float) -> tuple[float, str]:
    """The decimal unit (divisor, name) that keeps a byte axis readable."""
    for divisor, name in ((1e18, "EB"), (1e15, "PB"), (1e12, "TB"), (1e9, "GB")):
        if largest >= divisor:
            return divisor, name
    return 1.0, "B"


# --- dates ------------------------------------------------------------------------


def day_number(day: str) -> int:
    """An ISO date as a day count, so dates are positions on an axis."""
    return dt.date.fromisoformat(day).toordinal()


def date_ticks(first: str, last: str) -> list[tuple[int, str]]:
    """Axis ticks between two ISO dates: years, quarters or months depending on the span."""
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    span = (end - start).days
    if span > 3 * 365:
        step, style = 12 * max(1, math.ceil(span / 365 / 10)), "year"
    elif span > 270:
        step, style = 3, "quarter"
    else:
        step, style = 1, "month"
    month = start.year * 12 + start.month - 1
    ticks: list[tuple[int, str]] = []
    while True:
        year, index = divmod(month, 12)
        day = dt.date(year, index + 1, 1)
        if day > end:
            break
        if (
            day >= start
            and (style != "year" or index == 0)
            and (style != "quarter" or index % 3 == 0)
        ):
            if style == "year":
                label = str(year)
            elif style == "quarter":
                label = f"{year} Q{index // 3 + 1}"
            else:
                label = day.strftime("%b %Y") if index == 0 or not ticks else day.strftime("%b")
            ticks.append((day.toordinal(), label))
        month += step if style == "year" and index == 0 else 1
    return ticks


# --- drawing pieces ---------------------------------------------------------------


def _svg(width: int, height: int, label: str, body: list[str]) -> Markup:
    title = escape(label)
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{title}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="12">'
        f"<title>{title}</title>" + "".join(body) + "</svg>"
    )


def _y_axis(frame: Frame, ticks: Sequence[float], formatter: Formatter, label: str) -> list[str]:
    parts = []
    for tick in ticks:
        y = frame.y(tick)
        parts.append(
            f'<line x1="{frame.left}" x2="{frame.plot_right:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}"/>'
            f'<text x="{frame.left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">'
            f"{escape(formatter(tick))}</text>"
        )
    if label:
        parts.append(
            f'<text x="14" y="{frame.top + frame.plot_height / 2:.1f}" fill="{INK}" '
            f'text-anchor="middle" transform="rotate(-90 14 {frame.top + frame.plot_height / 2:.1f})">'
            f"{escape(label)}</text>"
        )
    return parts


def _x_axis(frame: Frame, ticks: Sequence[tuple[float, str]]) -> list[str]:
    base = frame.height - frame.bottom
    parts = [
        f'<line x1="{frame.left}" x2="{frame.plot_right:.1f}" y1="{base}" y2="{base}" stroke="{INK}"/>'
    ]
    for value, text in ticks:
        x = frame.x(value)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{base}" y2="{base + 4}" stroke="{INK}"/>'
            f'<text x="{x:.1f}" y="{base + 17}" text-anchor="middle" fill="{INK}">'
            f"{escape(text)}</text>"
        )
    return parts


def _legend(
    frame: Frame,
    names: Sequence[str],
    colours: Sequence[str],
    urls: Sequence[str | None] = (),
    dashed: Sequence[bool] = (),
) -> list[str]:
    """Swatches and names right of the plot; a name with a URL is a link (a model's page)."""
    parts = []
    x = frame.plot_right + 14
    for position, (name, colour) in enumerate(zip(names, colours, strict=True)):
        y = frame.top + 4 + 17 * position
        url = urls[position] if position < len(urls) else None
        swatch = (
            f'<line x1="{x}" x2="{x + 11}" y1="{y + 5.5}" y2="{y + 5.5}" stroke="{colour}" '
            f'stroke-width="2.5" stroke-dasharray="3 2"/>'
            if position < len(dashed) and dashed[position]
            else f'<rect x="{x}" y="{y}" width="11" height="11" fill="{colour}"/>'
        )
        text = (
            f'<text x="{x + 16}" y="{y + 10}" fill="{PALETTE[0] if url else INK}">'
            f"{escape(_shorter(name, 26))}<title>{escape(name)}</title></text>"
        )
        if url:
            text = f'<a href="{escape(url)}" class="legend-link">{text}</a>'
        parts.append(swatch + text)
    return parts


def _shorter(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def colours_for(names: Sequence[str]) -> list[str]:
    """The palette in order, grey for the 'other' bucket."""
    return [
        OTHER_COLOUR if name.startswith("other") else PALETTE[i % len(PALETTE)]
        for i, name in enumerate(names)
    ]


# --- charts -----------------------------------------------------------------------


def time_chart(
    dates: Sequence[str],
    series: Sequence[dict],
    label: str,
    unit: str = "count",
    stacked: bool = False,
) -> Markup:
    """Lines (or stacked areas) over dates; each series is {"name", "values"}; unit count|bytes."""
    if not dates or not series:
        return Markup('<p class="empty">No data to draw.</p>')
    legend = len(series) > 1
    xs = [day_number(d) for d in dates]
    columns = [[float(v or 0) for v in s["values"]] for s in series]
    if stacked:
        tops, running = [], [0.0] * len(xs)
        for column in columns:
            running = [a + b for a, b in zip(running, column, strict=True)]
            tops.append(running)
        largest = max(tops[-1], default=0.0)
    else:
        tops = columns
        largest = max((max(c, default=0.0) for c in columns), default=0.0)
    divisor, unit_name = bytes_unit(largest) if unit == "bytes" else (1.0, "")
    ticks = nice_ticks(largest / divisor)
    frame = Frame(
        960, 320, 70, 220 if legend else 20, 14, 30, xs[0], xs[-1], 0.0, ticks[-1] * divisor
    )

    def tick_label(value: float) -> str:
        return count_label(value) + (f" {unit_name}" if unit_name else "")

    body = _y_axis(frame, [t * divisor for t in ticks], lambda v: tick_label(v / divisor), label)
    colours = colours_for([s["name"] for s in series])
    below = [0.0] * len(xs)
    for name, top, colour in zip((s["name"] for s in series), tops, colours, strict=True):
        line = " ".join(f"{frame.x(x):.1f},{frame.y(v):.1f}" for x, v in zip(xs, top, strict=True))
        if stacked:
            under = " ".join(
                f"{frame.x(x):.1f},{frame.y(v):.1f}"
                for x, v in reversed(list(zip(xs, below, strict=True)))
            )
            body.append(
                f'<polygon points="{line} {under}" fill="{colour}" fill-opacity="0.85" '
                f'stroke="#ffffff" stroke-width="0.5"><title>{escape(name)}</title></polygon>'
            )
            below = top
        else:
            body.append(
                f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2">'
                f"<title>{escape(name)}</title></polyline>"
            )
    body += _x_axis(frame, date_ticks(dates[0], dates[-1]))
    if legend:
        names = [s["name"] for s in series]
        # Stacked areas read top-down, so the legend lists them in the same order.
        order = list(reversed(range(len(names)))) if stacked else list(range(len(names)))
        urls = [series[i].get("url") for i in order]
        body += _legend(frame, [names[i] for i in order], [colours[i] for i in order], urls)
    return _svg(frame.width, frame.height, label, body)


def bar_chart(
    labels: Sequence[str], values: Sequence[float], label: str, notes: Sequence[str] = ()
) -> Markup:
    """Vertical bars, one per label (quarters), with the value as a tooltip."""
    if not labels:
        return Markup('<p class="empty">No data to draw.</p>')
    ticks = nice_ticks(max(values, default=0))
    count = len(labels)
    frame = Frame(960, 280, 70, 20, 14, 30, 0.0, float(count), 0.0, ticks[-1])
    body = _y_axis(frame, ticks, count_label, label)
    slot = (frame.plot_right - frame.left) / count
    every = max(1, math.ceil(count / 16))
    for i, (name, value) in enumerate(zip(labels, values, strict=True)):
        # Few quarters must not make slabs: bars stay at most 48 units wide, centred.
        width = min(slot * 0.7, 48.0)
        x = frame.x(i) + (slot - width) / 2
        y = frame.y(value)
        note = f" ({notes[i]})" if i < len(notes) and notes[i] else ""
        body.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
            f'height="{frame.height - frame.bottom - y:.1f}" fill="{PALETTE[1] if not note else "#e8a3a3"}">'
            f"<title>{escape(name)}: {value:,.0f}{escape(note)}</title></rect>"
        )
    ticks_x = [(i + 0.5, labels[i]) for i in range(0, count, every)]
    body += _x_axis(frame, ticks_x)
    return _svg(frame.width, frame.height, label, body)


def band_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    lows: Sequence[float | None],
    highs: Sequence[float | None],
    label: str,
) -> Markup:
    """A line with its interval as a shaded band, over labelled periods (quarters)."""
    if not labels:
        return Markup('<p class="empty">No data to draw.</p>')
    largest = max((h for h in highs if h is not None), default=1.0)
    ticks = nice_ticks(largest)
    count = len(labels)
    frame = Frame(960, 280, 70, 20, 14, 30, -0.5, count - 0.5, 0.0, ticks[-1])
    body = _y_axis(frame, ticks, percent_label, label)
    known = [i for i in range(count) if values[i] is not None]
    if known:
        upper = " ".join(f"{frame.x(i):.1f},{frame.y(highs[i] or 0):.1f}" for i in known)
        lower = " ".join(f"{frame.x(i):.1f},{frame.y(lows[i] or 0):.1f}" for i in reversed(known))
        body.append(f'<polygon points="{upper} {lower}" fill="{PALETTE[0]}" fill-opacity="0.18"/>')
        line = " ".join(f"{frame.x(i):.1f},{frame.y(values[i] or 0):.1f}" for i in known)
        body.append(
            f'<polyline points="{line}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>'
        )
        for i in known:
            tip = f"{labels[i]}: {values[i]:.2f}% (95% interval {lows[i]:.2f} to {highs[i]:.2f})"
            body.append(
                f'<circle cx="{frame.x(i):.1f}" cy="{frame.y(values[i] or 0):.1f}" r="3.5" '
                f'fill="{PALETTE[0]}"><title>{escape(tip)}</title></circle>'
            )
    every = max(1, math.ceil(count / 16))
    body += _x_axis(frame, [(i, labels[i]) for i in range(0, count, every)])
    return _svg(frame.width, frame.height, label, body)


def interval_bar(
    low: float | None, value: float | None, high: float | None, scale: float
) -> Markup:
    """A row's 95% interval as a bar on a shared 0..scale axis, with a tick at the estimate."""
    if value is None or low is None or high is None or scale <= 0:
        return Markup("")
    width, height = 200, 14

    def at(v: float) -> float:
        return min(v, scale) / scale * width

    clipped = high > scale
    tip = f"{value:.2f}% (95% interval {low:.2f} to {high:.2f})"
    parts = [
        f'<rect x="0" y="6" width="{width}" height="2" fill="{GRID}"/>',
        f'<rect x="{at(low):.1f}" y="3" width="{max(at(high) - at(low), 1.5):.1f}" height="8" '
        f'rx="2" fill="{PALETTE[0]}" fill-opacity="0.35"/>',
        f'<rect x="{max(at(value) - 1, 0):.1f}" y="0" width="2.5" height="{height}" fill="{PALETTE[0]}"/>',
    ]
    if clipped:
        parts.append(f'<path d="M{width - 6},2 L{width},7 L{width - 6},12 Z" fill="{PALETTE[0]}"/>')
    return Markup(
        f'<svg class="interval" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(tip)}">'
        f"<title>{escape(tip)}</title>" + "".join(parts) + "</svg>"
    )


def _runs(known: Sequence[int]) -> list[list[int]]:
    """Consecutive stretches of indexes: a line or band breaks where a period has no value."""
    runs: list[list[int]] = []
    for index in known:
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


def period_chart(labels: Sequence[str], series: Sequence[dict], label: str) -> Markup:
    """Lines over labelled periods (quarters), one group per series, with optional bands.

    Each series is {"name", "values"} and may add "lows" and "highs" (its interval,
    drawn as whiskers when "band" is true), "dashed", "colour" and "url" (its legend
    links there). A period without a value breaks the line. The axis is set by the
    estimates, not by the intervals: a quarter with few drive days has an interval
    many times the rest, so whiskers are clipped at the top (the tooltips keep the numbers).
    """
    if not labels or not series:
        return Markup('<p class="empty">No data to draw.</p>')
    count = len(labels)
    values = [v for s in series for v in s["values"] if v is not None]
    ticks = nice_ticks(max(max(values, default=0.0) * 1.25, 1.0))
    top = ticks[-1]
    frame = Frame(960, 300, 70, 220, 14, 30, -0.5, count - 0.5, 0.0, top)
    body = _y_axis(frame, ticks, percent_label, label)
    colours = [s.get("colour") or PALETTE[i % len(PALETTE)] for i, s in enumerate(series)]

    def y(value: float | None) -> float:
        return frame.y(min(value or 0.0, top))

    for s, colour in zip(series, colours, strict=True):
        marks = []
        known = [i for i in range(count) if s["values"][i] is not None]
        lows, highs = s.get("lows"), s.get("highs")
        if s.get("band") and lows and highs:
            # Whiskers, not a band: quarters are separate estimates, and a quarter with few
            # drive days would flood a band over the whole chart. Clipped ones end in an arrow.
            for i in known:
                if lows[i] is None or highs[i] is None:
                    continue
                x, top_y, low_y = frame.x(i), y(highs[i]), y(lows[i])
                end = (
                    f'<path d="M{x - 4:.1f},{top_y + 6:.1f} L{x:.1f},{top_y:.1f} '
                    f'L{x + 4:.1f},{top_y + 6:.1f}" fill="none" stroke="{colour}"/>'
                    if highs[i] > top
                    else f'<line x1="{x - 4:.1f}" x2="{x + 4:.1f}" y1="{top_y:.1f}" '
                    f'y2="{top_y:.1f}" stroke="{colour}"/>'
                )
                marks.append(
                    f'<g class="interval" stroke-opacity="0.55"><line x1="{x:.1f}" x2="{x:.1f}" '
                    f'y1="{low_y:.1f}" y2="{top_y:.1f}" stroke="{colour}" stroke-width="1.5"/>'
                    f'<line x1="{x - 4:.1f}" x2="{x + 4:.1f}" y1="{low_y:.1f}" y2="{low_y:.1f}" '
                    f'stroke="{colour}"/>{end}</g>'
                )
        dash = ' stroke-dasharray="6 4"' if s.get("dashed") else ""
        for run in _runs(known):
            line = " ".join(f"{frame.x(i):.1f},{y(s['values'][i]):.1f}" for i in run)
            marks.append(
                f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'
            )
        for i in known:
            tip = f"{s['name']}, {labels[i]}: {s['values'][i]:.2f}%"
            if lows and highs and lows[i] is not None and highs[i] is not None:
                tip += f" (95% interval {lows[i]:.2f} to {highs[i]:.2f})"
            marks.append(
                f'<circle cx="{frame.x(i):.1f}" cy="{y(s["values"][i]):.1f}" r="3" '
                f'fill="{colour}"><title>{escape(tip)}</title></circle>'
            )
        kind = "series reference" if s.get("reference") else "series"
        body.append(f'<g class="{kind}" data-name="{escape(s["name"])}">' + "".join(marks) + "</g>")
    every = max(1, math.ceil(count / 14))
    body += _x_axis(frame, [(i, labels[i]) for i in range(0, count, every)])
    body += _series_legend(frame, series, colours)
    return _svg(frame.width, frame.height, label, body)


def _series_legend(frame: Frame, series: Sequence[dict], colours: Sequence[str]) -> list[str]:
    """The legend of a chart's series: each name linked to its page, dashed where its line is."""
    return _legend(
        frame,
        [s["name"] for s in series],
        colours,
        [s.get("url") for s in series],
        [bool(s.get("dashed")) for s in series],
    )


def survival_chart(series: Sequence[dict], label: str) -> Markup:
    """Kaplan-Meier curves as steps over years in service, one group per series.

    Each series is {"name", "years", "survival"} in years and percent and may add
    "lows" and "highs" (drawn as a band when "band" is true), "dashed", "colour", "url".
    """
    drawn = [s for s in series if s.get("years")]
    if not drawn:
        return Markup('<p class="empty">No data to draw.</p>')
    longest = max(max(s["years"]) for s in drawn)
    lowest = min(
        min([*s["survival"], *(s.get("lows") or [])] if s.get("band") else s["survival"])
        for s in drawn
    )
    # The axis starts a little below the lowest curve (or band), on a tick: round steps
    # that end at 100%.
    step = nice_ticks(100.0 - max(0.0, lowest - 2), 5)[1]
    floor = max(0.0, math.floor((lowest - 2) / step) * step)
    x_ticks = nice_ticks(max(longest, 0.25), 6)
    y_ticks = [100.0 - k * step for k in range(int((100.0 - floor) / step + 1e-9) + 1)][::-1]
    floor = min(floor, y_ticks[0])
    frame = Frame(960, 320, 70, 220, 14, 30, 0.0, x_ticks[-1], floor, 100.0)
    body = _y_axis(frame, y_ticks, percent_label, label)
    colours = [s.get("colour") or PALETTE[i % len(PALETTE)] for i, s in enumerate(series)]

    def steps(xs: Sequence[float], ys: Sequence[float]) -> list[tuple[float, float]]:
        points: list[tuple[float, float]] = []
        for x, value in zip(xs, ys, strict=True):
            if points:
                points.append((frame.x(x), points[-1][1]))
            points.append((frame.x(x), frame.y(max(value, floor))))
        return points

    for s, colour in zip(series, colours, strict=True):
        if not s.get("years"):
            body.append(f'<g class="series" data-name="{escape(s["name"])}"></g>')
            continue
        marks = []
        if s.get("band") and s.get("lows") and s.get("highs"):
            upper = steps(s["years"], s["highs"])
            lower = steps(s["years"], s["lows"])
            points = " ".join(f"{x:.1f},{v:.1f}" for x, v in [*upper, *reversed(lower)])
            marks.append(
                f'<polygon class="band" points="{points}" fill="{colour}" fill-opacity="0.15"/>'
            )
        line = " ".join(f"{x:.1f},{v:.1f}" for x, v in steps(s["years"], s["survival"]))
        dash = ' stroke-dasharray="6 4"' if s.get("dashed") else ""
        tip = (
            f"{s['name']}: {s['survival'][-1]:.1f}% still working after {s['years'][-1]:.1f} years"
        )
        marks.append(
            f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"{dash}>'
            f"<title>{escape(tip)}</title></polyline>"
        )
        body.append(f'<g class="series" data-name="{escape(s["name"])}">' + "".join(marks) + "</g>")
    body += _x_axis(frame, [(t, f"{t:g} y") for t in x_ticks])
    body += _series_legend(frame, series, colours)
    return _svg(frame.width, frame.height, label, body)


# --- the lineage graph ------------------------------------------------------------

NODE_WIDTH = 176
NODE_HEIGHT = 34
LEGEND_HEIGHT = 30


def lineage_graph(graph: dict) -> Markup:
    """A laid-out graph ({"nodes", "edges", "width", "height", "stages"}) as SVG at its own size.

    Each node is a link (to its job, source, result, or to the graph with its group
    expanded), coloured by stage; edges run left to right as curves.
    """
    if not graph.get("nodes"):
        return Markup('<p class="empty">No jobs to draw.</p>')
    nodes = {node["key"]: node for node in graph["nodes"]}
    width, height = graph["width"], graph["height"]
    body = []
    x = 8
    for stage in graph["stages"]:
        text = f"{stage['stage']} ({stage['count']})"
        body.append(
            f'<rect x="{x}" y="8" width="12" height="12" rx="2" fill="{stage["colour"]}"/>'
            f'<text x="{x + 17}" y="18" fill="{INK}">{escape(text)}</text>'
        )
        x += 30 + 7 * len(text)
    for source, target in graph["edges"]:
        a, b = nodes[source], nodes[target]
        x1, y1 = a["x"] + NODE_WIDTH, a["y"] + NODE_HEIGHT / 2
        x2, y2 = b["x"], b["y"] + NODE_HEIGHT / 2
        bend = max((x2 - x1) / 2, 30)
        body.append(
            f'<path class="edge" data-from="{escape(source)}" data-to="{escape(target)}" '
            f'd="M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} '
            f'{x2:.1f},{y2:.1f}" fill="none" stroke="#9aa3ad" stroke-width="1.2"/>'
        )
    for node in graph["nodes"]:
        x, y, colour = node["x"], node["y"], node["colour"]
        focus = node.get("focus")
        # A dashed outline: a group of jobs, drawn as one node until expanded.
        dashes = ' stroke-dasharray="5 3"' if node.get("members") else ""
        attributes = (
            f'class="node" data-key="{escape(node["key"])}" data-stage="{escape(node["stage"])}"'
        )
        if node.get("job"):
            attributes += f' data-job="{escape(node["job"])}"'
        if node.get("members"):
            attributes += f' data-members="{len(node["members"])}"'
        body.append(
            f'<a href="{escape(node["url"])}"><g {attributes}>'
            f"<title>{escape(node['title'])}</title>"
            # An opaque card first: edges that pass behind a node do not show through it.
            f'<rect x="{x}" y="{y}" width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="5" fill="#ffffff"/>'
            f'<rect x="{x}" y="{y}" width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="5" '
            f'fill="{colour}" fill-opacity="{0.35 if focus else 0.14}" stroke="{colour}" '
            f'stroke-width="{3 if focus else 1.3}"{dashes}/>'
            f'<rect x="{x}" y="{y}" width="5" height="{NODE_HEIGHT}" rx="2" fill="{colour}"/>'
            f'<text x="{x + 11}" y="{y + 14}" font-size="11" font-weight="600" fill="{INK}">'
            f"{escape(_shorter(node['heading'], 26))}</text>"
            f'<text x="{x + 11}" y="{y + 28}" font-size="11" fill="#555555">'
            f"{escape(_shorter(node['detail'], 27))}</text></g></a>"
        )
    return Markup(
        f'<svg class="lineage-graph" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="lineage graph" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="12">'
        + "".join(body)
        + "</svg>"
    )
