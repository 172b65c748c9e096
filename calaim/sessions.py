"""The database session store, reading the session with a query built once
(calaim.prepared): the session is read on every request, and building and
compiling its query cost more than running it. Same rows, same expiry rule,
same handling of a missing or tampered session as Django's own store."""

import logging

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone

from calaim.prepared import prepared_list


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        try:
            if self.session_key is None:
                raise self.model.DoesNotExist
            rows = prepared_list(
                ("sessions.load", self.model._meta.label),
                lambda key, now: self.model.objects.filter(
                    session_key=key, expire_date__gt=now
                )[:1],
                self.session_key,
                timezone.now(),
            )
            if not rows:
                raise self.model.DoesNotExist
            return rows[0]
        except (self.model.DoesNotExist, SuspiciousOperation) as e:
            if isinstance(e, SuspiciousOperation):
                logger = logging.getLogger(f"django.security.{e.__class__.__name__}")
                logger.warning(str(e))
            self._session_key = None
