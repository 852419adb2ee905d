"""How the desired state reaches the modules (README "Figures", whole environment).

site.yml hands every module the extra variable ``tre_desired_b64`` as it is
(``desired_b64``), which the module decodes itself; results carry a summary of it, not the
state (``invocation``); the OSSC hand-off is skipped when no project of the run uses OSSC
(``tre_ossc_projects``). The storage planner finds nested subvolumes through an index.
Modules are called in-process the way Ansible calls them (arguments as JSON), and site.yml
through ansible-runner on this machine; no lab.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import random
import sys
from pathlib import Path

import ansible_runner
import pytest
from ansible.module_utils import basic
from ansible_collections.tre.secenv.plugins.module_utils import tre_desired
from ansible_collections.tre.secenv.plugins.module_utils.tre_storage_model import Actual
from ansible_collections.tre.secenv.plugins.modules import (
    tre_ad,
    tre_archive,
    tre_ossc_handoff,
    tre_storage,
)

from provisioning.runner import _extravars, encode_desired

REPO = Path(__file__).resolve().parents[2]
TITLE = "Titel {{ lookup('pipe', 'id') }} van 't project"


def _desired(projects: int = 2, ossc: bool = False) -> dict:
    out = []
    for n in range(projects):
        nr = str(6300 + n)
        out.append(
            {
                "project": nr,
                "ou": f"P{nr}",
                "title": TITLE,
                "groups": {
                    "members": {"name": f"p{nr}-members"},
                    "observers": {"name": f"p{nr}-observers"},
                },
                "accounts": [{"sam": f"p{nr}.ann", "group": "members", "person": "ann"}],
                "ossc": None,
            }
        )
    if ossc:
        out[0]["ossc"] = {"researchers": [{"person": "ann", "name": "Ann", "email": "a@uu.nl"}]}
    return {"today": "2026-12-01", "projects": out}


def _call(main, args: dict) -> dict:
    """One module run as Ansible makes it: JSON arguments in, the JSON result out."""
    payload = {"ANSIBLE_MODULE_ARGS": {**args, "_ansible_check_mode": True}}
    basic._ANSIBLE_ARGS = json.dumps(payload).encode()
    basic._ANSIBLE_PROFILE = "legacy"
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            main()
    finally:
        basic._ANSIBLE_ARGS = None
    return json.loads(out.getvalue())


OSSC_ARGS = {"host": "127.0.0.1", "user": "x", "key_file": "/nonexistent", "known_hosts": "/n"}


def test_desired_from_decodes_the_extra_variable_as_it_is():
    desired = _desired()
    assert tre_desired.desired_from({"desired_b64": encode_desired(desired)}) == desired
    assert tre_desired.desired_from({"desired": desired, "desired_b64": None}) is desired


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not base64 {{ x }}", "desired_b64 is not base64 of a JSON document"),
        (base64.b64encode(b"\xff\xfe{").decode(), "desired_b64 is not base64 of a JSON document"),
        (base64.b64encode(b"[1, 2]").decode(), "desired_b64 does not hold a mapping"),
        ("", "desired_b64 is not base64 of a JSON document"),
    ],
)
def test_a_bad_desired_b64_is_one_line_without_its_content(value, message):
    with pytest.raises(ValueError) as caught:
        tre_desired.desired_from({"desired_b64": value})
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    assert "{{" not in str(caught.value)


@pytest.mark.parametrize(
    "main", [tre_ad.main, tre_storage.main, tre_ossc_handoff.main, tre_archive.main]
)
def test_every_module_fails_one_line_on_a_bad_desired_b64(main):
    args = {
        tre_ad.main: {"server": "127.0.0.1", "ca_file": "/n", "bind_user": "u",
                      "bind_password_file": "/n", "base_dn": "DC=x", "projects_ou": "OU=P,DC=x",
                      "software_ou": "OU=S,DC=x", "upn_suffix": "x"},
        tre_storage.main: {"ids": {}, "projects_root": "/n", "workspaces_root": "/n",
                           "catalog_root": "/n"},
        tre_ossc_handoff.main: OSSC_ARGS,
        tre_archive.main: {"projects_root": "/n", "workspaces_root": "/n", "archive_root": "/n"},
    }[main]  # fmt: skip
    result = _call(main, {**args, "desired_b64": "%%%"})
    assert result["failed"] and result["msg"] == "desired_b64 is not base64 of a JSON document"
    assert result["invocation"]["module_args"]["desired_b64"] == "3 characters"
    both = _call(main, {**args, "desired_b64": encode_desired(_desired()), "desired": _desired()})
    assert both["failed"] and "mutually exclusive" in both["msg"]
    neither = _call(main, args)
    assert neither["failed"] and "one of the following is required" in neither["msg"]


def test_a_result_carries_a_summary_of_the_desired_state_not_the_state():
    desired = _desired(projects=3)
    result = _call(tre_ossc_handoff.main, {**OSSC_ARGS, "desired_b64": encode_desired(desired)})
    assert not result.get("failed") and result["changes"] == [] and not result["changed"]
    args = result["invocation"]["module_args"]
    assert args["desired"] == "3 projects, 3 accounts"
    assert args["desired_b64"] == f"{len(encode_desired(desired))} characters"
    assert "Titel" not in json.dumps(result)


def test_invocation_summaries_survive_any_shape():
    odd = {"desired": {"projects": [1, {"accounts": 7}, {"accounts": [1, 2]}]}, "ids": {"a": 1}}
    args = tre_desired.invocation(odd)["module_args"]
    assert args == {"desired": "3 projects, 2 accounts", "ids": "0 a"}
    ids = {"accounts": {"p1.a": {"uid": 1}}, "groups": {"g": 2, "h": 3}}
    assert tre_desired.invocation({"ids": ids})["module_args"]["ids"] == "1 accounts, 2 groups"
    assert tre_desired.invocation({"desired": {"projects": "x"}})["module_args"]["desired"] == (
        "0 projects, 0 accounts"
    )


def test_tre_counts_the_projects_with_ossc_use_for_site_yml():
    assert _extravars(_desired(ossc=False), False, None)["tre_ossc_projects"] == 0
    assert _extravars(_desired(ossc=True), False, None)["tre_ossc_projects"] == 1


def _site_ossc(tmp_path: Path, extravars: dict) -> list[str]:
    """The OSSC play of site.yml alone (tag ossc); the events of its task."""
    tmp_path.mkdir()
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    host.update({f"tre_ossc_{k}": v for k, v in OSSC_ARGS.items()}, tre_ossc_inbox="inbox")
    runner = ansible_runner.run(
        private_data_dir=str(tmp_path),
        project_dir=str(REPO / "playbooks"),
        playbook="site.yml",
        inventory={"all": {"children": {"ossc_gateway": {"hosts": {"gw": host}}}}},
        extravars=extravars,
        cmdline="--tags ossc",
        envvars={"ANSIBLE_COLLECTIONS_PATH": str(REPO / "playbooks" / "collections")},
        quiet=True,
    )
    assert runner.status == "successful", runner.stdout.read()
    return [e["event"] for e in runner.events if e["event"].startswith("runner_on_")]


def test_site_yml_skips_the_ossc_hand_off_when_no_project_uses_it(tmp_path):
    b64 = encode_desired(_desired())
    skipped = _site_ossc(tmp_path / "a", {"tre_desired_b64": b64, "tre_ossc_projects": 0})
    assert skipped == ["runner_on_start", "runner_on_skipped"]
    # without tre's count (site.yml run by hand) the task runs, and finds nothing to do
    ran = _site_ossc(tmp_path / "b", {"tre_desired_b64": b64})
    assert ran == ["runner_on_start", "runner_on_ok"]


def _naive_below(quotas: dict, unit: str) -> list[str]:
    return sorted(p for p in quotas if p.startswith(unit + "/"))


def test_subvolumes_below_a_unit_are_those_of_a_full_scan():
    rng = random.Random(17)
    paths = ["/srv/tre/projects/P1", "/srv/tre/projects/P1/a", "/srv/tre/projects/P1/a/b",
             "/srv/tre/projects/P10", "/srv/tre/projects/P1x/c", "/srv/tre/home/p1.ann",
             "/srv/tre/home/p1.ann/.snap", "/srv/tre//projects/P2", "/x", "/"]  # fmt: skip
    paths += [f"/srv/tre/projects/P{rng.randrange(50)}/{rng.choice('abc')}" for _ in range(200)]
    actual = Actual(paths={}, quotas={p: (0, None) for p in paths}, catalog={}, units=set())
    units = {*paths, "/srv/tre", "/srv/tre/projects", "", "/srv/tre/projects/P", "/nope"}
    for unit in sorted(units):
        assert actual.subvolumes_below(unit) == _naive_below(actual.quotas, unit), unit
    actual.quotas["/srv/tre/projects/P1/new"] = (0, None)  # a changed read: index rebuilt
    assert "/srv/tre/projects/P1/new" in actual.subvolumes_below("/srv/tre/projects/P1")
