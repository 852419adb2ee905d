"""Options every tre.secenv module that talks to Active Directory shares (one verified LDAPS
connection: module_utils/tre_ldap.py)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  server:
    description: DC address or name; must match the DC's certificate.
    type: str
    required: true
  port:
    description: LDAPS port.
    type: int
    default: 636
  ca_file:
    description: CA bundle that verifies the DC's certificate.
    type: path
    required: true
  bind_user:
    description: Service account (UPN) with rights on O(projects_ou) only.
    type: str
    required: true
  bind_password_file:
    description: Root-only file holding the service account's password (read where the module runs).
    type: path
    required: true
  base_dn:
    description: Domain base DN; sAMAccountName clashes are searched below it.
    type: str
    required: true
  projects_ou:
    description: OU holding one OU per project.
    type: str
    required: true
  software_ou:
    description: OU holding the seat groups.
    type: str
    required: true
  upn_suffix:
    description: userPrincipalName suffix of new accounts.
    type: str
    required: true
  id_min:
    description:
      - First uidNumber/gidNumber the allocator hands out.
      - No tre account or group may hold a lower one (the run refuses, naming it).
    type: int
    default: 200000
  timeout:
    description: Connect timeout in seconds.
    type: int
    default: 10
"""
