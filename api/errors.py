"""Error responses in FastAPI's shape, so clients handle them like any validation error."""

from fastapi import HTTPException, status


def field_error(location: tuple[str, ...], message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        [{"loc": ["body", *location], "msg": message, "type": "value_error"}],
    )


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")
