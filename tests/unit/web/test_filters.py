from datetime import UTC, datetime, timedelta, timezone

from app.web import filters


def test_numbers_are_written_one_way_per_kind_and_missing_ones_as_a_dash():
    assert filters.percent(0.52349) == "52.3%"
    assert filters.percent(0.5, 2) == "50.00%"
    assert filters.signed_percent(-0.0123) == "-1.2%"
    assert filters.signed_percent(0.0123, 2) == "+1.23%"
    assert filters.american(120) == "+120"
    assert filters.american(-135.0) == "-135"
    assert filters.money(1234.5) == "1,234.50"
    assert filters.number(0.693147, 5) == "0.69315"
    assert filters.line(8.5) == "8.5"
    assert filters.line(-1.5) == "-1.5"
    assert filters.line(1.5, signed=True) == "+1.5"
    for format_ in (filters.percent, filters.american, filters.money, filters.line):
        assert format_(None) == filters.DASH


def test_moments_are_shown_in_utc():
    eastern = timezone(timedelta(hours=-4))
    assert filters.moment(datetime(2019, 4, 1, 19, 5, tzinfo=eastern)) == "2019-04-01 23:05 UTC"
    assert filters.moment("2019-04-01T23:05:00+00:00") == "2019-04-01 23:05 UTC"
    assert filters.moment(datetime(2019, 4, 1, 23, 5, tzinfo=UTC)) == "2019-04-01 23:05 UTC"
    assert filters.moment(None) == filters.DASH
