"""Workspaces: the tenants. Creating one seeds its roles, owner and standard objects."""
