"""The named filter banks shipped with convfx, as human-readable TOML data files.

This package holds data only: :mod:`convfx.banks` finds the ``*.toml`` files here
(``importlib.resources``), validates and loads them.  No code belongs here.
"""
