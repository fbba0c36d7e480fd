"""Tuning: pure recommenders that size every daemon from one host profile and one workload.

Each recommender module owns one group of settings and exposes
``recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]``, where
``prior`` holds the preset's fixed values and every earlier group's recommendations;
:func:`perfcfg.tune.engine.recommend_all` runs the groups in dependency order and
:func:`perfcfg.tune.checks.check` proves the cross-service invariants over the result.
See :mod:`perfcfg.tune.context` for the inputs and the canonical units.
"""
