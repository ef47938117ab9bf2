"""Errors of the management API beyond the gateway's own tree (`govern.errors`)."""

from __future__ import annotations

from govern.errors import GovernError


class EntityNotFound(GovernError):
    """No customer, team, key, budget or rate limit has the id asked for."""

    status = 404
    type = "not_found_error"


class EntityConflict(GovernError):
    """The id is taken, or the entity is still in use (a customer with teams)."""

    status = 409
    type = "conflict_error"
