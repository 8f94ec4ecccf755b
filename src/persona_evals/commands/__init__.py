"""Subcommands of the `persona-evals` console command (one module each, see `persona_evals.cli`)."""
