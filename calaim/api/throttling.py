"""Rate limits per caller: one bucket per OAuth2 client, per person, per address."""

import logging

from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import RedisError
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from calaim.api.oauth import is_access_token

logger = logging.getLogger(__name__)

MACHINE = "machine"
PERSON = "person"
ANONYMOUS = "anonymous"
CACHE_ALIAS = "api_throttle"


class ClientRateThrottle(SimpleRateThrottle):
    """Throttle by who is calling, with its own rate for each kind of caller.

    Machines (a token) get the `machine` rate per client, since a provider's
    nightly sync is one client however many servers run it; people get `person`
    per user. Keys use the client id and the user's uuid, never a reused integer.
    Counts live in Redis so every worker process shares them. Rates are read at
    each request from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].
    """

    def __init__(self):
        # The scope, hence the rate, depends on the request: set in allow_request.
        pass

    @property
    def cache(self):
        return caches[CACHE_ALIAS]

    def get_rate(self):
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError as missing:
            raise ImproperlyConfigured(
                f"REST_FRAMEWORK DEFAULT_THROTTLE_RATES has no {self.scope!r} rate."
            ) from missing

    def allow_request(self, request, view):
        if is_access_token(request.auth):
            self.scope = MACHINE
        elif request.user and request.user.is_authenticated:
            self.scope = PERSON
        else:
            self.scope = ANONYMOUS
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except RedisError:
            # A Redis outage must not take the API down with it: fail open.
            logger.warning("API throttle unavailable (Redis); request allowed")
            return True

    def get_cache_key(self, request, view):
        if self.scope == MACHINE:
            ident = request.auth.application.client_id
        elif self.scope == PERSON:
            ident = request.user.uuid.hex
        else:
            ident = self.get_ident(request)
        return f"throttle:{self.scope}:{ident}"
