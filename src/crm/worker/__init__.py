"""Background work: the loop that ``crm worker`` runs, and the server runs in-process in
the embedded default."""
