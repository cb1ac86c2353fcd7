"""Staking: the rules that turn a probability and a price into a bet, with no database and no
books' quotes of their own — Kelly stakes (kelly.py), the serving rule, the gate, price
shopping and the daily exposure cap (pricing.py), and the backtest's simulated bets by the
same rule (simulate.py). Below ``app.ml`` and ``app.bets``, which both use them."""
