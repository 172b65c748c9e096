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


@pytest.fixture(autouse=True)
def _private_data_dir(settings, tmp_path_factory):
    """Files the app stores (834 uploads, mail) go to a folder of the test run,
    never into the developer's .data/."""
    settings.DATA_DIR = tmp_path_factory.mktemp("data")
