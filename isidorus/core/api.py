"""Base classes shared by every API view: key auth, owner throttles, one error style."""

from __future__ import annotations

from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from isidorus.accounts.authentication import ApiKeyAuthentication
from isidorus.accounts.throttles import OwnerRequestThrottle


class OwnerApiView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [OwnerRequestThrottle]
