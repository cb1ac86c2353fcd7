"""How a batch is cut into chunks: about the chunk size, dates in order, no date split."""

from datetime import date, timedelta
from itertools import pairwise

from app.predictions.jobs import chunk_by_date

DAY = date(2019, 6, 1)


def test_chunks_hold_whole_dates_in_date_order_and_every_item_once():
    # 40 dates of 15 games, given in a shuffled request order.
    dates = [DAY + timedelta(days=(i * 7) % 40) for i in range(600)]

    chunks = chunk_by_date(dates, size=100)

    assert sorted(i for chunk in chunks for i in chunk) == list(range(600))
    assert all(len(chunk) <= 100 for chunk in chunks)
    assert len(chunks) == 7  # six whole dates (90 games) a chunk; the last holds four
    days_of = [{dates[i] for i in chunk} for chunk in chunks]
    for earlier, later in pairwise(days_of):
        assert max(earlier) < min(later)  # a date lives in one chunk
    assert all(chunk == sorted(chunk) for chunk in chunks)  # request order inside a chunk


def test_a_date_larger_than_a_chunk_is_a_chunk_of_its_own():
    dates = [DAY] * 3 + [DAY + timedelta(days=1)] * 250 + [DAY + timedelta(days=2)] * 3

    chunks = chunk_by_date(dates, size=100)

    assert [len(chunk) for chunk in chunks] == [3, 250, 3]


def test_no_items_no_chunks():
    assert chunk_by_date([], size=100) == []
