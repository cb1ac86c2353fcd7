"""The pages' figures as inline SVG, drawn by matplotlib on the server.

Figures are built on ``matplotlib.figure.Figure`` (the Agg-family canvases, no pyplot and no
global backend switch), so drawing is thread-safe and importing this module does nothing.
Text stays text (``svg.fonttype: none``), and each SVG carries ``role="img"``, an
``aria-label`` and a ``<title>`` naming what it shows.
"""

import io
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from html import escape
from typing import Any

from app.markets import MONEYLINE
from app.odds import market_probability

# Colours with at least 4.5:1 contrast on white, told apart by marker and line style too.
PALETTE = ("#1f4e9c", "#b3380c", "#2a7a2a", "#6b3fa0", "#8a5a00", "#00707a")
STYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P")
INK = "#1b1b1b"


def line_chart(
    series: Mapping[str, Sequence[tuple[datetime | date | float, float]]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    reference: tuple[float, str] | None = None,
    percent: bool = False,
    steps: bool = False,
) -> str:
    """Named series of (x, y) points as an SVG line chart; ``reference`` is a labelled level,
    ``percent`` writes the y axis (probabilities) as percentages."""
    figure, axes = _figure()
    for index, (name, points) in enumerate(series.items()):
        if not points:
            continue
        xs, ys = [x for x, _ in points], [y for _, y in points]
        axes.plot(
            xs,
            ys,
            label=name,
            color=PALETTE[index % len(PALETTE)],
            linestyle=STYLES[index % len(STYLES)],
            marker=MARKERS[index % len(MARKERS)],
            markersize=4,
            linewidth=1.8,
            drawstyle="steps-post" if steps else "default",
        )
    if reference is not None:
        level, label = reference
        axes.axhline(level, color="#5c5c5c", linestyle=":", linewidth=1.2, label=label)
        values = [level, *(y for points in series.values() for _, y in points)]
        pad = max((max(values) - min(values)) * 0.12, abs(level) * 0.005, 1e-3)
        axes.set_ylim(min(values) - pad, max(values) + pad)
    if percent:
        from matplotlib.ticker import PercentFormatter

        axes.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=1))
    if any(isinstance(x, date) for points in series.values() for x, _ in points):
        _date_axis(axes)
    return _svg(figure, axes, title, xlabel, ylabel)


def calibration_chart(
    curves: Mapping[str, Sequence[tuple[float, float, int]]], *, title: str
) -> str:
    """A reliability diagram: (mean predicted probability, observed rate, games) per bin."""
    figure, axes = _figure()
    axes.plot([0, 1], [0, 1], color="#5c5c5c", linestyle=":", linewidth=1.2, label="perfect")
    for index, (name, points) in enumerate(curves.items()):
        if points:
            axes.plot(
                [p for p, _, _ in points],
                [o for _, o, _ in points],
                label=f"{name} ({sum(n for _, _, n in points)} games)",
                color=PALETTE[index % len(PALETTE)],
                linestyle=STYLES[index % len(STYLES)],
                marker=MARKERS[index % len(MARKERS)],
                markersize=5,
            )
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    return _svg(figure, axes, title, "predicted probability", "observed rate")


def line_history_chart(snapshots: Sequence[Any], view: Any) -> str | None:
    """Each book's de-vigged home win probability over time, and the model's (dashed level)."""
    series: dict[str, list[tuple[datetime, float]]] = {}
    for snapshot in snapshots:
        home = market_probability(
            getattr(snapshot, MONEYLINE.snapshot.yes), getattr(snapshot, MONEYLINE.snapshot.no)
        )
        if home is not None:
            series.setdefault(snapshot.book, []).append((snapshot.captured_at, home))
    if not series:
        return None
    model = next((m.model_probability for m in view.markets if m.market == MONEYLINE.key), None)
    game = view.game
    return line_chart(
        series,
        title=f"{game.away_team} at {game.home_team}: home win probability by the moneyline",
        xlabel="captured at (UTC)",
        ylabel="home win probability",
        reference=(model, "model") if model is not None else None,
        percent=True,
        steps=True,
    )


def bankroll_chart(report: Mapping[str, Any]) -> str | None:
    """The end-of-day bankroll by settlement date, from the starting bankroll."""
    curve = report["curve"]
    if not curve:
        return None
    start = report["summary"]["initial_bankroll"]
    points = [(date.fromisoformat(point["date"]), point["bankroll"]) for point in curve]
    return line_chart(
        {"bankroll": points},
        title="Bankroll by settlement date",
        xlabel="settlement date",
        ylabel="bankroll",
        reference=(start, "start"),
    )


def calibration(target: str, curves: Mapping[str, Sequence[tuple[float, float, int]]]) -> str:
    """The live reliability diagram of a target's model (and the market's)."""
    return calibration_chart(curves, title=f"{target}: live calibration (graded pre-game games)")


def _figure():
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.2, 3.8), dpi=96)
    axes = figure.add_subplot()
    axes.grid(True, color="#d9d9d9", linewidth=0.6)
    axes.tick_params(colors=INK, labelsize=10)
    for spine in axes.spines.values():
        spine.set_color("#5c5c5c")
    return figure, axes


def _date_axis(axes) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(maxticks=8)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _svg(figure, axes, title: str, xlabel: str, ylabel: str) -> str:
    import matplotlib

    axes.set_title(title, color=INK, fontsize=12)
    axes.set_xlabel(xlabel, color=INK, fontsize=11)
    axes.set_ylabel(ylabel, color=INK, fontsize=11)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="best", fontsize=9, frameon=True, framealpha=0.9)
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "bullpen"}):
        figure.tight_layout()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return _accessible(buffer.getvalue(), title)


def _accessible(svg: str, title: str) -> str:
    """The ``<svg>`` element alone, labelled for screen readers, scaling to its container."""
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg[svg.index("<svg") :], flags=re.DOTALL)
    label = escape(title, quote=True)
    svg = re.sub(
        r"<svg ([^>]*?)\s*width=\"[^\"]*\" height=\"[^\"]*\"",
        rf'<svg \1 role="img" aria-label="{label}" class="chart"',
        svg,
        count=1,
    )
    head_end = svg.index(">") + 1
    return f"{svg[:head_end]}<title>{escape(title)}</title>{svg[head_end:]}"
