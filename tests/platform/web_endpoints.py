"""Browser-shell pages and endpoints in the permission matrix (see tests/matrix.py).

Home and the audit trail are in tests/platform/endpoints.py.
"""

from django.urls import reverse

from tests.cast import PEOPLE
from tests.matrix import register

# "Stay signed in": any signed-in person; it changes nothing but the session.
register(
    "session_keepalive",
    "POST",
    lambda cast: reverse("session_keepalive"),
    allowed=PEOPLE,
    ok_status=(204,),
)
