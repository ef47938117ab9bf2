"""What every config section shares."""

STRICT = {"kw_only": True, "forbid_unknown_fields": True}
"""Struct options of every config section: keyword-only, unknown fields are errors."""
