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
"""

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterable

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

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
