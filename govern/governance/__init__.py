"""Governance: entities, budgets and rate limits, their windows, and the ledger."""
