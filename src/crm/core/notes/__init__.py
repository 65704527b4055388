"""Notes on any record: calls, meetings, plain notes."""
