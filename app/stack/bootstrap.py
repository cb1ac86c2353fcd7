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
            f"{training_seasons[-1]}: {outcome.decision}; held-out log loss "
            f"{outcome.metrics['held_out_log_loss']:.4f}"
        )


def stale_targets(settings: Settings) -> list[str]:
    """Targets with no champion, or whose champion was trained on another feature set."""
    mlflow_client = client(settings)
    stale = []
    for target in TARGETS:
        champion = version_by_alias(mlflow_client, settings.model_name(target), CHAMPION)
        if champion is None or champion.tags.get("feature_fingerprint") != FEATURE_SET.fingerprint:
            stale.append(target)
    return stale
