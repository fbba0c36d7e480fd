"""JSON Schema of perfcfg's own keys in the ``redis:`` section (``role`` and ACL ``users``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from perfcfg.services.redis.values import ROLES


def own_schema(draft7: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    from perfcfg.model import spec as modeldef  # pydantic: only `perfcfg schema` pays for it

    ruser = draft7(modeldef.RedisUser.model_json_schema())
    return {"role": {"enum": list(ROLES)},
            "users": {"type": "array", "items": {"anyOf": [ruser, {"type": "string"}]}}}
