"""What a feature is: a name, a meaning, and WHEN it becomes known; ordered, versioned sets.

A model is trained on one feature set and must refuse vectors of any other: compare
:attr:`FeatureSet.fingerprint`, a hash of the set's name, version and ordered feature
names. Changing the meaning, order or membership of features requires a new version.

When a feature becomes known (``known_at``), in the order a game's day runs:

* ``open``: by the time the opening prices are posted (the history of earlier dates, the
  game's own opening prices, its calendar);
* ``lineup``: once the starting lineups are posted, after the open;
* ``close``: only near first pitch (the line's movement up to the cutoff, betting splits,
  SBRO's closing run line).

A model is trained and scored with the features known when the price it is scored against
was posted (:meth:`FeatureSet.known_for`): a market priced at the open sees ``open``
features only. A feature may also be the input of ONE market only (``market``): the line
a market's question is asked at (the run line) is part of that market's question, not
information for the others.
"""

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

KnownAt = Literal["open", "lineup", "close"]
# The moments of a game's day, earliest first.
MOMENTS: tuple[KnownAt, ...] = ("open", "lineup", "close")


@dataclass(frozen=True)
class FeatureDef:
    """One feature: a column name, what it means, when it becomes known and, for a market's
    own line, the only market (target name) whose models read it."""

    name: str
    description: str
    known_at: KnownAt = "open"
    market: str | None = None

    def __post_init__(self) -> None:
        if self.known_at not in MOMENTS:
            raise ValueError(f"feature {self.name!r}: known_at must be one of {MOMENTS}")

    def known_by(self, moment: KnownAt) -> bool:
        """Whether the feature is known at ``moment``."""
        return MOMENTS.index(self.known_at) <= MOMENTS.index(moment)


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

    def known_for(self, target: str, moment: KnownAt) -> tuple[str, ...]:
        """The names, in column order, a model of ``target`` scored against a price posted at
        ``moment`` may read: known by then, and no other market's own line."""
        return tuple(
            feature.name
            for feature in self.features
            if feature.known_by(moment) and feature.market in (None, target)
        )

    def __len__(self) -> int:
        return len(self.features)
