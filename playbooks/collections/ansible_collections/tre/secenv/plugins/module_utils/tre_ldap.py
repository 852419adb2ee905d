"""LDAPS connection to Active Directory: the one place a verified connection is made.

One argument spec for every AD module, a connect() that verifies the DC's certificate and turns
every connection failure into ONE line a sysadmin can act on, and the few searches the modules
need (one paged subtree search, one OR-filter name search). Values put into DNs and filters are
escaped with ldap3's helpers.

connect() is also the connection of the lab (``provisioning.lab.ad``), the tests, Molecule's
verify and the benchmarks: outside Ansible they import it through ``provisioning.ldap``, which
makes this collection importable; ``inventory_params`` maps the inventory's ``tre_ad_*``
variables to these parameters as ``site.yml`` does.
"""

from __future__ import annotations

import ssl
import traceback

try:
    import ldap3
    from ldap3.core import exceptions as lx
    from ldap3.utils.conv import escape_filter_chars

    LDAP3_IMPORT_ERROR = None
except ImportError:  # reported by the module with missing_required_lib("ldap3")
    ldap3 = lx = escape_filter_chars = None  # type: ignore[assignment]
    LDAP3_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.tre.secenv.plugins.module_utils.tre_ad_model import (
    Entry,
    Settings,
    is_under,
)

LDAP_ARGUMENT_SPEC: dict = {
    "server": {"type": "str", "required": True},
    "port": {"type": "int", "default": 636},
    "ca_file": {"type": "path", "required": True},
    "bind_user": {"type": "str", "required": True},
    "bind_password_file": {"type": "path", "required": True, "no_log": False},
    "base_dn": {"type": "str", "required": True},
    "projects_ou": {"type": "str", "required": True},
    "software_ou": {"type": "str", "required": True},
    "upn_suffix": {"type": "str", "required": True},
    "id_min": {"type": "int", "default": 200000},
    "timeout": {"type": "int", "default": 10},
}

#: attributes the reconciler reads of every object under the projects OU
READ_ATTRIBUTES = [
    "objectClass",
    "sAMAccountName",
    "userPrincipalName",
    "displayName",
    "givenName",
    "sn",
    "mail",
    "company",
    "employeeID",
    "description",
    "userAccountControl",
    "accountExpires",
    "uidNumber",
    "gidNumber",
    "member",
    "groupType",
]
OBJECTS_FILTER = "(|(objectClass=user)(objectClass=group)(objectClass=organizationalUnit))"
PAGE_SIZE = 1000
NAME_CHUNK = 200


#: ldap3's exception root, for ``except`` clauses (empty when ldap3 is missing)
LDAP_ERRORS: tuple = (lx.LDAPException,) if lx is not None else ()


class LdapError(Exception):
    """A failure explained in one line (no traceback needed)."""


def settings_of(params: dict) -> Settings:
    return Settings(
        projects_ou=params["projects_ou"],
        software_ou=params["software_ou"],
        upn_suffix=params["upn_suffix"],
    )


def read_secret(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            secret = fh.read().strip()
    except OSError as e:
        raise LdapError(f"cannot read bind password file {path}: {e.strerror}") from None
    if not secret:
        raise LdapError(f"bind password file {path} is empty")
    return secret


#: connection parameter -> inventory variable (docs/inventory.md), as site.yml passes them
INVENTORY_VARIABLES = {
    "server": "tre_ad_server",
    "port": "tre_ad_port",
    "ca_file": "tre_ad_ca_file",
    "bind_user": "tre_ad_bind_user",
    "bind_password_file": "tre_ad_bind_password_file",
    "base_dn": "tre_ad_base_dn",
    "projects_ou": "tre_ad_projects_ou",
    "software_ou": "tre_ad_software_ou",
    "upn_suffix": "tre_ad_upn_suffix",
    "id_min": "tre_ad_id_min",
}


def inventory_params(variables: dict) -> dict:
    """The module's LDAP parameters from an inventory's ``tre_ad_*`` variables (defaults of
    LDAP_ARGUMENT_SPEC for those not set)."""
    params = {}
    for name, spec in LDAP_ARGUMENT_SPEC.items():
        value = variables.get(INVENTORY_VARIABLES.get(name, ""), spec.get("default"))
        params[name] = int(value) if spec["type"] == "int" and value is not None else value
    return params


def connect(
    params: dict,
    password: str,
    *,
    read_only: bool = False,
    schema: bool = False,
    raise_exceptions: bool = True,
):
    """A bound ldap3 Connection over LDAPS with certificate verification, or LdapError.

    ``params``: server, port, ca_file, bind_user, bind_password_file (named in messages) and
    timeout (seconds, default 10). ``schema`` reads the DC's schema at bind so ldap3 returns
    typed values (``attributes``, ``entries``); the module works on raw values and skips that
    round trip. ``raise_exceptions=False`` gives ldap3's boolean results after the bind (the
    bind itself always fails with LdapError).
    """
    where = f"{params['server']}:{params['port']}"
    timeout = params.get("timeout") or 10
    try:
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(params["ca_file"]))
    except lx.LDAPSSLConfigurationError:
        raise LdapError(f"CA file {params['ca_file']} is missing or unreadable") from None
    server = ldap3.Server(
        params["server"],
        port=int(params["port"]),
        use_ssl=True,
        tls=tls,
        get_info=ldap3.SCHEMA if schema else ldap3.NONE,
        connect_timeout=timeout,
    )
    conn = ldap3.Connection(
        server,
        user=params["bind_user"],
        password=password,
        authentication=ldap3.SIMPLE,
        raise_exceptions=True,
        auto_referrals=False,
        receive_timeout=max(60, timeout),
        read_only=read_only,
    )
    try:
        conn.open()
        conn.bind()
    except lx.LDAPInvalidCredentialsResult:
        raise LdapError(
            f"AD at {where} rejected the credentials of {params['bind_user']} "
            f"(invalidCredentials): check {params['bind_password_file']}"
        ) from None
    except (
        lx.LDAPSocketOpenError,
        lx.LDAPCertificateError,
        lx.LDAPSocketReceiveError,
        ssl.SSLError,
        OSError,
    ) as e:
        raise LdapError(_connect_message(where, params["ca_file"], str(e))) from None
    except lx.LDAPOperationResult as e:
        raise LdapError(
            f"AD at {where} refused the bind of {params['bind_user']}: {e.description}"
        ) from None
    conn.raise_exceptions = raise_exceptions
    return conn


