#!/usr/bin/python
# ruff: noqa: E402
"""Ansible module tre.secenv.tre_ad: batch reconciler of the projects' Active Directory objects."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tre_ad
short_description: Reconcile the AD objects of many research projects in one call
version_added: 0.1.0
description:
  - Takes the desired state of every project of a run (C(tre_desired), see
    C(docs/desired-state.md)), reads Active Directory once (one paged subtree search under
    O(projects_ou)), computes the differences in Python and applies only those.
  - Per project an OU C(OU=P<project>), a members group and an observers group (global
    security groups with C(gidNumber)), and one account per person
    C(CN=<sam>,OU=P<project>,<projects_ou>) with RFC 2307 C(uidNumber)/C(gidNumber),
    C(userAccountControl) 512/514 and C(accountExpires).
  - Seat groups C(SW-<PACKAGE>) in O(software_ou); only members that are accounts of the
    run's projects are managed, others are left alone. The heavy desktop group
    (C(heavy_desktop) of the desired state, C(HEAVY-DESKTOP)) is a pool like them.
  - Catalogue reader groups (one per file subject, C(OU=Subjects,<projects_ou>)) nest the
    members and observers groups of the run's projects reading the subject. A nesting the
    contract does not explain is refused (subjects are never removed), except for a project
    with C(status=ended) or C(status=moved), whose reading is withdrawn (docs/lifecycle.md).
  - New uid/gid numbers are reserved in one atomic modify of the allocator object
    C(CN=tre-id-allocator,<projects_ou>), safe under concurrent runs.
  - A new account gets a random initial password (must be changed at first logon) that is
    written only to C(<initial_password_dir>/<project>/<sam>.txt) (mode 0600).
  - Accounts in a run's project OU that the desired state lacks are disabled, never deleted.
    Objects of projects not in the run are never touched.
  - Except a project whose entry says C(absent=[accounts, groups]) (closed_account_days after
    its end, docs/lifecycle.md) - its accounts right inside its OU named C(p<project>.*) and
    its members and observers groups are deleted, as the run's last writes, after its
    memberships of reader, seat and heavy desktop groups are removed. Other accounts in the
    OU are disabled with a warning, never deleted; the OU stays - unless the entry also says
    C(ou) in C(absent) (a purged project, docs/retention.md) - then the OU is neither made
    nor updated, and it is deleted after its accounts and groups when nothing else read is
    inside it (else it stays, with a warning).
  - New numbers are never at or below C(identities.highest) of the desired state (the highest
    number tre ever issued), so a deleted object's number is never reused.
  - Fails without writing anything when a wanted sAMAccountName is held by another object
    anywhere under O(base_dn).
  - Identity (docs/ad-model.md, "Identity"). Every account carries its person id in
    C(employeeID); an account whose C(employeeID) or tre record names another person than the
    desired state is never handed over (the run fails, nothing written). uid/gid numbers
    recorded by tre (C(identities) of the desired state) are restored when AD shows another
    number; after that every uid of an account and every gid of a group under O(projects_ou)
    must be unique and at least O(id_min), or the run fails naming both objects. C(ids) holds
    only numbers that passed these checks.
  - A write that fails half-way leaves no enabled account without its groups - accounts
    created or enabled by the run whose group membership was not written are disabled again.
author: tre maintainers
requirements:
  - ldap3 (on the host running the module, usually the controller via delegate_to localhost)
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
extends_documentation_fragment:
  - tre.secenv.ldap
  - tre.secenv.journal
options:
  desired:
    description:
      - The desired state of the run (C(tre_desired) of C(docs/desired-state.md)).
      - One of O(desired) and O(desired_b64) is required.
    type: dict
  desired_b64:
    description:
      - The desired state as base64 of its JSON (the extra variable C(tre_desired_b64) as it
        is), decoded by the module; Ansible passes one string much faster than the mapping.
    type: str
  confirmed_b64:
    description:
      - The irreversible steps of the plan the operator confirmed (base64 of a JSON list of
        C({project, op, kind, name}); C(tre apply) passes C(tre_confirmed_b64)). A deletion
        not in it is left alone with a warning. Omitted, nothing is filtered.
    type: str
  initial_password_dir:
    description:
      - Root-only directory for initial passwords, one 0600 file per new account.
      - Required when accounts are created.
    type: path
"""

