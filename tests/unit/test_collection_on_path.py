"""The collection is on pytest's ``pythonpath`` (pyproject.toml), once, for every test."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).parents[1]


def test_no_test_puts_the_collection_on_sys_path_itself():
    hand_made = [
        str(path.relative_to(TESTS))
        for path in sorted(TESTS.rglob("*.py"))
        if path != Path(__file__)
        and any(
            "sys.path.insert" in line and "collections" in line
            for line in path.read_text(encoding="utf-8").splitlines()
        )
    ]
    assert hand_made == []


def test_the_collection_imports_through_pytest_pythonpath():
    from ansible_collections.tre.secenv.plugins.module_utils import tre_journal

    assert Path(tre_journal.__file__).is_relative_to(TESTS.parent / "playbooks" / "collections")
