"""The workspace event log: every change appends here in its own transaction."""

from crm.core.events.service import append_event, changes_since

__all__ = ["append_event", "changes_since"]