def _connect_message(where: str, ca_file: str, text: str) -> str:
    low = text.lower()
    if "doesn't match" in low or "hostname mismatch" in low or "ip address mismatch" in low:
        return (
            f"certificate of AD at {where} does not name that host (hostname mismatch); "
            "use the name or address in its certificate"
        )
    if "certificate" in low or "ssl" in low or "tls" in low:
        return f"certificate of AD at {where} could not be verified with CA file {ca_file}"
    for key, why in (
        ("refused", "connection refused"),
        ("timed out", "timed out"),
        ("no route", "no route to host"),
        ("name or service", "unknown host"),
    ):
        if key in low:
            return f"AD server {where} unreachable ({why})"
    return f"AD server {where} unreachable"


def operation_message(e: Exception, verb: str, dn: str, bind_user: str) -> str:
    """One line for a failed LDAP operation (never includes attribute values)."""
    if lx is not None and isinstance(e, lx.LDAPInsufficientAccessRightsResult):
        return f"insufficient rights: {bind_user} may not {verb} {dn}"
    desc = getattr(e, "description", None) or type(e).__name__
    detail = (getattr(e, "message", "") or "").strip().splitlines()
    tail = f": {detail[0]}" if detail else ""
    return f"LDAP {verb} of {dn} failed ({desc}){tail}"


def _search(conn, base: str, flt: str, attributes: list[str]) -> list[Entry]:
    entries = []
    for item in conn.extend.standard.paged_search(
        base, flt, ldap3.SUBTREE, attributes=attributes, paged_size=PAGE_SIZE, generator=True
    ):
        if item.get("type") != "searchResEntry":
            continue  # referrals to other partitions are not followed
        raw = dict(item["raw_attributes"])
        _complete_ranges(conn, item["dn"], raw)
        entries.append(Entry.from_raw(item["dn"], raw))
    return entries


def _complete_ranges(conn, dn: str, raw: dict) -> None:
    """AD returns big multi-valued attributes in ranges (member;range=0-1499): read the rest."""
    for key in [k for k in raw if ";range=" in k.lower()]:
        name, rng = key.split(";", 1)
        values = list(raw.pop(key))
        end = rng.split("=", 1)[1].split("-", 1)[1]
        while end != "*":
            conn.search(
                dn, "(objectClass=*)", ldap3.BASE, attributes=[f"{name};range={int(end) + 1}-*"]
            )
            got = conn.response[0]["raw_attributes"] if conn.response else {}
            part = next((k for k in got if k.lower().startswith(name.lower() + ";range=")), None)
            if part is None:
                break
            values.extend(got[part])
            end = part.split("=", 1)[1].split("-", 1)[1]
        raw[name] = values


def read_entries(conn, params: dict) -> list[Entry]:
    """Every OU, group and account under the projects OU (and the software OU) in one search."""
    s = settings_of(params)
    bases = [s.projects_ou]
    if not is_under(s.software_ou, s.projects_ou):
        bases.append(s.software_ou)
    entries: list[Entry] = []
    for base in bases:
        try:
            entries.extend(_search(conn, base, OBJECTS_FILTER, READ_ATTRIBUTES))
        except lx.LDAPNoSuchObjectResult:
            if base == s.projects_ou:
                raise LdapError(f"projects OU {base} not found in AD") from None
        except lx.LDAPInsufficientAccessRightsResult:
            raise LdapError(
                f"insufficient rights: {params['bind_user']} may not read {base}"
            ) from None
    return entries


def find_names(conn, base_dn: str, names: list[str]) -> list[Entry]:
    """Objects anywhere under base_dn holding one of these sAMAccountNames (OR filter, chunked)."""
    found: list[Entry] = []
    for i in range(0, len(names), NAME_CHUNK):
        chunk = names[i : i + NAME_CHUNK]
        flt = "(|" + "".join(f"(sAMAccountName={escape_filter_chars(n)})" for n in chunk) + ")"
        found.extend(_search(conn, base_dn, flt, ["sAMAccountName", "objectClass"]))
    return found
