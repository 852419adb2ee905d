"""Contracts: the YAML format (docs/contracts.md), its validation and the typed model.

Public API::

    from provisioning.contract import check_files, load_contract, load_contracts, Problem
    problems = check_files(["c.yaml"], policy)      # [] when valid; never raises on bad input
    contract = load_contract("c.yaml", policy)      # Contract, or ContractError(problems)
    contracts = load_contracts(["dir/"], policy)    # all or ContractError with ALL problems
    contracts, problems = read_contracts(["dir/"], policy, applied)  # check/plan/apply
"""

from provisioning.validation.fields import Problem

from .load import (
    check_files,
    contract_files,
    expand_paths,
    load_contract,
    load_contracts,
    read_contracts,
)
from .model import (
    Contract,
    ExtraStorage,
    FileSubjectGrant,
    Institution,
    Ossc,
    Person,
    SoftwareSeat,
)

__all__ = [
    "Contract",
    "ExtraStorage",
    "FileSubjectGrant",
    "Institution",
    "Ossc",
    "Person",
    "Problem",
    "SoftwareSeat",
    "check_files",
    "contract_files",
    "expand_paths",
    "load_contract",
    "load_contracts",
    "read_contracts",
]
