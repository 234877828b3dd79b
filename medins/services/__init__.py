"""Service functions of the core app (business logic; each one a transaction)."""
