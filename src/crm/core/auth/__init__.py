"""Principals (users and API keys), roles, permissions and scopes."""
