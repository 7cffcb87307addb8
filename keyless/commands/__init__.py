"""One module per ``keyless`` command, each declaring its name, its help (with an example), its
arguments and what it runs; :mod:`keyless.cli` only dispatches. Flags shared by several commands
are defined once in :mod:`keyless.commands.flags`, so they mean the same everywhere."""
