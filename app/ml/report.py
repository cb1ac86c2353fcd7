"""A self-contained HTML backtest report: tables and inline PNG figures, viewable offline."""

import base64
import html
from typing import Any

from app.ml.backtest import METHOD, BacktestResult
from app.ml.plots import bankroll_png, calibration_png

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1100px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 48%; margin-right: 1%; }
dt { font-weight: bold; } dd { margin: 0 0 0.5em 1em; }
"""

_PROBABILITY_COLUMNS = ("n", "log_loss", "brier", "auc", "accuracy", "ece")
_BETTING_COLUMNS = (
    "bets", "hit_rate", "roi", "sharpe_per_day", "max_drawdown", "mean_clv", "final_bankroll",
)  # fmt: skip


def render_html(result: BacktestResult) -> str:
    """The whole report as one HTML document (figures embedded as data URIs)."""
    body = result.to_dict()
    parts = [
        f"<h1>Walk-forward backtest of {result.season}</h1>",
        f"<p>Trained on {html.escape(_span(result.train_seasons))}; feature set "
        f"{html.escape(body['feature_set'])}; generated {html.escape(body['generated_at'])}.</p>",
        "<h2>Summary</h2>",
        _summary_table(body["targets"]),
        *(
            f"<p>{html.escape(target)} skipped: {html.escape(reason)}</p>"
            for target, reason in body["skipped"].items()
        ),
    ]
    for target, evaluation in result.evaluations.items():
        details = body["targets"][target]
        parts.append(f"<h2>{html.escape(target)}</h2>")
        parts.append(
            f"<p>{details['n']} games evaluated of {details['n_labelled']} labelled; "
            f"model fitted on {details.get('n_train')} games, "
            f"{details.get('best_iteration')} trees.</p>"
        )
        parts.append(_probability_table(details))
        if details.get("betting"):
            parts.append(
                f"<p>Betting at {details['betting_prices']} prices:</p>"
                + _row_table([details["betting"]], _BETTING_COLUMNS, first=None)
            )
        figures = []
        if len(evaluation.y):
            series = {"model": evaluation.p_model}
            series |= {f"market {m}": p for m, p in evaluation.p_market.items()}
            figures.append(calibration_png(evaluation.y, series, f"{target}: calibration"))
        if evaluation.simulation is not None:
            figures.append(
                bankroll_png({"quarter Kelly": evaluation.simulation.curve}, f"{target}: bankroll")
            )
        parts.extend(_img(png, f"{target} figure") for png in figures)
    parts.append("<h2>Method</h2><dl>")
    parts.extend(
        f"<dt>{html.escape(key)}</dt><dd>{html.escape(text)}</dd>" for key, text in METHOD.items()
    )
    parts.append("</dl>")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>Bullpen backtest {result.season}</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(parts)}</body></html>"
    )


def _summary_table(targets: dict[str, dict[str, Any]]) -> str:
    rows = []
    for target, details in targets.items():
        open_, close = details.get("market_open") or {}, details.get("market_close") or {}
        betting = details.get("betting") or {}
        rows.append(
            {
                "target": target,
                "n": details["n"],
                "model log loss": (details.get("model") or {}).get("log_loss"),
                "market open log loss": open_.get("log_loss"),
                "market close log loss": close.get("log_loss"),
                "model ECE": (details.get("model") or {}).get("ece"),
                "bets": betting.get("bets"),
                "ROI": betting.get("roi"),
            }
        )
    columns = tuple(rows[0]) if rows else ()
    return _row_table(rows, columns, first="target")


def _probability_table(details: dict[str, Any]) -> str:
    rows = []
    for label, key in (
        ("model", "model"),
        ("market, open (de-vigged)", "market_open"),
        ("market, close (de-vigged)", "market_close"),
        ("model, every labelled game", "model_all_labelled"),
    ):
        metrics = details.get(key)
        rows.append({"": label, **(metrics or dict.fromkeys(_PROBABILITY_COLUMNS))})
    return _row_table(rows, ("", *_PROBABILITY_COLUMNS), first="")


def _row_table(rows: list[dict[str, Any]], columns: tuple[str, ...], first: str | None) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(value: Any) -> str:
    if value is None:
        return "&mdash;"
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() and abs(value) >= 10 else f"{value:.5f}"
    return html.escape(str(value))


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'>"


def _span(seasons: list[int]) -> str:
    return f"{seasons[0]}-{seasons[-1]}" if len(seasons) > 1 else str(seasons[0])
