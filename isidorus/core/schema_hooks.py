"""OpenAPI post-processing: every operation documents the shared error responses."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object"},
            },
        }
    },
}
COMMON_ERRORS = {
    "400": "Invalid input; `fields` names each bad field.",
    "401": "Missing, malformed, unknown, expired or revoked API key.",
    "404": "Not found (or owned by someone else).",
    "413": "Request body too large.",
    "429": "A per-owner limit was reached, or too many failed authentications came from "
    "this client address; see the Retry-After header.",
    "503": "The database is unavailable (`database_unavailable`); see the Retry-After header.",
}


def add_common_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["ApiError"] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/") or path == "/api/v1/schema/":
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, description in COMMON_ERRORS.items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ApiError"}
                            }
                        },
                    },
                )
    return result
