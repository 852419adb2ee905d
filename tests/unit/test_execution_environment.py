"""The AWX execution environment (awx/execution-environment.yml) has what the modules import.

Every module, module_util and doc fragment of tre.secenv is parsed (ast, nothing imported);
each third-party import must come from a distribution in the EE's Python requirements, and
each requirement must be imported by some module (no stale entries). ansible-core and
ansible-runner are pinned as in pyproject.toml. ``ansible-builder create`` accepts the file.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
EE_FILE = REPO / "awx" / "execution-environment.yml"
COLLECTION = REPO / "playbooks/collections/ansible_collections/tre/secenv"
#: provided by the EE's ansible_core / the collection itself
PROVIDED = {"__future__", "ansible"}


def imported_roots(source: str) -> set[str]:
    """Top-level names of every absolute import anywhere in the source (try blocks too)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def collection_imports(source: str) -> set[str]:
    """``ansible_collections.<ns>.<name>`` of the imports from collections."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        found.update(".".join(n.split(".")[1:3]) for n in names if n.startswith("ansible_"))
    return {f for f in found if f and not f.startswith("module_utils")}


def third_party(roots: set[str]) -> set[str]:
    return {r for r in roots if r not in sys.stdlib_module_names and r not in PROVIDED} - {
        "ansible_collections"
    }


def plugin_sources() -> dict[Path, str]:
    files = sorted((COLLECTION / "plugins").rglob("*.py"))
    assert any("modules" in p.parts for p in files) and any(
        "module_utils" in p.parts for p in files
    )
    return {p: p.read_text() for p in files}


def ee() -> dict:
    return yaml.safe_load(EE_FILE.read_text())


def ee_requirements() -> dict[str, Requirement]:
    path = EE_FILE.parent / ee()["dependencies"]["python"]
    lines = [ln.split("#", 1)[0].strip() for ln in path.read_text().splitlines()]
    reqs = [Requirement(ln) for ln in lines if ln]
    return {canonicalize_name(r.name): r for r in reqs}


def test_the_import_scan_finds_third_party_imports_anywhere() -> None:
    source = (
        "from __future__ import annotations\nimport os, json\nfrom . import x\n"
        "from ansible.module_utils.basic import AnsibleModule\n"
        "try:\n    import ldap3\nexcept ImportError:\n    pass\n"
        "def f():\n    from paramiko.client import SSHClient\n"
    )
    assert third_party(imported_roots(source)) == {"ldap3", "paramiko"}


def test_every_third_party_import_of_the_modules_is_in_the_ee() -> None:
    distributions = packages_distributions()
    needed: dict[str, set[str]] = {}
    for path, source in plugin_sources().items():
        for root in third_party(imported_roots(source)):
            dists = distributions.get(root)
            assert dists, f"{path.name} imports {root}, which no installed distribution provides"
            for dist in dists:
                needed.setdefault(canonicalize_name(dist), set()).add(path.name)
    listed = ee_requirements()
    missing = {d: sorted(files) for d, files in needed.items() if d not in listed}
    assert not missing, f"imported but not in the EE's Python requirements: {missing}"
    assert set(listed) == set(needed), (
        f"listed but imported by no module: {set(listed) - set(needed)}"
    )


def test_the_modules_use_no_other_collection() -> None:
    """Only tre.secenv itself: another collection would need the EE's galaxy requirements."""
    for path, source in plugin_sources().items():
        assert collection_imports(source) <= {"tre.secenv"}, path.name


def test_ee_pins_and_collection_match_the_project() -> None:
    doc = ee()
    assert doc["version"] == 3
    pins = {
        canonicalize_name(r.name): r.specifier
        for r in map(
            Requirement,
            tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"],
        )
    }
    for key in ("ansible_core", "ansible_runner"):
        req = Requirement(doc["dependencies"][key]["package_pip"])
        assert req.specifier == pins[canonicalize_name(req.name)], key
    for name, req in ee_requirements().items():
        assert req.specifier == pins[name], f"{name}: EE {req.specifier} vs pyproject {pins[name]}"
    (copied,) = doc["additional_build_files"]
    assert (EE_FILE.parent / copied["src"]).resolve() == COLLECTION
    assert copied["dest"] == "collections/ansible_collections/tre/secenv"
    assert (EE_FILE.parent / doc["dependencies"]["system"]).is_file()


def test_ansible_builder_accepts_the_definition(tmp_path: Path) -> None:
    builder = Path(sys.executable).parent / "ansible-builder"
    proc = subprocess.run(
        [str(builder), "create", "-f", str(EE_FILE), "-c", str(tmp_path / "context")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    context = tmp_path / "context"
    assert (context / "_build/collections/ansible_collections/tre/secenv/galaxy.yml").is_file()
    containerfile = (context / "Containerfile").read_text()
    assert "COPY _build/collections/ /usr/share/ansible/collections/" in containerfile
    assert (context / "_build/requirements.txt").read_text() == (
        EE_FILE.parent / "requirements.txt"
    ).read_text()
