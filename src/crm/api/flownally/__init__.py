"""The Flownally contacts API, served at ``/flownally/v1``."""

from crm.api.flownally.app import create_face

__all__ = ["create_face"]
