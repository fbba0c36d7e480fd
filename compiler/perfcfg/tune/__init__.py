"""The tuning toolkit the services' rules are written with: the tuning context and the shape of
a recommendation (:mod:`~perfcfg.tune.context`), helpers (:mod:`~perfcfg.tune.util`), the host's
memory split into parts the services claim (:mod:`~perfcfg.tune.budget`), the kernel settings
made from what they need (:mod:`~perfcfg.tune.limits`) and the invariants no one service owns
(:mod:`~perfcfg.tune.checks`). It imports no service: :mod:`perfcfg.stages.tune` runs every
service's groups and checks in order.

Each group is ``recommend(ctx: TuneContext, prior: Mapping[str, Any]) -> list[Recommendation]``,
where ``prior`` holds the preset's fixed values and every earlier group's recommendations. See
:mod:`perfcfg.tune.context` for the inputs and the canonical units.
"""
