"""perfcfg benchmarks (not tests): tuned-vs-stock stack throughput and compiler speed and scale.

Run everything with ``python -m bench`` (``--quick`` for a tiny size); results go to
``bench/results/``. Modules: :mod:`.sizes` (run sizes), :mod:`.stats` (medians, percentiles),
:mod:`.machine` (what the numbers were measured on), :mod:`.stackproject` (the project compiled
for this machine), :mod:`.pgrun` (pgbench runs and server memory), :mod:`.fleet`,
:mod:`.database`, :mod:`.cache` (the stack scenarios), :mod:`.compiler` and :mod:`.buildall`
(compiler speed and scale), :mod:`.report` (markdown tables and plots).
"""
