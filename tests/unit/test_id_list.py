"""A batch's id list: the fast path takes what the per-item fields take, and anything else
is refused or converted exactly as ``List(db_id())`` does."""

import marshmallow as ma
import pytest

from app.api.bounds import IdList, db_id


class Fast(ma.Schema):
    ids = IdList(validate=ma.validate.Length(min=1, max=5))


class ItemByItem(ma.Schema):
    ids = ma.fields.List(db_id(), validate=ma.validate.Length(min=1, max=5))


def _load(schema: ma.Schema, value: object) -> tuple[str, object]:
    try:
        return "ok", schema.load({"ids": value})
    except ma.ValidationError as error:
        return "error", error.messages


@pytest.mark.parametrize(
    "value",
    [[1, 2, 3], [2**31 - 1], [0, 1], [1, "2"], [1, 2.0], [1, 2.5], [True], [1, 2**31], [-4],
     "x", [], [None], [1, 2, 3, 4, 5, 6], (1, 2), {"a": 1}],
)  # fmt: skip
def test_an_id_list_loads_as_the_list_of_ids_does(value: object) -> None:
    assert _load(Fast(), value) == _load(ItemByItem(), value)
