"""Database: the declarative base, engines and transaction-scoped sessions."""
