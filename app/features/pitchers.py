"""Starting pitchers named by a client (a ``GAME`` spec) or a feed, mapped to Retrosheet ids.

Pitcher features are keyed by Retrosheet ids (``games.home_pitcher_id``), which exist only
once a game's log is ingested. A spec or an odds feed names the starter instead. Curated
games carry both the SBRO name (``games.home_pitcher``, e.g. ``MSCHERZER``) and the id, so
a name is mapped through them:

* a name is normalised to SBRO form (:func:`sbro_pitcher_key`): first initial + last name,
  upper-cased, letters only: "Max Scherzer" -> "MSCHERZER", "Jacob deGrom" -> "JDEGROM",
  "Lance McCullers Jr." -> "LMCCULLERS"; a name already in SBRO form stays as is (its hand
  suffix "-R"/"-L" and an attached "JR." are dropped: "LMCCULLERSJR." -> "LMCCULLERS");
* the id is the one that started under that name in the curated games of the game's season
  and the season before it (the only seasons its features read), on dates strictly before
  the game's date; it must account for at least :data:`MIN_SHARE` of those starts (a late
  scratch is noise; two active pitchers with the same SBRO name are ambiguous);
* an unknown or ambiguous name maps to no id: the pitcher features are missing (NaN),
  never another pitcher's.

The same rule names the starter of EVERY game whose features are built
(:func:`listed_starters`, over the games frame, for training as for serving): the starter the
game was priced with is the one its odds name, and a late scratch is known only after the
open, so the id of the pitcher who actually took the mound (the game log's) is used only for
the history of his own starts.
"""

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.features.frames import dates
from app.games.models import Game

MIN_SHARE = 0.8
_HAND_SUFFIX = re.compile(r"-[LR]$")
_NAME_SUFFIXES = frozenset({"JR", "SR", "II", "III", "IV"})


def sbro_pitcher_key(name: str | None) -> str:
    """``name`` in SBRO form (first initial + last name, upper case, letters only); "" if none."""
    if name is None:
        return ""
    text = _HAND_SUFFIX.sub("", name.strip().upper())
    tokens = text.split()
    if len(tokens) > 1:
        while len(tokens) > 2 and re.sub(r"[^A-Z]", "", tokens[-1]) in _NAME_SUFFIXES:
            tokens.pop()
        text = tokens[0][:1] + tokens[-1]
    elif text.endswith(("JR.", "SR.")):
        text = text[:-3]
    return re.sub(r"[^A-Z]", "", text)


def pitcher_ids_by_name(
    session: Session, names: Iterable[str | None], game_date: dt.date
) -> dict[str, str | None]:
    """Each name's Retrosheet id for a game on ``game_date`` (None: unknown or ambiguous)."""
    wanted = {name: sbro_pitcher_key(name) for name in names if name}
    keys = {key for key in wanted.values() if key}
    if not keys:
        return dict.fromkeys(wanted)
    rows = session.execute(
        select(
            Game.home_pitcher, Game.home_pitcher_id, Game.away_pitcher, Game.away_pitcher_id
        ).where(Game.season >= game_date.year - 1, Game.game_date < game_date)
    ).all()
    starts: dict[str, Counter] = defaultdict(Counter)
    for home_name, home_id, away_name, away_id in rows:
        for name, pitcher_id in ((home_name, home_id), (away_name, away_id)):
            key = sbro_pitcher_key(name)
            if key in keys and pitcher_id:
                starts[key][pitcher_id] += 1
    resolved: dict[str, str | None] = {}
    for key in keys:
        counts = starts.get(key)
        if not counts:
            resolved[key] = None
            continue
        pitcher_id, count = counts.most_common(1)[0]
        resolved[key] = pitcher_id if count >= MIN_SHARE * sum(counts.values()) else None
    return {name: resolved.get(key) for name, key in wanted.items()}


