"""ansible-lint (production profile, .ansible-lint) passes on playbooks/.

Needs the collections cache (scripts/fetch-collections.sh: the pinned ansible wheel from PyPI),
so it carries the molecule marker.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.molecule


def test_ansible_lint_production_profile():
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, NO_COLOR="1", PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    subprocess.run([str(REPO / "scripts/fetch-collections.sh")], check=True, cwd=REPO, env=env)
    env["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join(
        [str(REPO / ".cache/collections"), str(REPO / "playbooks/collections")]
    )
    proc = subprocess.run(
        [str(bin_dir / "ansible-lint"), "playbooks/"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
