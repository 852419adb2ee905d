"""Shared fixtures: the lab (``lab_inventory``, ``ad_service_connection``)."""

from tests.lab_fixtures import *  # noqa: F401,F403