def fill_pitcher_ids(session: Session, targets: pd.DataFrame) -> pd.DataFrame:
    """``targets`` with each missing ``*_pitcher_id`` mapped from its ``*_pitcher`` name.

    A known id is kept as is; a name that maps to no id leaves the id missing.
    """
    filled = targets.copy()
    for side in ("home", "away"):
        if f"{side}_pitcher_id" not in filled:
            filled[f"{side}_pitcher_id"] = None
        filled[f"{side}_pitcher_id"] = filled[f"{side}_pitcher_id"].astype(object)
    for game_date, rows in filled.groupby(pd.to_datetime(filled["game_date"]).dt.date):
        names = {
            filled.at[label, f"{side}_pitcher"]
            for label in rows.index
            for side in ("home", "away")
            if f"{side}_pitcher" in filled and _missing(filled.at[label, f"{side}_pitcher_id"])
        }
        names = {name for name in names if isinstance(name, str) and name}
        if not names:
            continue
        ids = pitcher_ids_by_name(session, names, game_date)
        for label in rows.index:
            for side in ("home", "away"):
                name = filled.at[label, f"{side}_pitcher"] if f"{side}_pitcher" in filled else None
                if _missing(filled.at[label, f"{side}_pitcher_id"]) and name in ids:
                    filled.at[label, f"{side}_pitcher_id"] = ids[name]
    return filled


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value)) or value == ""


def listed_starters(history: pd.DataFrame, targets: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each target's starters as named when it was priced: ``{"home": ids, "away": ids}``.

    A target with a name (``*_pitcher``) gets the id that name maps to by the rule of
    :func:`pitcher_ids_by_name`, applied to ``history`` (names and ids of its games of the
    target's season and the one before, on dates strictly before the target's), ``""`` (not
    known) when the name maps to none or there is no name: the id of who actually started is
    known only after the game. A frame without the name column names its starters by
    ``*_pitcher_id`` (a caller that already resolved them).
    """
    result = {
        side: _text(targets, f"{side}_pitcher_id")
        for side in ("home", "away")
        if f"{side}_pitcher" not in targets
    }
    if len(result) == 2:
        return result
    starts = _named_starts(history)
    target_dates = dates(targets["game_date"], "targets")
    years, days = target_dates.dt.year.to_numpy(np.int64), target_dates.to_numpy()
    for side in ("home", "away"):
        if side in result:
            continue
        keys = _keys(_text(targets, f"{side}_pitcher"))
        named = keys != ""
        lookups = pd.DataFrame(
            {
                "position": np.flatnonzero(named),
                "key": keys[named],
                "season": years[named],
                "before": days[named],
            }
        )
        counts = pd.concat(
            [
                lookups.merge(starts, on=["key", "season"]).query("game_date < before"),
                lookups.assign(season=lookups["season"] - 1).merge(starts, on=["key", "season"]),
            ]
        )
        per_id = counts.groupby(["position", "pitcher_id"], sort=False)["n"].sum().reset_index()
        total = per_id.groupby("position")["n"].transform("sum")
        best = per_id.sort_values(["position", "n"], ascending=[True, False], kind="mergesort")
        best = best.assign(total=total.loc[best.index]).drop_duplicates("position")
        best = best[best["n"] >= MIN_SHARE * best["total"]]
        listed = np.full(len(targets), "", dtype=object)
        listed[best["position"].to_numpy(np.int64)] = best["pitcher_id"].to_numpy(object)
        result[side] = listed
    return result


def _named_starts(history: pd.DataFrame) -> pd.DataFrame:
    """Starts per (SBRO-form name, Retrosheet id, season, date) of games with both."""
    history_dates = dates(history["game_date"], "history")
    sides = [
        pd.DataFrame(
            {
                "key": _keys(_text(history, f"{side}_pitcher")),
                "pitcher_id": _text(history, f"{side}_pitcher_id"),
                "season": history_dates.dt.year.to_numpy(np.int64),
                "game_date": history_dates.to_numpy(),
            }
        )
        for side in ("home", "away")
    ]
    starts = pd.concat(sides, ignore_index=True)
    starts = starts[(starts["key"] != "") & (starts["pitcher_id"] != "")]
    return (
        starts.groupby(["key", "pitcher_id", "season", "game_date"])
        .size()
        .rename("n")
        .reset_index()
    )


def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), "", dtype=object)
    values = frame[column].to_numpy(object)
    return np.array([value if isinstance(value, str) else "" for value in values], dtype=object)


def _keys(names: np.ndarray) -> np.ndarray:
    """SBRO-form keys of ``names``, each distinct name normalised once."""
    unique, inverse = np.unique(names.astype(str), return_inverse=True)
    return np.array([sbro_pitcher_key(name) for name in unique], dtype=object)[inverse]
