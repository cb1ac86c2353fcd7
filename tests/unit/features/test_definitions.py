"""The versioned feature set and its fingerprint."""

import pytest

from app.features.definitions import FEATURE_SET, FeatureDef, FeatureSet


def test_core_v3_shape() -> None:
    assert (FEATURE_SET.name, FEATURE_SET.version) == ("core", 3)
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
