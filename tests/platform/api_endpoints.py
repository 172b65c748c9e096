"""Permission-matrix entries for the API plumbing (see tests/matrix.py)."""

from django.urls import reverse

from tests.cast import MACHINES, PEOPLE
from tests.matrix import API, register

# Anyone signed in or holding a token may ask who they are.
register(
    "api_me",
    "GET",
    lambda cast: reverse("api_me"),
    allowed=[*PEOPLE, *MACHINES],
    kind=API,
)
# The schema describes no data: open to every person and client, never anonymous.
register(
    "api_schema",
    "GET",
    lambda cast: reverse("api_schema"),
    allowed=[*PEOPLE, *MACHINES],
    kind=API,
)
# Swagger UI is a page for people; anonymous visitors are sent to sign in.
register(
    "api_docs",
    "GET",
    lambda cast: reverse("api_docs"),
    allowed=PEOPLE,
)
