"""How a password reaches Redis's ACL file: ``#`` and the hex SHA-256, never the password.

>>> password_hash("abc")[:9]
'#ba7816bf'
"""

from __future__ import annotations

import hashlib


def password_hash(password: str) -> str:
    """Redis ACL's hashed password form: ``#`` + hex SHA-256."""
    return "#" + hashlib.sha256(password.encode()).hexdigest()
