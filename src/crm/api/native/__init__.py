"""The native REST API under ``/api/v1``: the full capability of the core, UUID ids."""
