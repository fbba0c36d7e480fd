"""The machine perfcfg runs on: ``detect.py`` reads RAM, CPUs, cgroup limits, storage and the
fd limit (``perfcfg host``); ``limits.py`` compares its kernel settings and the running daemons'
limits with what an environment's plan needs (``perfcfg host --env``)."""
