"""The ``aiot`` command line (Typer + Rich)."""
