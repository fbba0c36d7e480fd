"""The edge: the only room that reads ``sys.argv`` and the environment, prints, and exits.

``main.py`` declares every command and option once (the ``COMMANDS`` table) and builds both
parsers from it; ``commands.py`` has one function per command that calls the pipeline and
returns an exit code; ``reporters.py`` turns diagnostics into text, json, github or sarif;
``explain.py`` answers ``perfcfg explain``; ``init.py`` scaffolds ``perfcfg init``'s project;
``schema.py`` writes the JSON Schemas; ``calculator.py`` is ``perfcfg tune``.
"""
