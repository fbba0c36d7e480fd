"""The one exception the harness raises, and the shape of a reported mismatch.

A ``DaemonError`` always carries the daemon's own words (the tail of its log), so a
rejected config surfaces the real message rather than a timeout:

>>> e = DaemonError("redis", "exited with code 1", "Bad directive or wrong number of arguments")
>>> "Bad directive" in str(e)
True
"""

from __future__ import annotations

Mismatch = tuple[str, str, str]
"""``(name, intended, effective)`` as the daemon reports the effective value."""


class DaemonError(RuntimeError):
    """A daemon refused its config, exited early, or did not become ready in time."""

    def __init__(self, daemon: str, message: str, log_tail: str = "",
                 returncode: int | None = None) -> None:
        self.daemon = daemon
        self.message = message
        self.log_tail = log_tail
        self.returncode = returncode
        text = f"{daemon}: {message}"
        if log_tail:
            text += "\n--- log tail ---\n" + log_tail
        super().__init__(text)
