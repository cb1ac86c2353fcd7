"""First start: ingest the bundled sample, compute features, train a champion per target."""

from collections.abc import Callable

from sqlalchemy import func, select

from app.config import Settings
from app.db.session import session_scope
from app.features.definitions import FEATURE_SET
from app.features.refresh import refresh_features
from app.games.models import Game
from app.games.seasons import stored_seasons
from app.ingest.sources import ingest
from app.markets import TARGETS
from app.ml.predict import open_feature_store
from app.ml.registry import CHAMPION, client, version_by_alias
from app.ml.train import train_targets


def bootstrap(settings: Settings, say: Callable[[str], None]) -> None:
    """Bring an empty installation to a state where every prediction works. Idempotent."""
    with session_scope(settings.database_url) as session:
        games = session.scalar(select(func.count(Game.id)))
    if not games:
        sbro = sorted(settings.sample_dir.glob("mlb-odds-*.xlsx"))
        logs = sorted(settings.sample_dir.glob("GL*.TXT.gz"))
        say(f"ingesting the bundled sample: {len(sbro)} odds workbooks, {len(logs)} game logs")
        with session_scope(settings.database_url) as session:
            for report in [*ingest(session, "sbro", sbro), *ingest(session, "retrosheet", logs)]:
                say(f"  {report.summary()}")
    store = open_feature_store(settings)
    with session_scope(settings.database_url) as session:
        seasons = stored_seasons(session)
        for season in seasons:
            say(f"features of {season}: {refresh_features(session, store, season=season)} games")
    # Train on every season but the latest, so that the latest stays out of sample.
    training_seasons = seasons[:-1] or seasons
    stale = stale_targets(settings)
    if not stale:
        return
    with session_scope(settings.database_url) as session:
        outcomes = train_targets(session, settings, stale, training_seasons)
    for outcome in outcomes:
        say(
            f"trained {outcome.model_name} v{outcome.version} on {training_seasons[0]}-"
            f"{training_seasons[-1]}: {outcome.decision}; {held_out_summary(outcome.metrics)}"
        )


def held_out_summary(metrics: dict[str, float]) -> str:
    """The held-out log loss beside the market's on the same games, with the SE of the gap."""
    same = "held_out_same_games"
    line = f"held-out log loss {metrics['held_out_log_loss']:.4f}"
    if f"{same}_model_log_loss" not in metrics:
        return line
    line += f"; on the {metrics[f'{same}_n']:.0f} games the market priced: model "
    line += f"{metrics[f'{same}_model_log_loss']:.4f}"
    for moment in ("open", "close"):
        if f"{same}_market_{moment}_log_loss" in metrics:
            line += f", market {moment} {metrics[f'{same}_market_{moment}_log_loss']:.4f}"
    # The evidence is against the prices a bet would get: the open where there is one.
    priced = "open" if f"{same}_market_open_log_loss" in metrics else "close"
    advantage = metrics.get(f"{same}_edge_evidence_advantage")
    error = metrics.get(f"{same}_edge_evidence_standard_error")
    if advantage is not None and error is not None:
        line += f"; model minus {priced} {-advantage:+.4f} ± {error:.4f} (SE by date) a game"
    return line


def stale_targets(settings: Settings) -> list[str]:
    """Targets with no champion, or whose champion was trained on another feature set."""
    mlflow_client = client(settings)
    stale = []
    for target in TARGETS:
        champion = version_by_alias(mlflow_client, settings.model_name(target), CHAMPION)
        if champion is None or champion.tags.get("feature_fingerprint") != FEATURE_SET.fingerprint:
            stale.append(target)
    return stale
