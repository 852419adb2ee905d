import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
# detailed assertion messages (set differences) inside the shared check helpers too
pytest.register_assert_rewrite("checks", "tre_verify", "conftest_common")

from conftest_common import ad, dc_vars, fs, fs_name, fs_vars, qgroups  # noqa: E402,F401
