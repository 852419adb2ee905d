"""Shared fixtures: the lab (``lab_inventory``, ``ad_service_connection``) and the state
store on both back ends (``state_url``, ``empty_url``) or PostgreSQL only (``pg_state_url``)."""

from tests.lab_fixtures import *  # noqa: F401,F403
from tests.state_fixtures import *  # noqa: F401,F403
