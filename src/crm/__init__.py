"""A self-hostable, API-first CRM server."""

__version__ = "0.1.0"
