#!/usr/bin/python
"""Ansible module tre.secenv.tre_ossc_handoff: hand projects to the OSSC gateway over SFTP."""
# ruff: noqa: E402 - Ansible modules put their imports after DOCUMENTATION

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tre_ossc_handoff
short_description: Upload OSSC hand-off manifests to the gateway's SFTP inbox, once per revision
description:
  - For every project of C(desired) with C(ossc), builds a JSON manifest (project number,
    researchers with id/name/email, period, purpose C(OSSC), destruction deadline, contract
    revision, sha256 checksum of the canonical body) and uploads it to
    C(<inbox>/P<project>-<revision[:16]>.json).
  - >-
    Runs on the admin machine (C(delegate_to: localhost)); connects with paramiko, the host key
    verified against O(known_hosts) only (unknown or different key fails, nothing uploaded).
  - Idempotent without local state - a manifest whose name (project + revision) already exists
    in the inbox or in one of O(processed_dirs) is not uploaded again.
  - Atomic - written to a hidden C(.tmp) name, then renamed with posix-rename.
version_added: "0.1.0"
author: tre
extends_documentation_fragment:
  - tre.secenv.journal
options:
  desired:
    description:
      - The desired state C(tre_desired); only projects with C(ossc) are handed off.
      - One of O(desired) and O(desired_b64) is required.
    type: dict
  desired_b64:
    description:
      - The desired state as base64 of its JSON (the extra variable C(tre_desired_b64) as it
        is), decoded by the module; Ansible passes one string much faster than the mapping.
    type: str
  host:
    description: OSSC gateway address.
    type: str
    required: true
  port:
    description: SFTP port.
    type: int
    default: 22
  user:
    description: SFTP login.
    type: str
    required: true
  key_file:
    description: Private key file of the login (root-only); never read by anything but paramiko.
    type: path
    required: true
  known_hosts:
    description: known_hosts file holding the gateway's host key; the only file consulted.
    type: path
    required: true
  inbox:
    description: Inbox directory on the gateway (SFTP path, relative to the login's home).
    type: str
    default: inbox
  processed_dirs:
    description: Gateway directories where consumed manifests are moved; also searched.
    type: list
    elements: str
    default: []
  timeout:
    description: Connection timeout in seconds.
    type: int
    default: 15
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Hand OSSC projects to the gateway
  tre.secenv.tre_ossc_handoff:
    desired_b64: "{{ tre_desired_b64 }}"
    host: "{{ tre_ossc_host }}"
    port: "{{ tre_ossc_port }}"
    user: "{{ tre_ossc_user }}"
    key_file: "{{ tre_ossc_key_file }}"
    known_hosts: "{{ tre_ossc_known_hosts }}"
    inbox: "{{ tre_ossc_inbox }}"
  delegate_to: localhost
"""

RETURN = r"""
changes:
  description:
    - Uploads planned (check mode) or done, each C({project, op=handoff, kind=ossc, name,
      path, before, after}); C(name) and C(path) are the remote path, C(after) holds
      revision and checksum. On a failure half-way, the uploads really done before it.
  returned: always
  type: list
  elements: dict
manifests:
  description:
    - Per project with C(ossc) - C({path, revision, checksum, end, destruction_deadline,
      uploaded}) where C(uploaded) is false when it was already there (or in check mode).
  returned: always
  type: dict
"""

import posixpath
import stat
from collections.abc import Callable

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.tre.secenv.plugins.module_utils.tre_desired import (
    DESIRED_ONE_OF,
    DESIRED_OPTIONS,
    desired_from,
    invocation,
    summary,
    validate,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_executor import (
    STOP,
    OperationError,
    Step,
    execute,
)
from ansible_collections.tre.secenv.plugins.module_utils.tre_journal import Journal
from ansible_collections.tre.secenv.plugins.module_utils.tre_ossc_manifest import (
    ManifestError,
    build_body,
    checksum,
    remote_dir,
    remote_name,
    render,
)

try:
    import paramiko
except ImportError:  # pragma: no cover - reported by the module
    paramiko = None


def _connect(params: dict):
    where = f"{params['host']}:{params['port']}"
    client = paramiko.SSHClient()
    try:
        client.load_host_keys(params["known_hosts"])
    except OSError as exc:
        raise ConnectionError(
            f"cannot read known_hosts {params['known_hosts']}: {exc.strerror}"
        ) from None
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            params["host"],
            port=params["port"],
            username=params["user"],
            key_filename=params["key_file"],
            timeout=params["timeout"],
            allow_agent=False,
            look_for_keys=False,
        )
    except paramiko.BadHostKeyException:
        raise ConnectionError(
            f"host key of OSSC gateway {where} does not match "
            f"{params['known_hosts']} (possible impersonation)"
        ) from None
    except paramiko.AuthenticationException:
        raise ConnectionError(
            f"OSSC gateway {where}: authentication of {params['user']} failed"
        ) from None
    except paramiko.SSHException as exc:
        cause = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "known_hosts" in cause:
            cause = f"host key unknown (not in {params['known_hosts']})"
        raise ConnectionError(f"OSSC gateway {where}: {cause}") from None
    except (TimeoutError, OSError) as exc:
        raise ConnectionError(
            f"cannot connect to OSSC gateway {where}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    return client


def _exists(sftp, path: str) -> bool:
    try:
        return stat.S_ISREG(sftp.stat(path).st_mode or 0)
    except FileNotFoundError:
        return False
    except OSError as exc:  # paramiko maps "no such file" to IOError/ENOENT
        if getattr(exc, "errno", None) == 2:
            return False
        raise


def _upload(sftp, path: str, data: bytes) -> None:
    tmp = posixpath.join(posixpath.dirname(path), "." + posixpath.basename(path) + ".tmp")
    with sftp.open(tmp, "wb") as handle:
        handle.write(data)
    if sftp.stat(tmp).st_size != len(data):
        raise OSError(f"short write of {tmp}")
    sftp.posix_rename(tmp, path)


def _gateway_error(params: dict, exc: Exception) -> str:
    cause = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return f"OSSC gateway {params['host']}:{params['port']}: {str(cause).splitlines()[0]}"


def _upload_op(sftp, params: dict, path: str, body: dict, result: dict) -> Callable[[], None]:
    """The operation of one hand-off: upload, then mark the manifest uploaded."""

    def run() -> None:
        try:
            _upload(sftp, path, render(body))
        except (OSError, paramiko.SSHException) as exc:
            raise OperationError(_gateway_error(params, exc), rollback=False) from None
        result["manifests"][body["project"]]["uploaded"] = True

    return run


def run_module() -> None:
    module = AnsibleModule(
        argument_spec={
            **DESIRED_OPTIONS,
            "host": {"type": "str", "required": True},
            "port": {"type": "int", "default": 22},
            "user": {"type": "str", "required": True},
            "key_file": {"type": "path", "required": True},
            "known_hosts": {"type": "path", "required": True},
            "inbox": {"type": "str", "default": "inbox"},
            "processed_dirs": {"type": "list", "elements": "str", "default": []},
            "timeout": {"type": "int", "default": 15},
            "journal": {"type": "path"},
        },
        mutually_exclusive=DESIRED_ONE_OF,
        required_one_of=DESIRED_ONE_OF,
        supports_check_mode=True,
    )
    params = module.params
    try:
        params["desired"] = desired_from(params)
    except ValueError as exc:
        module.fail_json(msg=str(exc), changed=False, changes=[], invocation=invocation(params))
    result: dict = {
        "changed": False,
        "changes": [],
        "manifests": {},
        "invocation": invocation(params),
    }
    problems = validate(params["desired"])
    if problems:
        module.fail_json(msg=summary(problems), **result)
    try:
        inbox = remote_dir(params["inbox"], "inbox")
        processed = [remote_dir(p, "processed dir") for p in params["processed_dirs"]]
        wanted = []
        for project in (params["desired"] or {}).get("projects") or []:
            if project.get("ossc"):
                body = build_body(project)
                wanted.append((body, posixpath.join(inbox, remote_name(body))))
    except ManifestError as exc:
        module.fail_json(msg=str(exc), **result)
    if not wanted:
        module.exit_json(**result)
    if paramiko is None:
        module.fail_json(msg=missing_required_lib("paramiko"), **result)
    steps: list[Step] = []
    try:
        client = _connect(params)
    except ConnectionError as exc:
        module.fail_json(msg=str(exc), **result)
    try:
        sftp = client.open_sftp()
        for body, path in wanted:
            name = posixpath.basename(path)
            there = any(_exists(sftp, posixpath.join(d, name)) for d in [inbox, *processed])
            result["manifests"][body["project"]] = {
                "path": path,
                "revision": body["contract_revision"],
                "checksum": checksum(body),
                "end": body["period"]["end"],
                "destruction_deadline": body["destruction_deadline"],
                "uploaded": False,
            }
            if not there:
                change = {
                    "project": body["project"],
                    "op": "handoff",
                    "kind": "ossc",
                    "name": path,
                    "path": path,
                    "before": None,
                    "after": {"revision": body["contract_revision"], "checksum": checksum(body)},
                }
                upload = _upload_op(sftp, params, path, body, result)
                steps.append(Step([change], [upload], path))
        journal = Journal(None if module.check_mode else params["journal"])
        try:
            outcome = execute(steps, journal, module.check_mode, on_failure=STOP)
        finally:
            journal.close()
        result["changes"] = outcome.applied
        if not outcome.ok:
            result["changed"] = bool(outcome.applied)
            module.fail_json(msg=outcome.message("manifests"), **result)
    except (OSError, paramiko.SSHException) as exc:  # reading the inbox
        module.fail_json(msg=_gateway_error(params, exc), **result)
    finally:
        client.close()
    result["changed"] = bool(result["changes"])
    if module._diff:
        result["diff"] = {"before": {}, "after": {c["path"]: c["after"] for c in result["changes"]}}
    module.exit_json(**result)


def main() -> None:
    run_module()


if __name__ == "__main__":
    main()
