"""Print the README's queue table (Markdown) from ``bench/bench_queue.py``'s JSON.

Usage: ``.venv/bin/python bench/queue_table.py [var/bench/queue.json]``. Each row: the path,
the mode (``api``: prediction workers paused while measured; ``stack``: workers consuming),
the figure measured, the floor measured beside it in the same run, their ratio, the goal, and
the load average when the enqueue was measured.
"""

import argparse
import json
from pathlib import Path

DEFAULT = Path(__file__).resolve().parent.parent / "var" / "bench" / "queue.json"


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit in {"req/s", "jobs/s"}:
        return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.1f} {unit}"
    return f"{value:.3f} s" if unit == "s" else f"{value:.1f} {unit}"


def markdown(figures: dict) -> str:
    lines = [
        "| path | mode | measured | floor | ratio | goal | |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in figures["table"]:
        ratio = f"{row['ratio']:.2f}x" if row["ratio"] is not None else ""
        lines.append(
            f"| {row['path']} | {row['mode']} | {_figure(row['value'], row['unit'])} | "
            f"{_figure(row['floor'], row['unit'])} | {ratio} | {row['goal']} | "
            f"{'' if row['met'] is None else 'met' if row['met'] else 'missed'} |"
        )
    loads = [figures[mode]["enqueue"]["load_average"] for mode in ("api", "stack")]
    start, end = figures["load_average"]["start"][0], figures["load_average"]["end"][0]
    lines.append("")
    lines.append(
        f"Load average (1 min): {start:.1f} at the start, {loads[0]:.1f} / {loads[1]:.1f} during "
        f"the api / stack enqueue, {end:.1f} at the end."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("figures", nargs="?", type=Path, default=DEFAULT,
                        help=f"bench_queue.py's JSON (default {DEFAULT})")  # fmt: skip
    print(markdown(json.loads(parser.parse_args().figures.read_text())))


if __name__ == "__main__":
    main()
