"""``python -m convfx`` runs the command line."""

from .cli import main

main()
