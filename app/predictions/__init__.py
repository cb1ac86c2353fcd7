"""Predictions as a use case: a job's games go features -> model probabilities -> fair line ->
prices and stakes -> results and ledger -> finish, each step a call into its own package."""
