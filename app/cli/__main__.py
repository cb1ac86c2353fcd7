"""``python -m app.cli``: what ``bullpen up`` starts its components with."""

from app.cli import main

main()
