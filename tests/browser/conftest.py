"""Browser tests: headless Debian Chromium driven by Playwright's sync API.

Run them alone with `pytest -m browser`. Playwright's own browser download does
not work here, so they use /usr/bin/chromium (apt-get install chromium).
"""

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def chromium(django_db_setup, django_db_blocker):
    """One browser per module, stopped after it.

    Playwright's sync API keeps an asyncio loop running in this thread while it is
    started, which changes two things for Django:
    - it refuses database access from a thread with a running loop, so
      DJANGO_ALLOW_ASYNC_UNSAFE is set for exactly that time (not at import, where
      it would leak into every other test, and into `check --deploy` run as a
      subprocess, which rightly refuses it);
    - asgiref then keeps the thread's database connections in a context variable,
      so this thread gets fresh connection objects, which lack the snapshot of
      the migrated data that serialized rollback restores after each flush. The
      snapshot is handed over to them, and restored once more at the end.
    """
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    snapshots = {
        alias: getattr(connections[alias], "_test_serialized_contents", None)
        for alias in connections
    }
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            for alias, snapshot in snapshots.items():
                if snapshot is not None:
                    connections[alias]._test_serialized_contents = snapshot
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
            # The last test's flush emptied the database; leave it as migrated
            # for whatever runs next.
            with django_db_blocker.unblock():
                for alias, snapshot in snapshots.items():
                    if snapshot is not None:
                        connections[alias].creation.deserialize_db_from_string(snapshot)
                # These connection objects become unreachable once the loop stops;
                # left open, they would block dropping the test database.
                connections.close_all()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
