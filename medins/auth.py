"""Login throttling with django-axes (issue 11, finding 14: 30 wrong passwords, then the right one worked).

After settings.AXES_FAILURE_LIMIT wrong passwords for one user name from one address, that
pair is refused for AXES_COOLOFF_TIME, the right password included. Every login a person makes
over the web goes through django.contrib.auth.authenticate() with the request (the admin's and
the school portal's login forms, and any password-based API login), and is counted there.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.shortcuts import render


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes' backend, except for authenticate() calls without a request.

    Such a call comes from code on the server (the test client's login(), a management command),
    never from a login form: there is no address to count, so this backend stays out of it and
    the next backend decides, instead of axes raising AxesBackendRequestParameterRequired.
    """

    def authenticate(self, request=None, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(request, original_response=None, credentials=None):
    """The page a locked-out login gets (HTTP 429), in the clerk's language (AXES_LOCKOUT_CALLABLE)."""
    return render(request, "axes/lockout.html", {
        "limit": settings.AXES_FAILURE_LIMIT,
        "minutes": max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)),
    }, status=settings.AXES_HTTP_RESPONSE_CODE)


def client_ip(request) -> str | None:
    """The address a login is counted against (AXES_CLIENT_IP_CALLABLE).

    Without a proxy, REMOTE_ADDR. Behind settings.PROXY_COUNT reverse proxies, each of which
    appends the address it received the request from to X-Forwarded-For, the entry that many
    places from the right: the outermost proxy wrote it, so it is the real client, and any
    X-Forwarded-For the client sent itself is to its left and ignored.
    """
    if settings.PROXY_COUNT:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= settings.PROXY_COUNT:
            return hops[-settings.PROXY_COUNT]
    return request.META.get("REMOTE_ADDR")
