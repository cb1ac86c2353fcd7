"""The first start's training line: the model's held-out log loss beside the market's."""

from app.stack.bootstrap import held_out_summary

SAME = "held_out_same_games"


def test_the_model_is_shown_beside_the_market_with_the_gap_and_its_error():
    metrics = {
        "held_out_log_loss": 0.69121,
        f"{SAME}_n": 270.0,
        f"{SAME}_model_log_loss": 0.69153,
        f"{SAME}_market_open_log_loss": 0.69081,
        f"{SAME}_market_close_log_loss": 0.69382,
        f"{SAME}_edge_evidence_advantage": -0.00072,
        f"{SAME}_edge_evidence_standard_error": 0.00201,
    }
    assert held_out_summary(metrics) == (
        "held-out log loss 0.6912; on the 270 games the market priced: model 0.6915, "
        "market open 0.6908, market close 0.6938; "
        "model minus open +0.0007 ± 0.0020 (SE by date) a game"
    )


def test_without_an_open_the_gap_is_to_the_close():
    metrics = {
        "held_out_log_loss": 0.6656,
        f"{SAME}_n": 292.0,
        f"{SAME}_model_log_loss": 0.6656,
        f"{SAME}_market_close_log_loss": 0.6578,
        f"{SAME}_edge_evidence_advantage": -0.0079,
        f"{SAME}_edge_evidence_standard_error": 0.0039,
    }
    assert held_out_summary(metrics).endswith(
        "model 0.6656, market close 0.6578; model minus close +0.0079 ± 0.0039 (SE by date) a game"
    )


def test_without_priced_games_only_the_model_is_shown():
    assert held_out_summary({"held_out_log_loss": 0.7}) == "held-out log loss 0.7000"
