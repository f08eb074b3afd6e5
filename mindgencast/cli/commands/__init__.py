"""One module per ``mindgencast`` subcommand (discovered by cli.main)."""
