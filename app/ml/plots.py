"""PNG figures for MLflow and reports: calibration (reliability) plots and bankroll curves."""

import io
from collections.abc import Mapping, Sequence

import numpy as np

CALIBRATION_BINS = 10


def calibration_curve(
    y: np.ndarray, p: np.ndarray, bins: int = CALIBRATION_BINS
) -> list[tuple[float, float, int]]:
    """(mean probability, observed rate, games) of every non-empty equal-width bin."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    index = np.minimum((p * bins).astype(int), bins - 1)
    return [
        (float(p[index == b].mean()), float(y[index == b].mean()), int((index == b).sum()))
        for b in range(bins)
        if (index == b).any()
    ]


def calibration_png(y: np.ndarray, probabilities: Mapping[str, np.ndarray], title: str) -> bytes:
    """A reliability diagram of each named probability series against the outcomes ``y``."""
    figure, axes = _figure()
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect")
    for name, p in probabilities.items():
        points = calibration_curve(y, p)
        axes.plot([x for x, _, _ in points], [o for _, o, _ in points], marker="o", label=name)
    axes.set(xlabel="predicted probability", ylabel="observed rate", title=title)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.legend(loc="upper left")
    return _png(figure)


def bankroll_png(curves: Mapping[str, Sequence[tuple[str, float]]], title: str) -> bytes:
    """End-of-day bankroll (starting at 1) of each named simulation."""
    import matplotlib.dates as mdates

    figure, axes = _figure()
    for name, curve in curves.items():
        if curve:
            dates = np.array([d for d, _ in curve], dtype="datetime64[D]")
            axes.plot(dates, [v for _, v in curve], label=name)
    axes.axhline(1.0, color="grey", linestyle=":")
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(mdates.AutoDateLocator()))
    axes.set(ylabel="bankroll (start = 1)", title=title)
    axes.legend(loc="upper left")
    return _png(figure)


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6.4, 4.2), dpi=90)


def _png(figure) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
