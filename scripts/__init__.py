"""Operator tooling for the chatbot appliance, run from a checkout (never on the host)."""
