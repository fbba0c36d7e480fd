"""Tuning: pure recommenders that size every daemon from one host profile and one workload.

Each recommender module owns one group of settings and exposes
``recommend(ctx: TuneContext) -> list[Recommendation]``; see :mod:`perfcfg.tune.context`.
"""
