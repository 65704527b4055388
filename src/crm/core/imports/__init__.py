"""CSV imports: uploads kept in the database, read in batches through the intake."""
