"""Per-user and per-IP rate limits for uploads and challenges.

Rates are read from ``settings.IPWBOARD_THROTTLE_RATES`` at request time (not at import, as DRF's
own classes do), so they are configurable per deployment and overridable in tests. DRF turns a
refusal into a 429 with ``Retry-After``; our exception handler adds the ``rate_limited`` code.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class _SettingsRateThrottle(SimpleRateThrottle):
    per_ip = False

    def get_rate(self) -> str | None:
        return settings.IPWBOARD_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        user = getattr(request, "user", None)
        if self.per_ip:
            ident = self.get_ident(request)
        elif user is not None and user.is_authenticated:
            ident = str(user.pk)
        else:
            return None  # anonymous requests are refused by authentication; IP throttle covers
        return self.cache_format % {"scope": self.scope, "ident": ident}


class UploadUserThrottle(_SettingsRateThrottle):
    scope = "uploads_user"


class UploadIPThrottle(_SettingsRateThrottle):
    scope = "uploads_ip"
    per_ip = True


class ChallengeUserThrottle(_SettingsRateThrottle):
    scope = "challenges_user"


class ChallengeIPThrottle(_SettingsRateThrottle):
    scope = "challenges_ip"
    per_ip = True


UPLOAD_THROTTLES = [UploadUserThrottle, UploadIPThrottle]
CHALLENGE_THROTTLES = [ChallengeUserThrottle, ChallengeIPThrottle]
