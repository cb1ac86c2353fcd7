"""Which bets a strategy takes, paper while it watches, and what evidence proves it."""

from app.bets.strategies import Evidence, Strategy, tag_bets

FAIR = Strategy(name="fair", method="additive", min_ev=0.02, kelly_fraction=0.25, min_bets=100)


def _payload(**bets: dict) -> dict:
    return {"betting_recommendations": dict(bets)}


def test_fair_line_bets_are_tagged_paper_until_the_strategy_is_live() -> None:
    fair_bet = {"basis": "fair", "book": "soft", "expected_value": 0.05}
    model_bet = {"basis": "edge", "book": "soft", "expected_value": 0.05}
    payloads = [_payload(home_ml=dict(fair_bet), total_over=dict(model_bet))]
    tag_bets(payloads, {"fair": FAIR}, live=set())
    served = payloads[0]["betting_recommendations"]
    assert (served["home_ml"]["strategy"], served["home_ml"]["paper"]) == ("fair", True)
    assert "strategy" not in served["total_over"]  # the model's own bet is no strategy's

    payloads = [_payload(home_ml=dict(fair_bet))]
    tag_bets(payloads, {"fair": FAIR}, live={"fair"})
    assert payloads[0]["betting_recommendations"]["home_ml"]["paper"] is False


def test_a_fair_bet_no_strategy_takes_is_withdrawn() -> None:
    picky = Strategy("picky", "additive", 0.10, 0.25, markets=("home_ml",), books=("circa",))
    payloads = [_payload(home_ml={"basis": "fair", "book": "soft", "expected_value": 0.05})]
    tag_bets(payloads, {"picky": picky}, live=set())
    assert payloads[0]["betting_recommendations"] == {}


def test_evidence_proves_only_with_enough_bets_a_positive_mean_and_t_of_two() -> None:
    def proof(n, mean, t):
        return Evidence(n=n, mean_clv=mean, clv_t=t, paper_bets=n, live_bets=0, roi=None)

    assert proof(100, 0.01, 2.0).proves(100)
    assert not proof(99, 0.01, 3.0).proves(100)
    assert not proof(150, 0.01, 1.9).proves(100)
    assert not proof(150, -0.01, 2.5).proves(100)
    assert not proof(150, None, None).proves(100)