EXAMPLES = r"""
- name: Reconcile AD for every project of the run
  tre.secenv.tre_ad:
    server: "{{ tre_ad_server }}"
    port: "{{ tre_ad_port }}"
    ca_file: "{{ tre_ad_ca_file }}"
    bind_user: "{{ tre_ad_bind_user }}"
    bind_password_file: "{{ tre_ad_bind_password_file }}"
    base_dn: "{{ tre_ad_base_dn }}"
    projects_ou: "{{ tre_ad_projects_ou }}"
    software_ou: "{{ tre_ad_software_ou }}"
    upn_suffix: "{{ tre_ad_upn_suffix }}"
    id_min: "{{ tre_ad_id_min }}"
    initial_password_dir: "{{ tre_initial_password_dir }}"
    desired_b64: "{{ tre_desired_b64 }}"
  delegate_to: localhost
  run_once: true
  register: tre_ad_result
"""

RETURN = r"""
changes:
  description:
    - What was (or in check mode would be) done, one entry per object and operation.
    - C(op) is create/update/enable/disable/add_members/remove_members/delete, C(kind) is
      ou/group/account. C(before)/C(after) hold the attributes concerned (member lists name
      accounts by CN; C(accountExpires) as an ISO timestamp or C(never)); never a password.
      A C(delete) has C(after) null and in C(before) what the object held (name,
      C(employeeID), numbers; a group's members).
    - On failure, only the changes applied before the failing write.
  returned: always
  type: list
  elements: dict
  sample: [{"project": "9001", "op": "create", "kind": "ou", "name": "P9001",
            "dn": "OU=P9001,OU=Projects,DC=lab,DC=example,DC=org", "before": null,
            "after": {"description": "Mobility and income"}}]
ids:
  description: uid/gid numbers of the run's accounts and groups (checked, see above; a
    recorded number being restored is given as restored); C(null) for new objects in check
    mode.
  returned: success
  type: dict
  sample: {"accounts": {"p9001.jdevries": {"uid": 200003, "gid": 200001}},
           "groups": {"p9001-members": 200001, "p9001-observers": 200002}}
warnings:
  description: E.g. a seat pool over capacity, an account disabled because the desired state
    lacks it. Also in C(ad_warnings), which callbacks do not consume.
  returned: when there are any
  type: list
  elements: str
ad_warnings:
  description: The same warnings as a plain list that survives every callback, except the
    seat pools over capacity, which are in C(ad_seat_warnings).
  returned: always
  type: list
  elements: str
ad_seat_warnings:
  description:
    - Seat pools over capacity, attributed. C(holders) counts the group's members after the
      run (this run's seat holders and members of projects outside the run), C(projects)
      are the run's projects holding seats of the pool (empty when none does).
  returned: success
  type: list
  elements: dict
  sample: [{"group": "SW-SAS", "holders": 40, "seats": 20, "projects": ["9002"]}]
clashes:
  description: On a name clash, every clashing object (the message names the first).
  returned: failure
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_apply import (
    ApplyError,
    apply_writes,
    reserve_ids,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_diff import plan
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_identity import (
    number_problems,
    owner_problems,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_model import Index, SeatWarning
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_subjects import (
    revocation_problems,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_wanted import (
    clashes,
    missing_ids,
    new_names,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_confirmed import (
    CONFIRMED_OPTION,
    allowed,
    refusal,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_confirmed import (
    decode as decode_confirmed,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_desired import (
    DESIRED_ONE_OF,
    DESIRED_OPTIONS,
    desired_from,
    summary,
    validate,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_desired import (
    invocation as summarised,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_journal import Journal
from ansible_collections.tre.secenv.plugins.module_utils.tre_ldap import (
    LDAP3_IMPORT_ERROR,
    LDAP_ARGUMENT_SPEC,
    LDAP_ERRORS,
    LdapError,
    connect,
    find_names,
    operation_message,
    read_entries,
    read_secret,
    settings_of,
)


def render_diff(changes: list[dict]) -> dict:
    """Ansible diff as text, one line per attribute change (creates: one line per object).

    Kept compact: the attributes of new objects are in ``changes``; a run of 800 accounts
    must stay well inside what callbacks and ansible-runner's events carry.
    """
    before: list[str] = []
    after: list[str] = []
    for c in changes:
        where = f"{c['kind']} {c['dn']}"
        if c["op"] == "create":
            after.append(f"{where}: created")
        elif c["op"] in ("add_members", "remove_members"):
            key, sign = ("after", "+") if c["op"] == "add_members" else ("before", "-")
            after.extend(f"{where}: member {sign}{m}" for m in c[key]["member"])
        else:
            before.extend(f"{where}: {k}={v}" for k, v in (c["before"] or {}).items())
            after.extend(f"{where}: {k}={v}" for k, v in (c["after"] or {}).items())
    return {
        "before": "".join(line + "\n" for line in before),
        "after": "".join(line + "\n" for line in after),
    }


def reconcile(module: AnsibleModule) -> dict:
    p = module.params
    desired = p["desired"] or {}
    problems = validate(desired, required=("ou", "groups"))
    if problems:
        fail(module, msg=summary(problems), changed=False, changes=[])
    password = read_secret(p["bind_password_file"])
    module.no_log_values.add(password)
    conn = connect(p, password)
    del password
    try:
        index = Index(read_entries(conn, p), settings_of(p))
        wanted = new_names(desired, index)
        found = find_names(conn, p["base_dn"], sorted(wanted)) if wanted else []
        problems = (
            clashes(desired, index, found)
            + owner_problems(desired, index)
            + number_problems(desired, index, p["id_min"])
            + revocation_problems(desired, index)
        )
        if problems:
            fail(
                module,
                msg=problems[0]
                + (f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""),
                clashes=problems,
                changed=False,
                changes=[],
            )
        missing = missing_ids(desired, index)
        new_ids: dict = {key: None for key in missing}
        if missing and not module.check_mode:
            try:
                # never below a number tre issued, even to an object deleted since
                issued = (desired.get("identities") or {}).get("highest") or 0
                floor = max(index.max_id, issued) + 1
                start = reserve_ids(conn, index.settings, p["id_min"], floor, len(missing))
            except LDAP_ERRORS as e:
                where = index.settings.allocator_dn
                raise LdapError(operation_message(e, "update", where, p["bind_user"])) from None
            new_ids = {key: start + i for i, key in enumerate(missing)}
        writes, warnings, ids = plan(desired, index, new_ids)
        if not module.check_mode:
            writes = bound_to_plan(writes, p.get("confirmed"), warnings)
        changes = [r for w in writes for r in w.reports]
        if not module.check_mode and writes:
            names = {
                a["sam"]: a.get("display_name")
                for proj in desired.get("projects", [])
                for a in proj.get("accounts", [])
            }
            try:
                journal = Journal(p["journal"])
                try:
                    apply_writes(
                        conn, writes, p["initial_password_dir"], p["bind_user"], names, journal
                    )
                finally:
                    journal.close()
            except ApplyError as e:
                fail(
                    module,
                    msg=str(e),
                    changed=bool(e.applied),
                    changes=e.applied,
                    ad_warnings=warnings,
                )
    finally:
        conn.unbind()
    for w in warnings:
        module.warn(w)
    result = {
        "changed": bool(changes),
        "changes": changes,
        "ids": ids,
        "ad_warnings": [w for w in warnings if not isinstance(w, SeatWarning)],
        "ad_seat_warnings": [w.attribution() for w in warnings if isinstance(w, SeatWarning)],
        "invocation": invocation(module),
    }
    if module._diff:
        result["diff"] = render_diff(changes)
    return result


def bound_to_plan(writes: list, confirmed: set | None, warnings: list[str]) -> list:
    """The writes without the deletions the operator did not confirm (tre_confirmed)."""
    kept = []
    for w in writes:
        refused = [r for r in w.reports if not allowed(r, confirmed)]
        warnings.extend(refusal(r) for r in refused)
        if not refused:
            kept.append(w)
    return kept


def invocation(module: AnsibleModule) -> dict:
    """The module arguments echoed back, with the (large) desired state summarised."""
    return summarised(module.params)


def fail(module: AnsibleModule, **result) -> None:
    module.fail_json(invocation=invocation(module), **result)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            LDAP_ARGUMENT_SPEC,
            initial_password_dir={"type": "path", "no_log": False},
            journal={"type": "path"},
            **CONFIRMED_OPTION,
            **DESIRED_OPTIONS,
        ),
        mutually_exclusive=DESIRED_ONE_OF,
        required_one_of=DESIRED_ONE_OF,
        supports_check_mode=True,
    )
    if LDAP3_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("ldap3"), exception=LDAP3_IMPORT_ERROR)
    try:
        module.params["desired"] = desired_from(module.params)
        module.params["confirmed"] = decode_confirmed(module.params["confirmed_b64"])
    except ValueError as e:
        fail(module, msg=str(e), changed=False, changes=[])
    try:
        result = reconcile(module)
    except LdapError as e:
        fail(module, msg=str(e), changed=False, changes=[])
    except LDAP_ERRORS as e:  # an LDAP error outside a write (search, allocation): one line
        fail(
            module,
            msg=operation_message(
                e, "read", module.params["projects_ou"], module.params["bind_user"]
            ),
            changed=False,
            changes=[],
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
