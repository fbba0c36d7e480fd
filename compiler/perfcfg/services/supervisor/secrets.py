"""How a password reaches supervisord.conf: its HTTP servers take ``{SHA}`` and the hex SHA-1
(tests/test_security_daemons.py); supervisorctl users give the password with -p.

>>> password_hash("abc")
'{SHA}a9993e364706816aba3e25717850c26c9cd0d89d'
>>> hashed("supervisor.inet_http_server.password", "abc")[:5], hashed("supervisor.x", "abc")
('{SHA}', 'abc')
"""

from __future__ import annotations

import hashlib


def password_hash(password: str) -> str:
    """supervisord's hashed password form for its HTTP servers: ``{SHA}`` + hex SHA-1."""
    return "{SHA}" + hashlib.sha1(password.encode()).hexdigest()


def hashed(path: str, value: str) -> str:
    """What supervisord.conf writes for a resolved secret at setting ``path``."""
    return password_hash(value) if path.endswith("_http_server.password") else value
