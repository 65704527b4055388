"""The Flexie REST API face: contacts, leads, accounts, deals, cases, custom entities,
tasks, notes, lists, users and roles by integer ids, with ``apikey`` keys."""

from crm.api.flexie.app import create_face

__all__ = ["create_face"]
