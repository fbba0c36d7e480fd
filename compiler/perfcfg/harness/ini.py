"""Line-based INI rewriting that keeps every line the harness does not own.

pgbouncer resets a section when its header repeats, and supervisor merges duplicate
sections, so overrides are written *inside* the existing section (or a new section is
appended once), never as a second header.

>>> print(set_keys("[a]\\nx = 1\\n; note\\n[b]\\ny=2\\n", "a", {"x": "9", "z": "3"}), end="")
[a]
x = 9
; note
z = 3
[b]
y=2
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

_SECTION = re.compile(r"^\s*\[([^\]]*)\]\s*$")
_KEY = re.compile(r"^(\s*)([^=:;#\s][^=:]*?)\s*([=:])\s*(.*?)\s*$")


def sections(text: str) -> list[str]:
    return [m.group(1) for line in text.splitlines() if (m := _SECTION.match(line))]


def map_values(text: str, section_matches: Callable[[str], bool],
               rewrite: Callable[[str, str, str], str | None]) -> str:
    """Replace values in matching sections: ``rewrite(section, key, value)`` → new value or None."""
    out, current = [], None
    for line in text.splitlines(keepends=True):
        m = _SECTION.match(line)
        if m:
            current = m.group(1)
        elif current is not None and section_matches(current):
            k = _KEY.match(line.rstrip("\r\n"))
            if k and not line.lstrip().startswith((";", "#")):
                new = rewrite(current, k.group(2).strip(), k.group(4))
                if new is not None:
                    line = f"{k.group(1)}{k.group(2).strip()} {k.group(3)} {new}\n"
        out.append(line)
    return "".join(out)


def set_keys(text: str, section: str, values: Mapping[str, str], key_case: bool = True) -> str:
    """Set ``values`` in ``[section]``: replace existing lines, append missing keys at its end."""
    norm = (lambda k: k) if key_case else str.lower
    wanted = {norm(k): (k, v) for k, v in values.items()}
    seen: set[str] = set()

    def rewrite(_sec: str, key: str, _value: str) -> str | None:
        if norm(key) in wanted:
            seen.add(norm(key))
            return wanted[norm(key)][1]
        return None

    text = map_values(text, lambda s: s == section, rewrite)
    missing = [wanted[k] for k in wanted if k not in seen]
    if not missing:
        return text
    extra = "".join(f"{k} = {v}\n" for k, v in missing)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    # insert after the last line of the (last) occurrence of the section
    end = None
    current = None
    for i, line in enumerate(lines):
        m = _SECTION.match(line)
        if m:
            current = m.group(1)
        elif current == section:
            end = i + 1
        if m and current == section:
            end = i + 1
    if end is None:
        return "".join(lines) + f"[{section}]\n" + extra
    # keep trailing blank/comment lines of the section after our keys: insert after last key line
    while end > 0 and lines[end - 1].strip() == "" and not _SECTION.match(lines[end - 1]):
        end -= 1
    return "".join(lines[:end] + [extra] + lines[end:])
