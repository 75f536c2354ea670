from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class IsidorusAdminConfig(AdminConfig):
    """Django's admin app with the site of isidorus/accounts/admin_site.py as `admin.site`."""

    default_site = "isidorus.accounts.admin_site.IsidorusAdminSite"
