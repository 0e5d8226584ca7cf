"""Numeric fields: documented ranges, strict types, finite values, in the shared models (so the
config validator and the sandbox refuse the same values)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from wscfg.model.calls import Range, ScoreRange
from wscfg.model.webhooks import WebhookFilters

HUGE = 99999999999999999999999999999999999

# (model, field, value that must be refused, pydantic error type)
REFUSED: list[tuple[type[Any], str, Any, str]] = [
    (Range, "at_least", HUGE, "less_than_equal"),
    (Range, "at_least", 1e308, "less_than_equal"),
    (Range, "at_most", 86_401, "less_than_equal"),
    (Range, "at_least", -1, "greater_than_equal"),
    (Range, "at_least", True, "float_type"),
    (Range, "at_least", "60", "float_type"),
    (Range, "at_least", float("inf"), "finite_number"),
    (Range, "at_least", float("nan"), "finite_number"),
    (ScoreRange, "at_most", 101, "less_than_equal"),
    (ScoreRange, "at_least", False, "float_type"),
    (WebhookFilters, "min_duration", HUGE, "less_than_equal"),
    (WebhookFilters, "min_duration", True, "int_type"),
    (WebhookFilters, "min_duration", "60", "int_type"),
    (WebhookFilters, "min_duration", 60.5, "int_type"),
]


@pytest.mark.parametrize(("model", "field", "value", "error"), REFUSED)
def test_out_of_range_or_wrong_type_is_refused(
    model: type[Any], field: str, value: Any, error: str
) -> None:
    with pytest.raises(ValidationError) as exc:
        model.model_validate({field: value})
    assert [e["type"] for e in exc.value.errors()] == [error]


@pytest.mark.parametrize(
    ("model", "body", "dumped"),
    [
        (Range, {"at_least": 0, "at_most": 86_400}, {"at_least": 0, "at_most": 86_400}),
        (Range, {"at_least": 60.0}, {"at_least": 60}),
        (Range, {"at_least": 7.5}, {"at_least": 7.5}),
        (ScoreRange, {"at_least": 0, "at_most": 100}, {"at_least": 0, "at_most": 100}),
        (WebhookFilters, {"min_duration": 86_400}, {"min_duration": 86_400}),
    ],
)
def test_bounds_are_inclusive_and_whole_numbers_stay_whole(
    model: type[Any], body: dict[str, Any], dumped: dict[str, Any]
) -> None:
    assert model.model_validate(body).model_dump(mode="json", exclude_unset=True) == dumped
