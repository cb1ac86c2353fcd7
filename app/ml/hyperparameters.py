"""The versioned hyperparameters of every target, read from ``hyperparameters.toml``."""

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

HYPERPARAMETERS_FILE = Path(__file__).with_name("hyperparameters.toml")


@dataclass(frozen=True)
class TargetHyperparameters:
    """How one target's model is trained."""

    version: int
    lightgbm: dict[str, Any]
    # The latest share of the training dates: promotion and the bets gate (never fitted on).
    holdout_share: float
    # The share of the dates before the held-out ones that early stopping watches.
    validation_share: float
    max_rounds: int
    early_stopping_rounds: int
    # The feature whose calibrated log-odds boosting starts from ("" for none).
    market_prior: str
    # A feature whose sign splits the prior's calibration in two ("" for none).
    prior_split: str = ""
    # How the early-stopping slice chooses the rounds: "best" (its lowest log loss) or
    # "one_standard_error" (the fewest within one date-clustered SE of the best).
    rounds_rule: str = "best"

    def as_params(self) -> dict[str, Any]:
        """Everything, flat, as MLflow params."""
        return {
            **self.lightgbm,
            "hyperparameters_version": self.version,
            "holdout_share": self.holdout_share,
            "validation_share": self.validation_share,
            "max_rounds": self.max_rounds,
            "early_stopping_rounds": self.early_stopping_rounds,
            "market_prior": self.market_prior or "none",
            "prior_split": self.prior_split or "none",
            "rounds_rule": self.rounds_rule,
        }


def parse_hyperparameters(document: dict[str, Any], target: str) -> TargetHyperparameters:
    """The hyperparameters of ``target`` in a parsed TOML document."""
    training = document["training"]
    target_table = document.get("targets", {}).get(target, {})
    return TargetHyperparameters(
        version=int(document["version"]),
        lightgbm={**document["lightgbm"], **target_table.get("lightgbm", {})},
        holdout_share=float(training.get("holdout_share", 0.0)),
        validation_share=float(training["validation_share"]),
        max_rounds=int(training["max_rounds"]),
        early_stopping_rounds=int(training["early_stopping_rounds"]),
        market_prior=str(target_table.get("market_prior", "")),
        prior_split=str(target_table.get("prior_split", "")),
        rounds_rule=_rounds_rule(str(training.get("rounds_rule", "best"))),
    )


ROUNDS_RULES = ("best", "one_standard_error")


def _rounds_rule(rule: str) -> str:
    if rule not in ROUNDS_RULES:
        raise ValueError(f"rounds_rule {rule!r} is not one of {', '.join(ROUNDS_RULES)}")
    return rule


@cache
def _document() -> dict[str, Any]:
    return tomllib.loads(HYPERPARAMETERS_FILE.read_text())


def hyperparameters(target: str) -> TargetHyperparameters:
    """The configured hyperparameters of ``target``."""
    return parse_hyperparameters(_document(), target)
