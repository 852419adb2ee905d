"""Every rule id a contract problem can carry, with its one-line meaning (docs/contracts.md).

Rule ids are stable: scripts and other tools match on them, messages may be reworded.
"""

from __future__ import annotations

RULES: dict[str, str] = {
    # Reading the file
    "file-missing": "the file does not exist, is a directory or cannot be read",
    "file-symlink": "a symbolic link in a contract directory leads outside it (not read)",
    "yaml-size": "the file is larger than 1 MB",
    "yaml-encoding": "the file is not UTF-8 text (binary, NUL bytes, another encoding)",
    "yaml-syntax": "the YAML cannot be parsed (also: tags such as !!python, several documents)",
    "yaml-alias": "anchors (&a) and aliases (*a) are not allowed",
    "yaml-depth": "nesting deeper than 24 levels",
    "yaml-duplicate-key": "a key appears twice in one mapping",
    # Structure and formats
    "type": "wrong kind of value (text where a list is expected, ...); also an empty file "
    "or a file that is not a contract at all (its content is not shown)",
    "required": "a required key is missing",
    "unknown-key": "a key the format does not know (with a did-you-mean hint)",
    "range": "a number or a list length out of its range (also: a number of over 30 digits)",
    "date-format": "a date not written as YYYY-MM-DD, or not a real calendar date",
    "text": "a name/title empty, with surrounding spaces, control characters or too long",
    "project-number": "project is not 1-8 digits without a leading zero",
    "person-id": "a person id is not a lower-case letter then 1-15 lower-case letters/digits",
    "email": "not a well-formed e-mail address",
    "token-format": "a token serial not like T-0012345",
    "language": "a person's mail language is not nl or en",
    # Limits of the AD attributes the values land in (schema rangeUpper, UTF-16 units)
    "ad-display-name": "the name is at most 256 characters (AD displayName)",
    "ad-given-name": "the first word of the name is at most 64 characters (AD givenName)",
    "ad-surname": "the name after its first word is at most 64 characters (AD sn)",
    "ad-mail": "the e-mail address is at most 256 characters (AD mail)",
    "ad-company": "the employer is at most 64 characters (AD company)",
    "ad-description": "the title is at most 1024 characters (the project OU's description)",
    "ad-employee-id": "the person id is at most 16 characters (AD employeeID)",
    "status": "status is not draft or approved",
    "file-subject-name": "a file subject name is not upper-case letters and digits",
    # Project
    "start-first-of-month": "a project starts on the 1st of a month",
    "end-after-start": "the end is after the start",
    "max-duration": "a project runs at most max_duration_months (36)",
    "end-within-authorization": "a project never runs past the institution authorisation",
    "authorization-max-years": "an institution authorisation is valid at most 3 years: "
    "authorization_until at most 3 years after the project start",
    "retention": "retention_years is one of the policy's choices (5 or 10)",
    "project-unique": "two contracts loaded together have the same project number",
    # People
    "researchers-empty": "a project has at least one researcher",
    "id-unique": "person ids are unique across researchers and observers",
    "token-unique": "a token belongs to one person",
    "token-person": "one token, one person (id, name, e-mail) across all contracts checked "
    "together and the applied state",
    "lead-is-researcher": "the lead is the id of one of the researchers",
    "lead-employed-by-institution": "the lead works for the contracting institution",
    "institution-researcher": "in every month at least one active researcher works for the "
    "contracting institution",
    "nda-required": "everyone (researchers and observers) has a signed NDA date",
    "nda-before-start": "the NDA is signed on or before the person's first day",
    "token-required": "researchers and observers with a read account have a token",
    "awareness-required": "researchers and observers with a read account passed the "
    "awareness questionnaire",
    "awareness-limit": "awareness questionnaire errors below the limit (fewer than 6)",
    "person-from-first-of-month": "a person joins on the 1st of a month",
    "person-min-months": "a researcher stays at least 3 months, or to the project end",
    # Periods (people, file subjects, software, storage, OSSC)
    "period-order": "until is not before from",
    "period-inside-project": "from/until lie inside the project's start..end",
    # File subjects
    "file-subject-unknown": "the subject is in the policy's file_subjects",
    "file-subject-duplicate": "each subject is listed once",
    "file-subject-from-first-of-month": "a subject is granted from the 1st of a month",
    # Software
    "software-unknown": "the package is one of the policy's extra packages",
    "software-calendar-months": "per_month packages (SAS): from a 1st to a month's last day",
    "software-until-end": "until_end packages (MLWin): until is the project end",
    "software-min-months": "minimum packages (MPLUS): at least min_months (3) months",
    "software-overlap": "the same package is not taken twice in overlapping periods",
    # Storage
    "storage-step": "each extra storage entry is exactly one policy step (50GB or 1TB)",
    "storage-from-first-of-month": "extra storage starts on the 1st of a month",
    "storage-min-months": "a step is taken at least its min_months (1TB: 6 months)",
    # OSSC
    "ossc-researchers": "OSSC names at least one researcher",
    "ossc-researcher": "every OSSC person is one of the project's researchers",
    "ossc-duplicate": "every OSSC person is listed once",
    # Suspensions (tijdelijk stilleggen)
    "suspension-whole-months": "a suspension is whole months: from a 1st to a month's last day",
    "suspension-min-months": "a suspension lasts at least suspension_min_months (1) months",
    "suspension-overlap": "suspensions of one project do not overlap",
    # Heavy desktop (gebruik zware desktop)
    "heavy-desktop-days": "a reservation lasts at most heavy_desktop_days (10) days",
    "heavy-desktop-extensions": "at most heavy_desktop_extensions (2) extensions in a row "
    "(an extension: a reservation starting the day after the researcher's previous one)",
    "heavy-desktop-researchers": "at most heavy_desktop_max_researchers (2) researchers of a "
    "project on the heavy desktop on any day",
    "heavy-desktop-researcher": "the reservation names one of the project's researchers",
    "heavy-desktop-period": "the reservation lies inside the researcher's period on the project",
    "heavy-desktop-overlap": "one researcher's reservations do not overlap",
    # Moves and transfers (verhuizen, overzetten bestanden; docs/lifecycle.md)
    "moves-from-self": "moves_from names another project than the contract's own",
    "moves-from-reopens": "a new contract either moves a project here (moves_from) or reopens "
    "one (reopens), not both",
    "moves-from-project": "the project moved from is in the run (its contract applied "
    "together with the new one) or in the state store",
    "moves-from-institution": "a move goes to another institution: the new contract's "
    "institution differs from the old project's",
    "moves-from-ended": "the project moved from has not ended (nor been archived) on the new "
    "contract's start",
    "moves-from-twice": "a project moves once: no other contract moves it too",
    "transfer-self": "a transfer comes from another project",
    "transfer-duplicate": "one transfers entry per source project",
    "transfer-project": "the source project of a transfer is in the run or in the state store",
    "transfer-source-active": "the source project is active on the transfer's from day",
    # Reopen from the archive (heropenen; the rules against the state store are checked
    # before each run: provisioning/reopening.py)
    "reopens-self": "a contract does not reopen its own project number",
}
