"""Every contract value against the limit of the AD attribute it lands in.

AD refuses a value longer than the attribute's ``rangeUpper`` (``invalidAttributeSyntax``)
in the middle of an apply; ``tre contract check`` refuses it first. What lands where is
``provisioning.desired._account`` (and ``naming.split_name``) and the AD module: the name is
``displayName`` and, split, ``givenName`` (first word) and ``sn`` (the rest); the e-mail is
``mail``, the employer ``company``, the person id ``employeeID``, the project title the
project OU's ``description``.

The limits are the schema's ``rangeUpper`` values. Samba ships Microsoft's AD schema
(``/usr/share/samba/setup/ad-schema/AD_DS_Attributes__Windows_Server_2016.ldf``, the same
numbers as ``MS-AD_Schema_2K8_R2_Attributes.txt``): CN=Display-Name 256, CN=Given-Name 64,
CN=Surname 64, CN=E-mail-Addresses 256, CN=Company 64, CN=Description 1024, CN=Employee-ID 16
(all syntax 2.5.5.12, Unicode string); the public table in WatPro/Tutorials
``2020_ActiveDirectory/README.md`` ("Size / Range-Upper") gives the same for displayName,
givenName, sn, mail and employeeID. A Unicode string is measured in UTF-16 code units: the
lab's Samba AD takes 32 emoji in ``sn`` (64 units) and refuses 33 (66 units), though that is
fewer than 64 characters. ``tests/lab/test_ad_limits.py`` shows the lab accepting every
maximum and refusing one more.
"""

from __future__ import annotations

from provisioning.naming import split_name
from provisioning.validation.fields import Checker, join

from .parse import Draft

#: AD attribute → rangeUpper (UTF-16 code units).
AD_LIMITS: dict[str, int] = {
    "displayName": 256,
    "givenName": 64,
    "sn": 64,
    "mail": 256,
    "company": 64,
    "description": 1024,
    "employeeID": 16,
}

#: AD attribute → the rule id of a contract value too long for it.
AD_RULES: dict[str, str] = {
    "displayName": "ad-display-name",
    "givenName": "ad-given-name",
    "sn": "ad-surname",
    "mail": "ad-mail",
    "company": "ad-company",
    "description": "ad-description",
    "employeeID": "ad-employee-id",
}


def ad_length(value: str) -> int:
    """Length as AD counts it: UTF-16 code units."""
    return len(value.encode("utf-16-le")) // 2


def _limit(c: Checker, path: str, value: str, attribute: str, what: str) -> None:
    length, limit = ad_length(value), AD_LIMITS[attribute]
    if length > limit:
        c.add(
            path,
            AD_RULES[attribute],
            f"{what} is {length} characters; AD's {attribute} holds at most {limit}",
        )


def check(d: Draft, c: Checker) -> None:
    """Problems for values that AD would refuse (fields that failed to read are skipped)."""
    if d.title:
        _limit(c, "title", d.title, "description", "the title (the project OU's description)")
    people = [(join("researchers", i), p) for i, p in enumerate(d.researchers) if p]
    people += [(join("observers", i), p) for i, p in enumerate(d.observers) if p]
    for path, p in people:
        if not p.has_account:
            continue  # no AD account: nothing of this person lands in AD
        if p.id:
            _limit(c, join(path, "id"), p.id, "employeeID", "the person id")
        if p.name:
            given, surname = split_name(p.name)
            name = join(path, "name")
            _limit(c, name, p.name, "displayName", "the name")
            _limit(c, name, given, "givenName", "the given name (the first word of the name)")
            _limit(c, name, surname, "sn", "the surname (the name after its first word)")
        if p.email:
            _limit(c, join(path, "email"), p.email, "mail", "the e-mail address")
        if p.employer:
            _limit(c, join(path, "employer"), p.employer, "company", "the employer")
