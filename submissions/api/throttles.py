"""Per-user and per-IP rate limits for uploads, challenges and sign-ups.

Rates are read from ``settings.IPWBOARD_THROTTLE_RATES`` at request time (not at import, as DRF's
own classes do), so they are configurable per deployment and overridable in tests. DRF turns a
refusal into a 429 with ``Retry-After``; our exception handler adds the ``rate_limited`` code.

The client's address is ``client_ip``: the TCP peer, unless that peer is one of the configured
``IPWBOARD_TRUSTED_PROXIES``. DRF's own ``get_ident`` reads ``X-Forwarded-For`` from anyone, so a
client could pick its own bucket by sending the header.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def trusted_proxies() -> tuple[Network, ...]:
    """``IPWBOARD_TRUSTED_PROXIES`` parsed (addresses or CIDR networks); validated in settings."""
    return _networks(tuple(settings.IPWBOARD_TRUSTED_PROXIES))


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request: HttpRequest | Request) -> str:
    """The address a request came from. ``X-Forwarded-For`` counts only as far as it was written
    by trusted proxies: read from the right (the nearest hop), skip every trusted proxy, and the
    first address left is the client. With no trusted proxies (the default) it is never read."""
    meta = request.META
    peer = str(meta.get("REMOTE_ADDR", "")).strip()
    networks = trusted_proxies()
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    for hop in reversed([h for h in hops if h]):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a forged or garbled hop: fall back to the proxy, never to text
    return peer


class _SettingsRateThrottle(SimpleRateThrottle):
    per_ip = False

    def get_rate(self) -> str | None:
        return settings.IPWBOARD_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request: Any) -> str:
        return client_ip(request)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
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


class SignupIPThrottle(_SettingsRateThrottle):
    """Account creation per client address (the sign-up page is a plain Django view: it calls
    ``allow_request(request, None)`` itself and answers 429 with ``wait()``)."""

    scope = "signups_ip"
    per_ip = True


UPLOAD_THROTTLES = [UploadUserThrottle, UploadIPThrottle]
CHALLENGE_THROTTLES = [ChallengeUserThrottle, ChallengeIPThrottle]
