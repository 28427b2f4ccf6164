"""API clients: scoped bearer tokens, created by an admin, shown once, stored hashed."""
