"""Storage: the schema, engines and migrations shared by SQLite and PostgreSQL."""
