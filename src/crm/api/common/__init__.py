"""Request machinery every face shares: transactions, bodies, limits, JSON responses."""
