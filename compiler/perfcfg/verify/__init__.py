"""Proof against the real daemons: ``intended.py`` says what each daemon should report (the
Plan's values spelled as the files write them); ``run.py`` boots the daemons from the compiled
files (``perfcfg verify``) or reads running ones (``--live``) and compares."""
