"""RFC 9457 problem details: the one shape of every error the sandbox answers."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("wscfg.sandbox")


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Where: ['body', 'members', 0, 'role'].")
    msg: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(title="Problem")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = Field(None, description="The request id.")
    errors: list[FieldError] | None = Field(None, description="Field errors (422 only).")


class ProblemError(Exception):
    """Raise to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str = "",
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.headers = dict(headers or {})


def invalid(loc: Sequence[str | int], msg: str) -> ProblemError:
    """A 422 with one field error."""
    return ProblemError(422, "the request is invalid", errors=[{"loc": list(loc), "msg": msg}])


def field_errors(exc: ValidationError, prefix: Sequence[str | int] = ("body",)) -> ProblemError:
    """A 422 listing every error of a pydantic validation, located under ``prefix``."""
    errors = [{"loc": [*prefix, *e["loc"]], "msg": _msg(e)} for e in exc.errors()]
    return ProblemError(422, "the request is invalid", errors=errors)


def _msg(err: Mapping[str, Any]) -> str:
    msg = str(err.get("msg", "invalid"))
    return msg.removeprefix("Value error, ")


def problem_body(
    status: int,
    detail: str | None = None,
    *,
    instance: str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
) -> bytes:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    doc: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        doc["detail"] = detail
    if instance:
        doc["instance"] = instance
    if errors:
        doc["errors"] = [{"loc": list(e["loc"]), "msg": str(e["msg"])} for e in errors]
    return json.dumps(doc, ensure_ascii=False).encode()


def problem_response(
    request: Request | None,
    status: int,
    detail: str | None = None,
    *,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    instance = getattr(request.state, "request_id", None) if request is not None else None
    return Response(
        problem_body(status, detail, instance=instance, errors=errors),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=dict(headers or {}),
    )


def install(app: FastAPI) -> None:
    """Answer every error, including FastAPI's own, as problem+json."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        return problem_response(
            request, exc.status, exc.detail, errors=exc.errors, headers=exc.headers
        )

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": [p for p in e.get("loc", ()) if isinstance(p, str | int)], "msg": _msg(e)}
            for e in exc.errors()
        ]
        return problem_response(request, 422, "the request is invalid", errors=errors)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else None
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such resource"
        if exc.status_code == 405 and detail == "Method Not Allowed":
            detail = "method not allowed on this resource"
        return problem_response(request, exc.status_code, detail, headers=exc.headers)

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
