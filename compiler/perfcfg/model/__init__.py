"""perfcfg's own input records (perfcfg.yaml, host profiles, the preset keys that are not
daemon parameters).

``spec.py`` declares them with pydantic; ``scripts/gen_model.py`` compiles that into
``records.py`` (immutable records and the core schemas pydantic built), which is what perfcfg
runs with, re-exported here, so the pre-commit path never imports pydantic. ``rules.py`` holds
the checks both run; ``base.py`` the record class. ``perfcfg schema`` (``cli/schema.py``)
writes the JSON Schemas from them and the services' catalogs.

>>> from perfcfg.model import Targets
>>> Targets().postgres
17
"""

from perfcfg.model.records import *  # noqa: F403
from perfcfg.model.records import __all__  # noqa: F401
