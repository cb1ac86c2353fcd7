"""Bounds of every input the API accepts, stated once so that the OpenAPI document shows them.

Out-of-range input is a 4xx before it reaches PostgreSQL (whose ``integer`` ends at
2**31 - 1) or a column of bounded length; nothing a client sends can make a 500.
"""

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest import pagination as smorest_pagination
from werkzeug.routing import BaseConverter, IntegerConverter, UnicodeConverter

PG_INT_MAX = 2**31 - 1
MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 1000
# A job's results come back in pages of up to this many predictions.
MAX_RESULTS_PAGE_SIZE = 10_000
# American odds beyond +/-100000 (1000-to-1) are not a price any book quotes.
MAX_AMERICAN = 100_000
# The jobs.idempotency_key column is String(128).
MAX_IDEMPOTENCY_KEY = 128
# A path's model name: "{prefix}-{target}".
MAX_NAME = 100


def db_id(**kwargs: Any) -> ma.fields.Integer:
    """An integer id of a row: 1 … 2**31 - 1 (PostgreSQL ``integer``)."""
    return ma.fields.Integer(
        strict=kwargs.pop("strict", False),
        validate=ma.validate.Range(min=1, max=PG_INT_MAX),
        **kwargs,
    )


class IdList(ma.fields.List):
    """A list of :func:`db_id` values. A list of in-range integers (what a client sends) is
    taken as it is; anything else goes item by item as ``List`` does, with the same errors
    (a batch's thousands of ids took milliseconds through the per-item fields)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(db_id(), **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list:
        if type(value) is list and all(
            type(item) is int and 1 <= item <= PG_INT_MAX for item in value
        ):
            return list(value)
        return super()._deserialize(value, attr, data, **kwargs)


def american(validator: Callable[[int], None], **kwargs: Any) -> ma.fields.Integer:
    """American odds: ``validator`` (|price| >= 100) within ±:data:`MAX_AMERICAN`."""
    return ma.fields.Integer(
        validate=[ma.validate.Range(min=-MAX_AMERICAN, max=MAX_AMERICAN), validator], **kwargs
    )


class DbIdConverter(IntegerConverter):
    """``<db_id:name>``: a path id in PostgreSQL ``integer`` range; anything else is a 404."""

    def __init__(self, url_map: Any) -> None:
        super().__init__(url_map, min=1, max=PG_INT_MAX)


class NameConverter(UnicodeConverter):
    """``<name:model_name>``: a path name of 1 to :data:`MAX_NAME` characters."""

    def __init__(self, url_map: Any) -> None:
        super().__init__(url_map, minlength=1, maxlength=MAX_NAME)


def path_schema(converter: BaseConverter) -> dict[str, Any]:
    """The OpenAPI schema of a path parameter of one of the converters above."""
    if isinstance(converter, DbIdConverter):
        return {"type": "integer", "minimum": 1, "maximum": PG_INT_MAX}
    return {"type": "string", "minLength": 1, "maxLength": MAX_NAME, "pattern": "^[^/]+$"}


CONVERTERS = {"db_id": DbIdConverter, "name": NameConverter}


class PageSchema(ma.Schema):
    """``?page=&page_size=`` of endpoints that page by hand."""

    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=MAX_PAGE))
    page_size = ma.fields.Integer(
        load_default=100, validate=ma.validate.Range(min=1, max=MAX_PAGE_SIZE)
    )


class IdempotencyHeaderSchema(ma.Schema):
    """The optional ``Idempotency-Key`` header of a submission."""

    class Meta:
        unknown = ma.EXCLUDE

    idempotency_key = ma.fields.String(
        data_key="Idempotency-Key",
        validate=ma.validate.Length(min=1, max=MAX_IDEMPOTENCY_KEY),
        metadata={
            "description": "Resubmitting with the same key (per API key) returns the same job"
        },
    )


def _bounded_pagination_schema(def_page: int, def_page_size: int, def_max_page_size: int) -> type:
    class PaginationParametersSchema(ma.Schema):
        """flask-smorest's pagination parameters, with an upper bound on ``page``."""

        class Meta:
            unknown = ma.EXCLUDE

        page = ma.fields.Integer(
            load_default=def_page, validate=ma.validate.Range(min=1, max=MAX_PAGE)
        )
        page_size = ma.fields.Integer(
            load_default=def_page_size, validate=ma.validate.Range(min=1, max=def_max_page_size)
        )

        @ma.post_load
        def make_paginator(
            self, data: dict, **_: object
        ) -> smorest_pagination.PaginationParameters:
            return smorest_pagination.PaginationParameters(**data)

    return PaginationParametersSchema


class Blueprint(SmorestBlueprint):
    """flask-smorest's Blueprint whose ``paginate`` bounds ``page`` (offsets stay in range) and
    whose ``arguments`` make a schema given as a class once: webargs would make an instance of
    it for every request (6% of an enqueue's CPU). A schema keeps no state between loads."""

    def arguments(self, schema: Any, **kwargs: Any) -> Callable:
        return super().arguments(schema() if isinstance(schema, type) else schema, **kwargs)

    def paginate(self, pager: Any = None, **kwargs: Any) -> Callable:
        original = smorest_pagination._pagination_parameters_schema_factory
        smorest_pagination._pagination_parameters_schema_factory = _bounded_pagination_schema
        try:  # the factory is called only here, while the decorator is built (import time)
            return super().paginate(pager, **kwargs)
        finally:
            smorest_pagination._pagination_parameters_schema_factory = original
