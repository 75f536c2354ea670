from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from isidorus.accounts.keys import generate_key
from isidorus.accounts.models import ApiKey
from isidorus.accounts.services import api_key_revoke


class ActiveFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "active"), ("revoked", "revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> QuerySet[ApiKey]:
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
    list_display = [
        "name", "owner", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at",
    ]  # fmt: skip
    list_filter = [ActiveFilter, "created_at", "expires_at"]
    search_fields = ["name", "prefix", "owner__username", "owner__email"]
    readonly_fields = ["prefix", "hashed_secret", "created_at", "revoked_at", "last_used_at"]
    fields = ["owner", "name", "expires_at", *readonly_fields]
    actions = ["revoke_selected"]
    list_select_related = ["owner"]

    def save_model(
        self, request: HttpRequest, obj: ApiKey, form: ModelForm[ApiKey], change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        generated = generate_key()
        obj.prefix = generated.prefix
        obj.hashed_secret = generated.hashed_secret
        super().save_model(request, obj, form, change)
        # Shown once: the raw key lives only in this one-time message (session storage).
        messages.warning(
            request,
            f"API key for {obj.owner}: {generated.raw} — copy it now; it will not be shown again.",
        )

    @admin.action(description="Revoke selected API keys")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = 0
        for key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(key=key)
            revoked += 1
        self.message_user(request, f"Revoked {revoked} API key(s).")


# A tuple, which both `fields` and `readonly_fields` accept as declared by django-stubs.
_INLINE_KEY_FIELDS = ("name", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at")


class ApiKeyInline(admin.TabularInline[ApiKey, Any]):
    model = ApiKey
    extra = 0
    fields = _INLINE_KEY_FIELDS
    readonly_fields = _INLINE_KEY_FIELDS
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class IsidorusUserAdmin(UserAdmin):  # type: ignore[type-arg]  # generic only in django-stubs; subscripting fails at run time
    inlines = [ApiKeyInline]
