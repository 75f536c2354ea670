"""Serializers shared by every app's schema."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer[Any]):
    """The error shape of isidorus.core.errors, for the schema."""

    error = inline_serializer(
        name="ErrorDetail",
        fields={
            "code": serializers.CharField(),
            "message": serializers.CharField(),
            "fields": serializers.DictField(help_text="Bad fields, each with its messages."),
        },
    )
