"""The thin test override: development defaults, fast hashing, same everything else."""

import os

os.environ.setdefault("DEBUG", "true")
os.environ["CALAIM_TESTING"] = "true"

from calaim.settings import *  # noqa: E402,F403
