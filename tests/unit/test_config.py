from pathlib import Path

import pytest

from app.config import Settings, parse_api_keys, parse_weights


def test_unset_urls_mean_the_embedded_stack():
    settings = Settings.from_env({"BULLPEN_VAR_DIR": "/tmp/bullpen-var"})

    assert not settings.is_complete
    assert settings.var_dir == Path("/tmp/bullpen-var")
    assert settings.api_keys == {}


def test_urls_filled_from_the_embedded_stack_keep_configured_ones():
    settings = Settings.from_env({"BULLPEN_DATABASE_URL": "postgresql+psycopg://db/x"})

    filled = settings.with_urls(
        {
            "BULLPEN_DATABASE_URL": "postgresql+psycopg://embedded/y",
            "BULLPEN_BROKER_URL": "redis://b/0",
            "BULLPEN_FEATURE_STORE_URL": "redis://b/1",
            "MLFLOW_TRACKING_URI": "sqlite:///m.db",
        }
    )

    assert filled.is_complete
    assert filled.database_url == "postgresql+psycopg://db/x"
    assert Settings.from_env(filled.as_env()) == filled


def test_api_keys_with_and_without_scopes():
    keys = parse_api_keys("alice:read+predict, root ,bob:admin")

    assert keys == {
        "alice": frozenset({"read", "predict"}),
        "root": frozenset({"read", "predict", "admin"}),
        "bob": frozenset({"admin"}),
    }


def test_session_secret_is_configured_else_derived_from_the_keys():
    configured = Settings.from_env({"BULLPEN_SECRET_KEY": "s3cret", "BULLPEN_API_KEYS": "k:read"})
    with_keys = Settings.from_env({"BULLPEN_API_KEYS": "k:read,admin-key"})
    same_keys = Settings.from_env({"BULLPEN_API_KEYS": "admin-key,k:read"})
    other_keys = Settings.from_env({"BULLPEN_API_KEYS": "k2:read,admin-key"})

    assert configured.session_secret == "s3cret"
    assert with_keys.session_secret == same_keys.session_secret  # every process agrees
    assert with_keys.session_secret != other_keys.session_secret
    assert "k" not in with_keys.session_secret.split()  # a digest, not the keys
    assert len(with_keys.session_secret) == 64
    assert Settings.from_env(configured.as_env()).secret_key == "s3cret"


def test_fair_line_settings_and_their_round_trip():
    settings = Settings.from_env(
        {"BULLPEN_SHARP_BOOKS": "Pinnacle:2, circa", "BULLPEN_DEVIG": "power"}
    )
    assert settings.sharp_books == (("pinnacle", 2.0), ("circa", 1.0))
    assert Settings.from_env(settings.as_env()).sharp_books == settings.sharp_books
    assert Settings.from_env(settings.as_env()).devig == "power"
    assert Settings.from_env({}).sharp_books == (("pinnacle", 1.0),)
    assert Settings.from_env({}).devig == "additive"
    with pytest.raises(ValueError, match="positive"):
        parse_weights("pinnacle:0")


def test_the_quote_age_takes_the_contracts_name_and_its_earlier_one() -> None:
    assert Settings.from_env({"BULLPEN_MAX_QUOTE_AGE": "12"}).max_quote_age_minutes == 12
    assert Settings.from_env({"BULLPEN_MAX_QUOTE_AGE_MINUTES": "7"}).max_quote_age_minutes == 7
    assert Settings.from_env({}).max_quote_age_minutes == 30
    assert Settings.from_env({}).as_env()["BULLPEN_MAX_QUOTE_AGE"] == "30.0"
