"""The pages: a date's slate, one game, the ledger and bankroll, the models.

Views are thin: each reads through the same domain functions as the API resource showing the
same thing (named in each docstring), so a page and the API never disagree.
"""

from datetime import date
from typing import Any

from flask import abort, render_template, request, send_from_directory
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from app import clock
from app.api.bounds import MAX_PAGE, PG_INT_MAX
from app.api.context import services
from app.bets import reports
from app.bets.ledger import bets_query, page_of_bets
from app.bets.models import BET_STATUSES
from app.bets.reports import bankroll_report, clv_report, live_evaluation
from app.bets.slate import book_odds, game_views, line_history, neighbour_dates, slate
from app.bets.strategies import configured, describe
from app.db.session import session_scope
from app.features.store import FeatureSetMismatchError, read_features
from app.games.models import Game
from app.markets import BY_KEY, TARGETS
from app.ml import catalog
from app.ml.plots import calibration_curve
from app.ml.registry import CHALLENGER, CHAMPION
from app.web import blp, plots

PAGE_SIZE = 50
CLV_PAGE_GROUPS = ("market", "book", "strategy")  # the groupings of the CLV report


@blp.app_template_global()
def today() -> date:
    """The system's date (a replay's clock when one runs)."""
    return clock.today()


def _whole_number(raw: str) -> bool:
    """ASCII digits only (``str.isdigit`` also takes "²", which ``int`` refuses)."""
    return raw.isascii() and raw.isdigit()


def _date_arg(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400, description=f"'{name}' must be a date as YYYY-MM-DD, not {raw!r}")


def _choice_arg(name: str, choices: tuple[str, ...] | list[str]) -> str | None:
    raw = request.args.get(name, "").strip()
    if raw and raw not in choices:
        abort(400, description=f"'{name}' must be one of {', '.join(choices)}, not {raw!r}")
    return raw or None


def _page_arg() -> int:
    raw = request.args.get("page", "1").strip() or "1"
    if not _whole_number(raw) or not 1 <= int(raw) <= MAX_PAGE:
        abort(400, description=f"'page' must be a whole number from 1, not {raw!r}")
    return int(raw)


@blp.route("/", endpoint="slate")
def slate_page() -> str:
    """A date's games, model against market per target (``/api/v1/predict/{id}``, ledger)."""
    day = _date_arg("date") or clock.today()
    with session_scope(services().database_url) as session:
        views = slate(session, day)
        previous_day, next_day = neighbour_dates(session, day)
        return render_template(
            "slate.html", day=day, views=views, previous_day=previous_day, next_day=next_day
        )


@blp.route("/games/<game_id>")
def game_page(game_id: str) -> str:
    """One game: its slate row, line history, explanation and features (``/features/{id}``)."""
    if not _whole_number(game_id) or not 1 <= int(game_id) <= PG_INT_MAX:
        abort(404, description=f"no game {game_id!r}: a game id is a positive whole number")
    with session_scope(services().database_url) as session:
        game = session.get(Game, int(game_id))
        if game is None:
            abort(404, description=f"no game {game_id}")
        view = game_views(session, [game])[0]
        history = line_history(session, game.id)
        odds = book_odds(session, game.id)
        try:
            features = read_features(services().feature_store, game.id)
        except FeatureSetMismatchError:
            features = None
        return render_template(
            "game.html",
            view=view,
            game=game,
            history=history,
            odds=odds,
            features=features,
            chart=plots.line_history_chart(history, view),
        )


@blp.route("/bets")
def ledger_page() -> str:
    """The ledger with filters (``GET /api/v1/bets``) and the bankroll (``/api/v1/bankroll``)."""
    filters = {
        "date": _date_arg("date"),
        "market": _choice_arg("market", list(BY_KEY)),
        "status": _choice_arg("status", BET_STATUSES),
    }
    page = _page_arg()
    settings = services().settings
    with session_scope(services().database_url) as session:
        query = bets_query(
            game_date=filters["date"], status=filters["status"], market=filters["market"]
        )
        bets, total = page_of_bets(session, query, page, PAGE_SIZE)
        ids = {bet.game_id for bet in bets}
        games = {game.id: game for game in session.scalars(select(Game).where(Game.id.in_(ids)))}
        report = bankroll_report(session, settings.bankroll)
        strategies = describe(session, configured(settings))
        clv = {group: clv_report(session, group) for group in CLV_PAGE_GROUPS}
        return render_template(
            "ledger.html",
            clv=clv,
            bets=bets,
            games=games,
            total=total,
            page=page,
            pages=max(1, -(-total // PAGE_SIZE)),
            filters=filters,
            markets=list(BY_KEY),
            statuses=BET_STATUSES,
            report=report,
            chart=plots.bankroll_chart(report),
            strategies=strategies,
        )


@blp.route("/models")
def models_page() -> str:
    """Champion and challenger of every target (``/api/v1/models/{name}``), their live and
    backtest performance (``/models/{name}/performance``) and a live calibration plot."""
    settings = services().settings
    targets: list[dict[str, Any]] = []
    with session_scope(services().database_url) as session:
        for target in TARGETS:
            name = settings.model_name(target)
            detail = catalog.model_versions(settings, target, name)
            live = reports.model_performance(settings, session, target, name, "live")["live"]
            backtest = reports.model_performance(settings, session, target, name, "backtest")
            _, evaluation = live_evaluation(session, target, name)
            curves: dict[str, list[tuple[float, float, int]]] = {}
            if evaluation is not None and len(evaluation.y):
                curves["model"] = calibration_curve(evaluation.y, evaluation.p_model)
                if "open" in evaluation.p_market:
                    curves["market at the open"] = calibration_curve(
                        evaluation.y, evaluation.p_market["open"]
                    )
            targets.append(
                {
                    "target": target,
                    "name": name,
                    "versions": _by_alias(detail),
                    "live": live,
                    "backtests": backtest["backtests"],
                    "evaluations": backtest["evaluations"],
                    "chart": plots.calibration(target, curves) if curves else None,
                }
            )
    return render_template("models.html", targets=targets)


def _by_alias(detail: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The champion and challenger versions, in that order (those that exist)."""
    if detail is None:
        return []
    wanted = (CHAMPION, CHALLENGER)
    found = [v for v in detail["versions"] if set(v["aliases"]) & set(wanted)]
    return sorted(found, key=lambda v: min(wanted.index(a) for a in v["aliases"] if a in wanted))


@blp.route("/favicon.ico")
def favicon() -> Response:
    """The site's icon where browsers look for it unasked (the API docs page names none)."""
    return send_from_directory(blp.static_folder, "favicon.svg", mimetype="image/svg+xml")


@blp.errorhandler(HTTPException)
def error_page(error: HTTPException) -> tuple[str, int]:
    """A bad date, filter or game gets a page saying what was wrong."""
    page = render_template(
        "error.html", code=error.code, name=error.name, message=error.description
    )
    return page, error.code
