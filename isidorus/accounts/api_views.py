"""Base classes shared by every API view: key auth, owner throttles, one error style."""

from __future__ import annotations

from django.contrib.auth.models import User
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from isidorus.accounts.authentication import ApiKeyAuthentication
from isidorus.accounts.throttles import OwnerRequestThrottle


class OwnerApiView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [OwnerRequestThrottle]


def request_owner(request: Request) -> User:
    """The API key's owner. OwnerApiView's IsAuthenticated has already refused anonymous
    requests, so the check only narrows `request.user` for the type checker."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated
    return user
