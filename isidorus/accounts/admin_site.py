"""The admin site, with its login limited per client address like API keys.

A wrong password counts as a failed authentication of the address
(isidorus.accounts.auth_failures). Once the address is over the limit, the login form is
refused before the password is checked: the form comes back with the reason, status 429
and Retry-After, so a person reads why and a script sees the same signal as on the API.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from isidorus.accounts.auth_failures import (
    auth_block_message,
    auth_block_seconds,
    auth_failure_record,
)
from isidorus.core.client_address import UNKNOWN_CLIENT, request_client


class LimitedAuthenticationForm(AuthenticationForm):
    """A login form that is refused while its client address is over the failure limit.

    Any other login form (a dashboard's) gets the same limit by deriving from this one,
    and the same status by passing its view's response through `with_refusal_status`.
    """

    failure_kind = "login"
    retry_after: int | None = None

    def clean(self) -> dict[str, Any]:
        client = request_client(self.request) if self.request is not None else UNKNOWN_CLIENT
        blocked_for = auth_block_seconds(client=client)
        if blocked_for is not None:
            self.retry_after = blocked_for
            raise ValidationError(auth_block_message(blocked_for), code="too_many_failures")
        try:
            return super().clean()
        except ValidationError:
            auth_failure_record(client=client, kind=self.failure_kind)
            raise


class LimitedAdminAuthenticationForm(LimitedAuthenticationForm, AdminAuthenticationForm):
    failure_kind = "admin_login"


def with_refusal_status(response: HttpResponse) -> HttpResponse:
    """429 and Retry-After on a login page whose form was refused for the address."""
    form = (getattr(response, "context_data", None) or {}).get("form")
    retry_after = getattr(form, "retry_after", None)
    if retry_after is not None:
        response.status_code = 429
        response["Retry-After"] = str(retry_after)
    return response


class IsidorusAdminSite(admin.AdminSite):
    login_form = LimitedAdminAuthenticationForm

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        return with_refusal_status(super().login(request, extra_context))
