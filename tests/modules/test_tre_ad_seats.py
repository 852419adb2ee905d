"""Seat pools over capacity are attributed to the run's projects holding seats (issue 9,
item 16): the module's ``ad_seat_warnings``, shown only in the plan of a project concerned."""

from __future__ import annotations

from tests.modules.test_tre_ad_diff import BASE, FakeAD, S, d, desired, run, software

OTHERS = [f"CN=p7999.r{i},OU=P7999,OU=Projects,{BASE}" for i in range(3)]


def ad_with_full_pool() -> FakeAD:
    ad = FakeAD()
    ad.add(
        f"CN=SW-SAS,{S.software_ou}",
        ["top", "group"],
        {"gidNumber": 250000, "description": "Software seats SW-SAS", "member": OTHERS},
    )
    return ad


def seat_warnings(warnings: list[str]) -> list[dict]:
    return [w.attribution() for w in warnings if isinstance(w, d.SeatWarning)]


def test_a_full_pool_is_not_the_concern_of_a_project_without_seats():
    _, warnings, _ = run(ad_with_full_pool(), desired(software=software([], seats=2)))
    assert seat_warnings(warnings) == [
        {"group": "SW-SAS", "holders": 3, "seats": 2, "projects": []}
    ]


def test_a_full_pool_names_the_run_projects_holding_its_seats():
    want = desired(software=software(["p7001.jan", "p7001.piet"], seats=2))
    _, warnings, _ = run(ad_with_full_pool(), want)
    assert seat_warnings(warnings) == [
        {"group": "SW-SAS", "holders": 5, "seats": 2, "projects": ["7001"]}
    ]
    assert warnings == ["SW-SAS: 5 members for 2 seats (over capacity by 3)"]  # the text
