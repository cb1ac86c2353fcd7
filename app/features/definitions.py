"""Versioned feature sets.

A model is trained on one feature set and must refuse vectors of any other: compare
:attr:`FeatureSet.fingerprint`, a hash of the set's name, version and ordered feature
names. Changing the meaning, order or membership of features requires a new version.

``core`` v1 holds only honest pre-game information: the game's own opening prices and
team form from games on strictly earlier dates of the same season (see
:mod:`app.features.pipeline`). Win rates are shrunk toward .500 with a prior worth
``PRIOR_GAMES`` games: ``(wins + PRIOR_GAMES / 2) / (games + PRIOR_GAMES)``, so a team
with no games yet is at exactly .500 and a 3-0 start is 0.615, not 1.0.
"""

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property

PRIOR_GAMES = 10
LAST_N_GAMES = 10


@dataclass(frozen=True)
class FeatureDef:
    """One feature: a column name and what it means."""

    name: str
    description: str


@dataclass(frozen=True)
class FeatureSet:
    """An ordered, versioned tuple of features."""

    name: str
    version: int
    features: tuple[FeatureDef, ...]

    def __post_init__(self) -> None:
        names = [feature.name for feature in self.features]
        if len(set(names)) != len(names):
            raise ValueError(f"feature set {self.name!r} has duplicate feature names")
        if not names:
            raise ValueError(f"feature set {self.name!r} has no features")

    @property
    def names(self) -> tuple[str, ...]:
        """Feature names in column order."""
        return tuple(feature.name for feature in self.features)

    @cached_property
    def fingerprint(self) -> str:
        """A stable 16-hex-digit hash of name, version and ordered feature names."""
        payload = json.dumps([self.name, self.version, list(self.names)], separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        """``name:vN``, for logs and MLflow tags."""
        return f"{self.name}:v{self.version}"

    def __len__(self) -> int:
        return len(self.features)


def _team_features(side: str) -> tuple[FeatureDef, ...]:
    team = f"{side} team"
    return (
        FeatureDef(
            f"{side}_win_rate",
            f"{team}'s season-to-date win rate before the game's date, shrunk toward .500: "
            f"(wins + {PRIOR_GAMES // 2}) / (games + {PRIOR_GAMES})",
        ),
        FeatureDef(
            f"{side}_last{LAST_N_GAMES}_win_rate",
            f"{team}'s win rate over its last {LAST_N_GAMES} games this season before the "
            "game's date (fewer if it has played fewer); NaN before its first game",
        ),
        FeatureDef(
            f"{side}_run_diff_per_game",
            f"{team}'s season-to-date (runs scored - runs allowed) per game; NaN before its "
            "first game",
        ),
        FeatureDef(
            f"{side}_games_played",
            f"games {team} has completed this season on dates before the game's date",
        ),
        FeatureDef(
            f"{side}_rest_days",
            f"days between {team}'s previous game this season and this game's date "
            "(1 = played yesterday); NaN before its first game",
        ),
    )


FEATURE_SET = FeatureSet(
    name="core",
    version=1,
    features=(
        FeatureDef(
            "ml_open_home_prob",
            "home win probability from the opening moneyline, de-vigged multiplicatively",
        ),
        FeatureDef(
            "ml_open_overround",
            "opening moneyline overround: sum of raw implied probabilities - 1",
        ),
        FeatureDef("total_open", "opening total (runs); NaN when missing"),
        FeatureDef(
            "total_open_over_prob",
            "over probability from the opening total's prices, de-vigged multiplicatively; "
            "NaN when the total or either price is missing",
        ),
        FeatureDef(
            "run_line_home",
            "the home side's run line (e.g. -1.5 as favourite, +1.5 as underdog): the line a "
            "home_spread prediction is graded against, so the model must know it; SBRO keeps "
            "only the closing run line, whose side follows the moneyline favourite; NaN when "
            "missing (seasons before 2014)",
        ),
        *_team_features("home"),
        *_team_features("away"),
        FeatureDef(
            "home_home_win_rate",
            "home team's season-to-date win rate in its home games before the game's date, "
            f"shrunk: (wins + {PRIOR_GAMES // 2}) / (games + {PRIOR_GAMES})",
        ),
        FeatureDef(
            "away_away_win_rate",
            "away team's season-to-date win rate in its away games before the game's date, "
            f"shrunk: (wins + {PRIOR_GAMES // 2}) / (games + {PRIOR_GAMES})",
        ),
    ),
)
