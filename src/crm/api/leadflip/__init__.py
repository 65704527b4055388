"""The Leadflip lead intake API, served at ``/leadflip/api``."""

from crm.api.leadflip.app import create_face

__all__ = ["create_face"]
