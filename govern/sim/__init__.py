"""Simulated upstreams and the deterministic model behind the `sim` provider."""
