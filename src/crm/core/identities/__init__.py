"""Identities: how a record is reached on each messaging channel."""
