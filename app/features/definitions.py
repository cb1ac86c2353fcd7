"""The feature set: every family's features in one ordered, versioned tuple.

Each family declares its features (name, meaning, when known) beside the code that computes
them, in :mod:`app.features.families`; the point-in-time rule and the carried-rating
constants are stated there too. In brief: history is final games on dates STRICTLY EARLIER
than the game's plus the previous season as a carried prior; line snapshots and betting
splits count only before the game's cutoff; the game's own opening prices are used as is.
Missing is NaN, never a zero pretending to be data.

``core`` v4 (from v3): no feature known after the open reaches a model scored against the
opening price (:func:`model_features`); the run line is an input of the run-line market
only; ``is_night`` is gone (never served); the starter is the one named when the game was
priced.
"""

from app.features.families import (
    calendar,
    form,
    h2h,
    lines,
    lineups,
    market,
    pitching,
    splits,
    starters,
)
from app.features.featureset import FeatureDef, FeatureSet, KnownAt
from app.markets import MARKETS

# Every family, by name, in column order: the default set's, then the candidates'.
FAMILIES: dict[str, tuple[FeatureDef, ...]] = {
    "market": market.FEATURES,
    "lines": lines.FEATURES,
    "splits": splits.FEATURES,
    "calendar": calendar.FEATURES,
    "form": form.FEATURES,
    "h2h": h2h.FEATURES,
    "starters": starters.FEATURES,
    "lineups": lineups.FEATURES,
    "starter_fip": pitching.FEATURES,
}
# The families the default set reads; the others are candidates that have not earned their
# place (``bullpen ml families``, README "What the open cannot know").
DEFAULT_FAMILIES: tuple[str, ...] = (
    "market", "lines", "splits", "calendar", "form", "h2h", "starters",
)  # fmt: skip
# The market family holds the prior every model starts from: it is never left out.
REQUIRED_FAMILIES = frozenset({"market"})

FEATURE_SET = FeatureSet(
    name="core",
    version=4,
    features=tuple(feature for name in DEFAULT_FAMILIES for feature in FAMILIES[name]),
)
# Every family's features (the default set's and the candidates'), for measuring the families.
EVERY_FEATURE = FeatureSet(
    name="every",
    version=FEATURE_SET.version,
    features=tuple(feature for features in FAMILIES.values() for feature in features),
)


def priced_at(target: str) -> KnownAt:
    """When the price a ``target`` model is scored against is posted: the open, or the close
    for a market whose archive keeps only closing prices (the run line)."""
    return "open" if MARKETS[target].open is not None else "close"


def model_features(target: str, feature_set: FeatureSet = FEATURE_SET) -> tuple[str, ...]:
    """The features a ``target`` model is trained and scored with, in column order."""
    return feature_set.known_for(target, priced_at(target))


def reads_family(feature_set: FeatureSet, family: str) -> bool:
    """Whether ``feature_set`` holds any feature of ``family`` (its inputs need loading)."""
    return bool(set(feature_set.names) & {feature.name for feature in FAMILIES[family]})
