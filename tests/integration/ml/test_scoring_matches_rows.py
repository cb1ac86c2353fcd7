"""On the sample's stored games, features and champions, the vectorised ``score`` writes the
payloads the row-by-row one wrote: every market, with book quotes and without."""

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import numpy as np
import pytest
from sqlalchemy import select

from app import clock
from app.bets.fairline import FairLineRules
from app.bets.quotes import book_quotes, first_pitch
from app.bets.recommend import staking_for
from app.config import Settings
from app.db.session import session_scope
from app.features.serving import stored_features, stored_game_rows
from app.games.models import Game
from app.markets import TARGETS
from app.ml.predict import champions_for, open_feature_store
from app.ml.registry import ChampionCache
from app.odds import decimal_to_american, devig_two_way
from app.predictions.pipeline import ChunkGames, open_quotes, score
from app.staking.pricing import BookQuote
from tests.unit.ml.row_scoring_reference import assert_same_payloads, score_by_rows

pytestmark = pytest.mark.integration

GAMES = 200


@pytest.fixture(scope="module")
def chunk(seeded: Settings) -> dict:
    """200 stored 2019 games with their features, some prices blanked, and their book quotes
    (the stored ones plus, for some games, a generous book 8% over the fair price)."""
    store = open_feature_store(seeded)
    with session_scope(seeded.database_url) as session:
        ids = list(
            session.scalars(
                select(Game.id)
                .where(Game.season == 2019)
                .order_by(Game.game_date, Game.id)
                .offset(600)
                .limit(GAMES)
            )
        )
        games, features = stored_features(session, store, ids)
        stored = book_quotes(session, ids)
    games.loc[::7, "home_ml_open"] = np.nan
    games.loc[::11, "total_open"] = np.nan
    games.loc[::13, "away_rl_price"] = np.nan
    quotes = []
    for index, game_id in enumerate(ids):
        by_market = {market: list(books) for market, books in stored.get(game_id, {}).items()}
        sbro = next(iter(by_market.get("home_ml", [])), None)
        if index % 3 == 0 and sbro is not None:
            fair = devig_two_way(sbro.price_yes, sbro.price_no)[0]
            generous = round(decimal_to_american(1.08 / fair))
            by_market["home_ml"].append(BookQuote("generous", generous, sbro.price_no))
        quotes.append(by_market)
    assert sum(1 for q in quotes if q) > GAMES * 0.9
    return {"ids": ids, "games": games, "features": features, "quotes": quotes}


@pytest.mark.parametrize("with_quotes", [True, False])
@pytest.mark.parametrize("gates", ["as registered", "every champion bets", "lenient ece"])
def test_the_sample_champions_payloads_equal_the_row_by_row_ones(
    seeded, chunk, monkeypatch, with_quotes, gates
):
    monkeypatch.setattr(clock, "now", lambda: datetime(2019, 6, 1, 12, 30, tzinfo=UTC))
    models = champions_for(ChampionCache(seeded), list(TARGETS))
    assert set(models) == set(TARGETS)
    if gates == "every champion bets":
        models = {target: replace(model, bets_enabled=True) for target, model in models.items()}
    max_ece = 0.10 if gates == "lenient ece" else seeded.max_ece
    staking = staking_for({"daily_exposure": 0.05}, seeded)
    arguments = (chunk["games"], chunk["features"], models, staking.bankroll, chunk["ids"])
    options = {
        "staking": staking,
        "quotes": chunk["quotes"] if with_quotes else None,
        "max_ece": max_ece,
    }

    expected = score_by_rows(*arguments, **options)
    actual = score(*arguments, **options)

    assert_same_payloads(actual, expected)
    if gates == "every champion bets":
        assert sum(len(p["betting_recommendations"]) for p in expected) > 20


def _betting(seeded: Settings) -> tuple:
    """The feature store, the champions (each betting on its edge) and the default staking."""
    models = {
        target: replace(model, bets_enabled=True)
        for target, model in champions_for(ChampionCache(seeded), list(TARGETS)).items()
    }
    return open_feature_store(seeded), models, staking_for({}, seeded)


def _forty_games(session) -> list[int]:
    """40 stored 2019 games over a few dates."""
    return list(
        session.scalars(
            select(Game.id).where(Game.season == 2019).order_by(Game.id).offset(900).limit(40)
        )
    )


def test_a_few_games_read_as_rows_score_as_the_frame_does(seeded, monkeypatch) -> None:
    """A one-game job's games come as SQL rows, not a frame: the same payloads either way."""
    store, models, staking = _betting(seeded)
    with session_scope(seeded.database_url) as session:
        ids = _forty_games(session)
        frame, features = stored_features(session, store, ids)
        rows, row_features = stored_game_rows(session, store, ids)
        first = min(session.scalars(select(Game.game_date).where(Game.id.in_(ids))))
        # Priced the evening before the first of them, at quotes taken just then (the
        # archive's rows are of unknown age: after first pitch, or stale, nothing is served).
        now = datetime.combine(first, time(0), tzinfo=UTC) - timedelta(hours=1)
        monkeypatch.setattr(clock, "now", lambda: now)
        quotes = [
            {
                market: [replace(q, captured_at=now - timedelta(minutes=5)) for q in by_market]
                for market, by_market in book_quotes(session, ids).get(game_id, {}).items()
            }
            for game_id in ids
        ]
    options = {"staking": staking, "quotes": quotes, "fair_rules": FairLineRules()}
    from_rows = score(ChunkGames.of_rows(rows), row_features, models, 0.0, ids, **options)
    from_frame = score(frame, features, models, 0.0, ids, **options)

    assert from_rows == from_frame
    assert any(payload["betting_recommendations"] for payload in from_rows)


def test_quotes_are_read_only_for_games_still_open_and_the_payloads_are_the_same(
    seeded, monkeypatch
) -> None:
    """A chunk reads the book quotes of the games whose first pitch is still ahead
    (``open_quotes``): the others' quotes are never priced, so the payloads are those that
    every game's quotes give."""
    store, models, staking = _betting(seeded)
    with session_scope(seeded.database_url) as session:
        ids = _forty_games(session)
        rows, features = stored_game_rows(session, store, ids)
        games = ChunkGames.of_rows(rows)
        pitches = [
            first_pitch(start, day)
            for start, day in zip(games.prices.starts, games.prices.dates, strict=True)
        ]
        # Some games already started, some not: the evening before the last date's games.
        moment = datetime.combine(max(games.prices.dates), time(0), tzinfo=UTC) - timedelta(hours=1)
        opened = open_quotes(session, games, ids, moment)
        stored = book_quotes(session, ids)
    every = [stored.get(game_id, {}) for game_id in ids]
    started = [pitch <= moment for pitch in pitches]
    assert any(started) and not all(started)
    assert opened == [
        {} if closed else quotes for closed, quotes in zip(started, every, strict=True)
    ]

    def fresh(quotes: list[dict]) -> list[dict]:  # taken just then (the archive's have no age)
        return [
            {m: [replace(q, captured_at=moment - timedelta(minutes=5)) for q in by] for m, by in
             by_market.items()}
            for by_market in quotes
        ]  # fmt: skip

    options = {"staking": staking, "fair_rules": FairLineRules(), "moment": moment}
    read = score(games, features, models, 0.0, ids, quotes=fresh(opened), **options)
    all_read = score(games, features, models, 0.0, ids, quotes=fresh(every), **options)
    assert read == all_read
    assert any(payload["betting_recommendations"] for payload in read)
