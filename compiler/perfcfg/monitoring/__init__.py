"""Monitoring from the same plan as the configs: each daemon's exporter and its metric catalog,
alert rules whose thresholds are the compiled numbers, their ``promtool test rules`` files, a
Grafana dashboard, and the harness that proves them (promtool, a live Prometheus).

The daemon-specific parts live in each service (``services/<daemon>/monitoring.py``: its
exporter, its alerts, its panels); this package is the machinery that loops over them:

- ``alerts``: the ``Alert`` record, the ``monitoring:`` preset section applied to it, and the
  rendered ``alerts.yml`` and rule-test file;
- ``exporters``: the ``Exporter`` record, where its binary is, and a throwaway exporter process;
- ``metrics``: reading an exporter's ``/metrics`` into a catalog, and loading catalogs;
- ``promtool`` and ``prometheus``: ``promtool check/test rules`` and a live Prometheus in a
  scratch dir;
- ``dashboard``: the Grafana dashboard JSON.
"""
