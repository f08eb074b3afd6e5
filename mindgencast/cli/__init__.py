"""The ``mindgencast`` command line: thin wrappers around library calls."""
