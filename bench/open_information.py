"""The walk-forward model against the calibrated open, per target, with a date-clustered SE.

Usage (a database with ``../shared/data`` ingested, see the README's backtest section)::

    BULLPEN_DATABASE_URL=... python bench/open_information.py 2018 2019

For each season Y: the backtest of ``app.ml.backtest`` (fit on the seasons before Y, predict
Y), and beside it the CALIBRATED OPEN: the model's market prior (``app.ml.prior``: a logistic
calibration of the de-vigged opening probability, split by the run line's side for
home_spread) fitted on every labelled game before Y, the model without trees. Both are scored
on the backtest's games (``app.ml.evaluation``: a label and every opening and closing price).
The paired difference model - calibrated open of per-game log loss has its standard error
clustered by date (games of one day share weather, news and the market's errors): OLS on a
constant with statsmodels' cluster-robust covariance. Negative = the model is better.
Written to compare the code before and after a change on the same database: run it once on
each checkout and read the two tables side by side.
"""

import json
import sys
import time

import numpy as np
import pandas as pd
import statsmodels.api as sm

from app.config import Settings
from app.db.session import session_scope
from app.markets import MARKETS, TARGETS
from app.ml.backtest import backtest
from app.ml.evaluation import quote_probability
from app.ml.hyperparameters import hyperparameters
from app.ml.jobs import stored_seasons
from app.ml.metrics import game_log_losses
from app.ml.prior import fit_market_prior, sigmoid
from app.ml.train import NotEnoughData, labelled, season_features


def compared_games(games: pd.DataFrame, target: str) -> np.ndarray:
    """The games ``app.ml.evaluation.evaluate`` scores: a label and every price of the market."""
    market = MARKETS[target]
    keep = market.outcome(games).notna().to_numpy().copy()
    for quote in (market.open, market.close):
        if quote is not None:
            keep &= np.isfinite(quote_probability(games, quote))
            keep &= market.outcome(games, quote.line).notna().to_numpy()
    return keep


def clustered_difference(loss_a: np.ndarray, loss_b: np.ndarray, dates: np.ndarray) -> dict:
    """Mean of loss_a - loss_b and its standard error clustered by date."""
    difference = loss_a - loss_b
    groups = pd.factorize(dates)[0]
    fit = sm.OLS(difference, np.ones((len(difference), 1))).fit(
        cov_type="cluster", cov_kwds={"groups": groups}
    )
    return {"mean": float(fit.params[0]), "se": float(fit.bse[0]), "days": int(groups.max() + 1)}


def season_table(session, settings: Settings, season: int) -> dict:
    """Every target's model, calibrated open, open and close log loss on one season."""
    started = time.perf_counter()
    result = backtest(session, settings, season, log_to_mlflow=False)
    seasons = [s for s in stored_seasons(session) if s <= season]
    games, features = season_features(session, seasons)
    in_season = (games["season"] == season).to_numpy()
    season_games = games[in_season].sort_values(["game_date", "game_number", "game_id"])
    rows = {}
    for target in TARGETS:
        if target not in result.evaluations:
            rows[target] = {"skipped": result.skipped.get(target)}
            continue
        evaluation = result.evaluations[target]
        training = labelled(games[~in_season], features[~in_season], target)
        names = list(training.features.columns)
        hyper = hyperparameters(target)
        prior = fit_market_prior(
            training.features.to_numpy(float),
            training.labels.to_numpy(),
            feature_index=names.index(hyper.market_prior),
            split_index=names.index(hyper.prior_split) if hyper.prior_split else None,
        )
        keep = compared_games(season_games, target)
        x = features.loc[season_games.index[keep], names].to_numpy(float)
        calibrated = sigmoid(prior.margin(x))
        y = evaluation.y
        if len(y) != len(calibrated):
            raise RuntimeError(f"{target}: {len(y)} backtest games but {len(calibrated)} here")
        dates = season_games.loc[keep, "game_date"].to_numpy()
        model_loss = game_log_losses(y, evaluation.p_model)
        calibrated_loss = game_log_losses(y, calibrated)
        rows[target] = {
            "n": len(y),
            "model": float(model_loss.mean()),
            "calibrated_open": float(calibrated_loss.mean()),
            "open": (evaluation.metrics["market_open"] or {}).get("log_loss"),
            "close": evaluation.metrics["market_close"]["log_loss"],
            "model_minus_calibrated_open": clustered_difference(model_loss, calibrated_loss, dates),
        }
    return {"season": season, "seconds": round(time.perf_counter() - started, 1), "targets": rows}


def main(seasons: list[int]) -> None:
    settings = Settings.from_env()
    tables = []
    with session_scope(settings.database_url) as session:
        for season in seasons:
            try:
                tables.append(season_table(session, settings, season))
            except NotEnoughData as error:
                print(f"{season}: {error}", file=sys.stderr)
                continue
            for target, row in tables[-1]["targets"].items():
                if "n" not in row:
                    print(f"{season} {target}: skipped ({row['skipped']})")
                    continue
                diff = row["model_minus_calibrated_open"]
                open_loss = "-" if row["open"] is None else f"{row['open']:.5f}"
                print(
                    f"{season} {target:<11} n={row['n']} model {row['model']:.5f} "
                    f"calibrated open {row['calibrated_open']:.5f} open {open_loss} "
                    f"close {row['close']:.5f} | model - cal. open {diff['mean']:+.5f} "
                    f"(SE {diff['se']:.5f}, {diff['days']} days)"
                )
    print(json.dumps(tables))


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]])
