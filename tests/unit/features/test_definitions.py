"""The versioned feature set and its fingerprint."""

import pytest

from app.features.definitions import FEATURE_SET, model_features, priced_at
from app.features.featureset import MOMENTS, FeatureDef, FeatureSet
from app.markets import TARGETS


def test_core_v4_shape() -> None:
    assert (FEATURE_SET.name, FEATURE_SET.version) == ("core", 4)
    assert 40 <= len(FEATURE_SET) <= 80
    assert FEATURE_SET.names[:2] == ("ml_open_home_prob", "ml_open_overround")
    assert all(feature.description for feature in FEATURE_SET.features)


def test_fingerprint_is_stable_and_sensitive() -> None:
    same = FeatureSet("core", FEATURE_SET.version, tuple(FEATURE_SET.features))
    assert same.fingerprint == FEATURE_SET.fingerprint
    assert len(FEATURE_SET.fingerprint) == 16
    reordered = FeatureSet("core", 1, tuple(reversed(FEATURE_SET.features)))
    bumped = FeatureSet("core", FEATURE_SET.version + 1, FEATURE_SET.features)
    renamed = FeatureSet("other", 1, FEATURE_SET.features)
    fingerprints = {f.fingerprint for f in (FEATURE_SET, reordered, bumped, renamed)}
    assert len(fingerprints) == 4


def test_descriptions_do_not_change_the_fingerprint() -> None:
    described = FeatureSet("core", 1, (FeatureDef("a", "one"), FeatureDef("b", "two")))
    redescribed = FeatureSet("core", 1, (FeatureDef("a", "uno"), FeatureDef("b", "dos")))
    assert described.fingerprint == redescribed.fingerprint


def test_duplicate_or_empty_feature_sets_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        FeatureSet("x", 1, (FeatureDef("a", ""), FeatureDef("a", "")))
    with pytest.raises(ValueError, match="no features"):
        FeatureSet("x", 1, ())


def test_every_feature_says_when_it_is_known() -> None:
    assert {feature.known_at for feature in FEATURE_SET.features} <= set(MOMENTS)
    with pytest.raises(ValueError, match="known_at"):
        FeatureDef("a", "", known_at="tomorrow")  # type: ignore[arg-type]


def test_models_scored_at_the_open_read_only_what_the_open_knew() -> None:
    assert (priced_at("moneyline"), priced_at("total_over")) == ("open", "open")
    assert priced_at("home_spread") == "close"  # SBRO keeps only closing run-line prices
    by_name = {feature.name: feature for feature in FEATURE_SET.features}
    for target in TARGETS:
        names = model_features(target)
        assert list(names) == [name for name in FEATURE_SET.names if name in names]  # in order
        assert all(by_name[name].known_by(priced_at(target)) for name in names)
    for target in ("moneyline", "total_over"):
        names = model_features(target)
        assert "run_line_home" not in names  # the run-line market's own (closing) line
        assert not {"ml_cut_home_prob", "line_snapshots", "ml_home_bets_pct"} & set(names)
        assert "ml_open_home_prob" in names and "home_sp_starts" in names
    assert "run_line_home" in model_features("home_spread")


def test_a_markets_own_line_reaches_only_its_market() -> None:
    own = FeatureDef("line", "", known_at="open", market="home_spread")
    features = FeatureSet("x", 1, (FeatureDef("a", ""), own))
    assert features.known_for("home_spread", "open") == ("a", "line")
    assert features.known_for("moneyline", "close") == ("a",)
