"""How a password reaches PostgreSQL's (and pgbouncer's) files: a SCRAM-SHA-256 secret whose
salt is derived from the user name and the password (HMAC), so the same inputs always give the
same bytes, and the password itself is never written.

>>> s = scram_sha256("secret", "bot")
>>> s.startswith("SCRAM-SHA-256$4096:") and s == scram_sha256("secret", "bot")
True
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SCRAM_ITERATIONS = 4096  # PostgreSQL's default scram_iterations (PG 16 made it settable)


def scram_salt(password: str, user: str) -> bytes:
    """16 bytes derived from the user and password (HMAC-SHA-256), so builds are reproducible.

    A random salt would change userlist.txt on every build. The price: two environments that
    give one user the same password get the same secret, which shows the reuse to whoever can
    read both files (they are 0600) — use distinct passwords per environment.
    """
    return hmac.new(password.encode(), b"perfcfg-scram-salt:" + user.encode(),
                    hashlib.sha256).digest()[:16]


def scram_sha256(password: str, user: str, iterations: int = SCRAM_ITERATIONS,
                 salt: bytes | None = None) -> str:
    """A PostgreSQL-format SCRAM-SHA-256 secret (RFC 5803), by default with a derived salt."""
    salt = scram_salt(password, user) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"
