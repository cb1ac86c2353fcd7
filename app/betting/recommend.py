"""From a model probability and the market's prices to a prediction's market view and bet."""

from dataclasses import dataclass

from app.betting.kelly import DEFAULT_POLICY, StakingPolicy, stake_fraction
from app.betting.odds import american_to_decimal, devig_two_way, implied_to_american

CONFIDENCE_THRESHOLD = 0.55


@dataclass(frozen=True)
class Market:
    """A two-way market: ``prefix`` of the prediction fields and the two sides' names."""

    prefix: str
    side_yes: str
    side_no: str


MARKETS = {
    "moneyline": Market("home_ml", "home", "away"),
    "total_over": Market("total_over", "over", "under"),
    "home_spread": Market("home_spread", "home", "away"),
}


def market_probability(price_yes: int | None, price_no: int | None) -> float | None:
    """The de-vigged probability of the 'yes' side, or None when a price is missing or invalid."""
    if price_yes is None or price_no is None:
        return None
    try:
        return devig_two_way(price_yes, price_no)[0]
    except ValueError:
        return None


def market_fields(market: Market, probability: float | None, market_prob: float | None) -> dict:
    """The ``*_probability, *_binary, *_confidence, *_market_probability, *_edge`` fields."""
    prefix = market.prefix
    if probability is None:
        return {
            f"{prefix}_{field}": None
            for field in ("probability", "binary", "confidence", "market_probability", "edge")
        } | {f"{prefix}_market_probability": market_prob}
    return {
        f"{prefix}_probability": probability,
        f"{prefix}_binary": int(probability >= 0.5),
        # How far from a coin flip the model leans, on the side it picks.
        f"{prefix}_confidence": max(probability, 1.0 - probability),
        f"{prefix}_market_probability": market_prob,
        f"{prefix}_edge": None if market_prob is None else probability - market_prob,
    }


def recommendation(
    market: Market,
    probability: float,
    price_yes: int | None,
    price_no: int | None,
    bankroll: float,
    policy: StakingPolicy = DEFAULT_POLICY,
) -> dict | None:
    """The better side to bet at these prices, sized by fractional Kelly; None without value."""
    best = None
    for side, side_probability, price in (
        (market.side_yes, probability, price_yes),
        (market.side_no, 1.0 - probability, price_no),
    ):
        if price is None:
            continue
        try:
            decimal_odds = american_to_decimal(price)
        except ValueError:
            continue
        expected_value = side_probability * decimal_odds - 1.0
        if expected_value > 0 and (best is None or expected_value > best["expected_value"]):
            fraction = stake_fraction(side_probability, decimal_odds, policy)
            best = {
                "side": side,
                "odds": price,
                "expected_value": expected_value,
                "kelly_fraction": fraction,
                "recommended_bet_size": round(bankroll * fraction, 2),
                # The fair price by the model: any better price still has value.
                "min_odds": round(implied_to_american(side_probability)),
            }
    return best


def risk_level(recommendations: dict[str, dict]) -> str:
    """``low``/``medium``/``high`` by the largest stake recommended (``none`` without bets)."""
    if not recommendations:
        return "none"
    largest = max(bet["kelly_fraction"] for bet in recommendations.values())
    if largest < 0.01:
        return "low"
    return "medium" if largest < 0.03 else "high"
