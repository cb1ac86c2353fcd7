import xml.etree.ElementTree as ET
from datetime import date

from app.web import plots

SVG = "{http://www.w3.org/2000/svg}"


def _parsed(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_a_line_chart_is_labelled_svg_with_text_axes_and_no_outside_reference():
    svg = plots.line_chart(
        {"bankroll": [(date(2019, 4, 1), 1000.0), (date(2019, 4, 2), 1012.5)]},
        title="Bankroll by settlement date",
        xlabel="settlement date",
        ylabel="bankroll",
        reference=(1000.0, "start"),
    )

    root = _parsed(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Bankroll by settlement date"
    assert root.find(f"{SVG}title").text == "Bankroll by settlement date"
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "settlement date" in texts and "bankroll" in texts and "start" in texts
    assert "<metadata" not in svg
    assert 'href="http' not in svg and "url(http" not in svg


def test_a_calibration_chart_counts_its_games_in_the_legend():
    svg = plots.calibration_chart(
        {"model": [(0.35, 0.4, 10), (0.65, 0.6, 12)]}, title="moneyline: live calibration"
    )

    texts = " ".join(t.text or "" for t in _parsed(svg).iter(f"{SVG}text"))
    assert "model (22 games)" in texts
    assert "predicted probability" in texts and "observed rate" in texts


def test_a_bankroll_without_settled_bets_has_no_chart():
    assert plots.bankroll_chart({"curve": [], "summary": {"initial_bankroll": 1000.0}}) is None


def test_the_line_history_plots_each_books_devigged_home_probability_and_the_model():
    from datetime import UTC, datetime
    from types import SimpleNamespace

    snapshots = [
        SimpleNamespace(book="sbro", captured_at=datetime(2019, 4, 7, h, tzinfo=UTC),
                        home_ml=home, away_ml=away)
        for h, home, away in ((12, 120, -140), (17, 118, -128), (18, None, -128))
    ]  # fmt: skip
    view = SimpleNamespace(
        game=SimpleNamespace(away_team="WAS", home_team="NYN"),
        markets=[SimpleNamespace(market="home_ml", model_probability=0.425)],
    )

    svg = plots.line_history_chart(snapshots, view)

    texts = " ".join(t.text or "" for t in _parsed(svg).iter(f"{SVG}text"))
    assert "WAS at NYN" in texts and "sbro" in texts and "model" in texts
    assert "home win probability" in texts
    assert plots.line_history_chart(snapshots[2:], view) is None
