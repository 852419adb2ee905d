import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))

from conftest_common import ad, dc_vars, fs, fs_name, fs_vars, qgroups  # noqa: E402,F401
