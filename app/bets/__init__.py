"""Bets: price shopping at the best book, the ledger, settlement, bankroll and live performance.

Domain code only (no Flask, no Celery): ``tasks/bets.py`` and ``app/api/bets.py`` call into it.
"""
