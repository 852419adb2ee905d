import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioning.naming import (
    SAM_MAX,
    account_names,
    account_sam,
    project_group,
    project_ou,
    seat_group,
    split_name,
)


def test_short_names_are_plain():
    assert account_sam("9001", "jdevries") == "p9001.jdevries"
    assert project_ou("9001") == "P9001"
    assert project_group("9001", "members") == "p9001-members"
    assert seat_group("SAS") == "SW-SAS"


def test_long_ids_are_cut_with_a_hash_and_stay_within_20():
    name = account_sam("12345678", "averyverylongid1")
    assert len(name) <= SAM_MAX
    assert name.startswith("p12345678.av")
    assert "-" in name  # marks a cut name: person ids never contain '-'
    assert account_sam("12345678", "averyverylongid1") == name  # deterministic


def test_cut_names_of_different_ids_differ():
    ids = [f"researcher{n:04d}x" for n in range(300)]
    names = account_names("12345678", ids)
    assert len(set(names.values())) == len(ids)
    assert all(len(n) <= SAM_MAX for n in names.values())


def test_collision_is_disambiguated_deterministically(monkeypatch):
    import provisioning.naming as naming

    monkeypatch.setattr(naming, "_digest", lambda pid, start, n: "abcdefghijkl"[start : start + n])
    names = naming.account_names("12345678", ["samepfxaaaaaaa", "samepfxbbbbbbb"])
    assert names["samepfxaaaaaaa"] == "p12345678.samepf-abc"
    assert names["samepfxbbbbbbb"] == "p12345678.samepf-def"


@pytest.mark.parametrize("bad", ["9001)", "0", "abc", "9001,OU=x", ""])
def test_hostile_project_numbers_are_refused(bad):
    with pytest.raises(ValueError):
        account_sam(bad, "jdevries")


@pytest.mark.parametrize("bad", ["J", "j*", "a)(uid=*", "x,cn=admin", "../etc"])
def test_hostile_person_ids_are_refused(bad):
    with pytest.raises(ValueError):
        account_sam("9001", bad)


def test_split_name_keeps_unicode_and_particles():
    assert split_name("Zoë van 't Hoff") == ("Zoë", "van 't Hoff")
    assert split_name("Madonna") == ("Madonna", "Madonna")


def test_adding_a_person_never_moves_an_issued_name():
    """Issue 9 item 1: the two ids cut to the same name; the first keeps it for life."""
    first = account_names("7607", ["researcherabcaid"])
    assert first == {"researcherabcaid": "p7607.researcher-3bx"}
    both = account_names("7607", ["researcherabcaid", "researcherabcadk"], issued=first)
    assert both["researcherabcaid"] == "p7607.researcher-3bx"
    assert both["researcherabcadk"] not in first.values()


def test_a_name_issued_to_someone_who_left_is_never_reused():
    issued = {"researcherabcaid": "p7607.researcher-3bx"}  # left the project since
    names = account_names("7607", ["researcherabcadk"], issued=issued)
    assert names["researcherabcadk"] != "p7607.researcher-3bx"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.from_regex(r"[a-z][a-z0-9]{13,15}", fullmatch=True), min_size=1, max_size=8),
    st.lists(st.from_regex(r"[a-z][a-z0-9]{13,15}", fullmatch=True), min_size=1, max_size=8),
)
def test_issued_names_survive_any_additions(before, added):
    issued = account_names("7607", before)
    after = account_names("7607", sorted(set(before) | set(added)), issued=issued)
    assert all(after[p] == issued[p] for p in issued)
    assert len(set(after.values())) == len(after)
