import pytest
from django.core import mail

from tests.cast import build_cast


@pytest.fixture
def cast(db):
    """The fixed cast of DESIGN.md §3 around one member."""
    return build_cast()


@pytest.fixture
def outbox_mail():
    mail.outbox = []
    return mail.outbox
