"""Injection-proof encoders: any string is either refused (EncodeError) or written so that the
real daemon reads back exactly that string — and never one directive more.

Two layers per format:
* pure properties: ``decode(encode(x)) == x``, and the encoder refuses exactly the strings the
  format cannot carry (so "refuse everything" cannot pass);
* one real daemon per generated batch: ``BATCH`` generated strings plus every HAZARD go into ONE
  file (many keys, users, databases or programs), the daemon starts once, and every effective
  value is compared — plus sentinels written *before* the payloads (later lines win in all four
  formats, so an injected duplicate would change them) and a count of what the daemon loaded.
"""

from __future__ import annotations

import hashlib
import re
import shlex

import pytest
from conftest import require_daemon
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from perfcfg.core.encoding import EncodeError
from perfcfg.services.pgbouncer import encode as bnc_enc
from perfcfg.services.pgbouncer.daemon import PgBouncer
from perfcfg.services.postgres import encode as pg_enc
from perfcfg.services.postgres.daemon import PostgresServer
from perfcfg.services.redis import encode as redis_enc
from perfcfg.services.redis.daemon import RedisServer
from perfcfg.services.supervisor import encode as sup_enc
from perfcfg.services.supervisor.daemon import Supervisord

# The traps of every format (tests/test_encode.py), always part of every daemon batch.
HAZARDS = [
    "", "'", "''", '"', '""', "\\", "\\\\", "\\n", "\\x41", "\\'", "it's", 'say "hi"',
    "#", "a#b", "a # b", "#start", ";", "a;b", "a ; b", ";start", "%", "50%", "%%", "%(x)s",
    "%(program_name)s", "%(ENV_HOME)s", "${env:HOME}", "${file:x}", "%d", "0777", "08", "007", "-1", "1e3",
    " lead", "trail ", " both ", "a  b", "\t", "é", "日本語", "emoji 🙂",
    "\x00", "\n", "\r", "\x1b[31m", "\x7f",
    "x\nwork_mem = 1MB", "x'\nwork_mem = '1MB", "x\n[pgbouncer]\nmax_client_conn = 1",
    "x\n max_client_conn = 1", "x +@all ~*", '" +@all "', "x\nuser default off",
    "x\n[program:evil]\ncommand=/bin/false", "a=b c=d", "x pool_size=99", "x' pool_size='99",
    ",B=\"y\"", "$HOME", "`id`", "$(id)", "*", "include /etc/passwd", "%include /etc/passwd",
    # Unicode noncharacters: valid UTF-8 that some readers drop (psql's UTF8 output check
    # drops those of planes 1-16 — a harness bug hypothesis found once).
    "\ufffe", "a\U0006fffeb", "\U0010ffff",
]
BATCH = 200          # generated strings per daemon start
DAEMON_RUNS = 3      # daemon starts per format (hypothesis examples of a whole batch)

values = st.one_of(
    st.sampled_from(HAZARDS),
    st.text(max_size=24),
    st.text(st.characters(max_codepoint=0x7f), max_size=24),
    st.lists(st.one_of(st.sampled_from(HAZARDS), st.text(max_size=4)), max_size=4).map("".join),
)
# unique: hypothesis tries the simplest batch first, which would otherwise be 200 × ""
batches = st.lists(values, min_size=BATCH, max_size=BATCH, unique=True)
pure = settings(max_examples=400, deadline=None)
# Each example starts a daemon: no shrinking (every step would be a daemon start); the pure
# properties above shrink the same encoders to a minimal string.
daemon = settings(max_examples=DAEMON_RUNS, deadline=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def control(x: str) -> bool:
    return bool(_CONTROL.search(x))


def encoded(fn, x):
    """``fn(x)``, or None when the encoder refuses it."""
    try:
        return fn(x)
    except EncodeError:
        return None


# -- pure: decode(encode(x)) == x, refusals exactly where the format cannot carry x ---------

PG_STRING_TOKEN = re.compile(r"'([^'\\\n]|\\.|'')*'")   # guc-file.l STRING


@pure
@given(values)
def test_pg_string_round_trips(x):
    text = encoded(pg_enc.pg_string, x)
    assert (text is None) == (control(x) or not x.isascii())
    if text is not None:
        assert PG_STRING_TOKEN.fullmatch(text)
        assert pg_enc.decode_pg_string(text) == x


@pure
@given(values)
def test_pgbouncer_value_round_trips(x):
    text = encoded(bnc_enc.pgbouncer_value, x)
    assert (text is None) == (control(x) or x != x.strip())
    if text is not None:
        assert bnc_enc.decode_pgbouncer_value(text) == x


@pure
@given(values, values)
def test_pgbouncer_connstr_round_trips(x, y):
    pairs = [("dbname", x), ("application_name", y), ("pool_size", "7")]
    text = encoded(bnc_enc.pgbouncer_connstr, pairs)
    assert (text is None) == any(control(v) or not v for v in (x, y))
    if text is not None:
        assert bnc_enc.decode_pgbouncer_connstr(text) == pairs


@pure
@given(values, values)
def test_userlist_line_round_trips(user, secret):
    text = encoded(lambda _: bnc_enc.userlist_line(user, secret), None)
    too_long = len(user.encode()) >= 128 or len(secret.encode()) >= 2048
    assert (text is None) == (control(user) or control(secret) or too_long)
    if text is not None:
        assert bnc_enc.decode_userlist_line(text) == (user, secret)


@pure
@given(values)
def test_redis_arg_round_trips(x):
    text = encoded(redis_enc.redis_arg, x)
    assert (text is None) == control(x)
    if text is not None:
        assert text.isascii()     # non-ASCII travels as \xHH escapes
        assert redis_enc.decode_redis_arg(text) == x


NAME_CHARS = "abcXYZ019_.-"


@pure
@given(st.one_of(values, st.text(NAME_CHARS, min_size=60, max_size=70)))
def test_pgbouncer_name_refuses_what_pgbouncer_refuses(x):
    text = encoded(bnc_enc.pgbouncer_name, x)
    valid = re.fullmatch(r"[A-Za-z0-9_.-]{1,63}", x) is not None and x not in ("pgbouncer", "*")
    assert (text == x) if valid else (text is None)


def not_xml(x: str) -> bool:
    """What XML 1.0 (supervisorctl's XML-RPC) cannot carry, beyond the control characters."""
    return any(c in "\ufffe\uffff" or "\ud800" <= c <= "\udfff" for c in x)


def supervisor_refuses(x: str) -> bool:
    return control(x) or not_xml(x) or x != x.strip() or re.search(r"\s[;#]", x) is not None


@pure
@given(values)
def test_supervisor_value_round_trips(x):
    text = encoded(sup_enc.supervisor_value, x)
    assert (text is None) == supervisor_refuses(x)
    if text is not None:
        assert sup_enc.decode_supervisor_value(text) == x


class Expansions(dict):
    """supervisor's expansions as its ``%`` operator sees them: every name is 7 (a number
    fits %d, %02d and %s alike)."""

    def __missing__(self, key):
        return 7


def expanded(x: str) -> str:
    """What supervisor makes of ``x`` where perfcfg keeps its references live."""
    return sup_enc.SUPERVISOR_REF.sub(lambda m: m.group(0) % Expansions(), x)


@pure
@given(st.lists(values, min_size=1, max_size=4))
def test_supervisor_command_round_trips(argv):
    text = encoded(sup_enc.supervisor_command, argv)
    assert (text is None) == (any(control(a) for a in argv)
                              or supervisor_refuses(shlex.join(argv)))
    if text is not None:
        assert shlex.split(sup_enc.decode_supervisor_value(text, Expansions())) == \
            [expanded(a) for a in argv]


def environment_refuses(v: str) -> bool:
    return control(v) or not_xml(v) or '"' in v or "\\" in v or v[:1] == "'" or v[-1:] == "'" or \
        re.search(r"\s[;#]", v) is not None


@pure
@given(values)
def test_supervisor_environment_round_trips(v):
    """A secret reference arrives resolved (the planner's job): the encoder writes what it
    gets, a ``${env:…}`` as literal text like any other."""
    text = encoded(sup_enc.supervisor_environment, [("A", v), ("B", "sentinel")])
    assert (text is None) == environment_refuses(v)
    if text is not None:
        assert sup_enc.decode_supervisor_environment(text, Expansions()) == \
            [("A", expanded(v)), ("B", "sentinel")]


# -- the real daemons --------------------------------------------------------------------

def accepted(fn, xs: list[str]) -> list[tuple[str, str]]:
    """(value, its encoding) for every value the encoder accepts, HAZARDS first."""
    return [(x, e) for x in HAZARDS + xs if (e := encoded(fn, x)) is not None]


@pytest.mark.daemons
@daemon
@given(batches)
def test_postgres_reads_back_every_string(pg_template, xs):
    """Custom ``perfcfg_fuzz.vN`` placeholders take any string unchecked, so they expose the
    lexer and GUC_scanstr alone; application_name and log_line_prefix are real string GUCs."""
    ok = accepted(pg_enc.pg_string, xs)
    lines = ["work_mem = '7MB'"]                                   # sentinel
    lines += [f"perfcfg_fuzz.v{i} = {e}" for i, (_, e) in enumerate(ok)]
    lines += [f"application_name = {ok[-1][1]}", f"log_line_prefix = {ok[-2][1]}"]
    with PostgresServer("\n".join(lines) + "\n", pg_template) as pg:
        with pg.connect() as conn:
            got = [row[0] for i in range(len(ok)) for row in conn.execute(
                "SELECT current_setting(%s)", (f"perfcfg_fuzz.v{i}",)).fetchall()]
            real = conn.execute("SELECT current_setting('log_line_prefix'), "
                                "current_setting('work_mem')").fetchone()
        loaded = pg.query("SELECT count(*) FROM pg_file_settings "
                          "WHERE sourcefile LIKE '%/postgresql.conf'")
        app = pg.query("SELECT setting FROM pg_settings WHERE name = 'application_name'")
    assert got == [x for x, _ in ok]
    assert real == (ok[-2][0], "7MB")
    assert app == [(ok[-1][0],)]
    assert loaded == [(len(lines),)]


@pytest.fixture(scope="module")
def bouncer_ready():
    require_daemon("pgbouncer")


@pytest.mark.daemons
@daemon
@given(batches)
def test_pgbouncer_reads_back_every_string(bouncer_ready, xs):
    """``[databases]`` connstr values (dbname, user) of BATCH databases, and string keys of
    ``[pgbouncer]``; each entry's ``pool_size=7`` and ``max_client_conn`` are sentinels."""
    dbnames = [(x, e) for x, e in accepted(lambda v: bnc_enc.pgbouncer_connstr([("dbname", v)]), xs)
               if len(x.encode()) < 64]        # MAX_DBNAME in 1.18 (see test below)
    ini_keys = ("server_reset_query", "server_check_query", "auth_query",
                "ignore_startup_parameters")
    strings = accepted(bnc_enc.pgbouncer_value, xs)
    # one start carries only len(ini_keys) of them: two with ini hazards, two generated
    tricky = [p for p in strings if re.search(r"[#;'\"%\\=\[]", p[0])]
    strings = tricky[-2:] + strings[-2:]
    text = "[pgbouncer]\nmax_client_conn = 77\nauth_type = trust\n"
    text += "".join(f"{k} = {e}\n" for k, (_, e) in zip(ini_keys, strings, strict=True))
    text += "[databases]\n" + "".join(
        f"f{i} = host=127.0.0.1 port=1 {e} "
        f"{bnc_enc.pgbouncer_connstr([('user', x[:40] or 'u'), ('pool_size', 7)])}\n"
        for i, (x, e) in enumerate(dbnames))
    with PgBouncer(text) as bnc:
        config = bnc.config()
        shown = {d["name"]: d for d in bnc.databases() if d["name"] != "pgbouncer"}
    assert {k: config[k]["value"] for k in ini_keys} == {k: x for k, (x, _) in zip(ini_keys, strings, strict=True)}
    assert config["max_client_conn"]["value"] == "77"
    assert sorted(shown) == sorted(f"f{i}" for i in range(len(dbnames)))
    assert [(shown[f"f{i}"]["database"], shown[f"f{i}"]["force_user"], shown[f"f{i}"]["pool_size"])
            for i in range(len(dbnames))] == [(x, x[:40] or "u", "7") for x, _ in dbnames]


@pytest.mark.daemons
@daemon
@given(st.lists(st.text(NAME_CHARS, min_size=1, max_size=70), min_size=BATCH, max_size=BATCH,
                unique=True))
def test_pgbouncer_loads_every_database_name_the_encoder_writes(bouncer_ready, names):
    """Found by this test: 64+ character names passed the encoder and stopped pgbouncer."""
    edges = ["n" * size for size in (62, 63, 64, 65, 70)] + ["pgbouncer", "*", "a b", "x#y"]
    ok = [n for n in dict.fromkeys(edges + names) if encoded(bnc_enc.pgbouncer_name, n) is not None]
    text = "[pgbouncer]\nauth_type = trust\n[databases]\n" + "".join(
        f"{bnc_enc.pgbouncer_name(n)} = host=127.0.0.1 port=1 dbname=x\n" for n in ok)
    with PgBouncer(text) as bnc:
        shown = sorted(d["name"] for d in bnc.databases() if d["name"] != "pgbouncer")
    assert shown == sorted(ok)


@pytest.mark.daemons
@daemon
@given(batches)
def test_redis_reads_back_every_string(xs):
    """BATCH ACL users with password ``>x`` (ACL GETUSER shows sha256(x), and any extra rule
    an argument leaked would show too) and the string directives masterauth and masteruser."""
    require_daemon("redis")
    ok = accepted(lambda v: redis_enc.redis_arg(">" + v), xs)
    lines = ["maxmemory-policy allkeys-lru", "user default on nopass ~* &* +@all"]  # sentinels
    lines += [f"user f{i} on {e}" for i, (_, e) in enumerate(ok)]
    strings = accepted(redis_enc.redis_arg, xs)[-2:]
    lines += [f"masterauth {strings[0][1]}", f"masteruser {strings[1][1]}"]
    with RedisServer("\n".join(lines) + "\n") as r, r.client() as c:
        acl = c.acl_list()
        config = c.config_get("*")
    # ACL LIST shows every rule a user got: an argument that leaked a rule would show here
    assert acl == ["user default on nopass sanitize-payload ~* &* +@all"] + sorted(
        f"user f{i} on #{hashlib.sha256(x.encode()).hexdigest()} resetchannels -@all"
        for i, (x, _) in enumerate(ok))
    assert (config["masterauth"], config["masteruser"]) == (strings[0][0], strings[1][0])
    assert config["maxmemory-policy"] == "allkeys-lru"


def proc_argv(pid: int) -> list[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().decode().split("\0")[:-1]


def proc_env(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(item.split("=", 1) for item in f.read().decode().split("\0") if "=" in item)


STAND_IN = ["/bin/bash", "-c", "sleep 1000; exit", "fuzz"]   # keeps its argv while it sleeps


@pytest.mark.daemons
@daemon
@given(batches)
def test_supervisord_runs_every_program_with_its_argv_and_environment(xs):
    """BATCH programs, each ``command`` carrying one string as an argument and ``environment``
    one as FUZZ; each process's /proc argv and environ is what the kernel got from supervisord.
    ``stopwaitsecs = 7`` before them is the sentinel."""
    require_daemon("supervisor")
    # Values that use supervisor's own expansions are written live (their own test is in
    # test_deploy.py); here every value must arrive as it was written.
    literal = [x for x in HAZARDS + xs if not sup_enc.live_references(x)]
    args = [(x, e) for x in literal
            if (e := encoded(lambda v: sup_enc.supervisor_command(STAND_IN + [v]), x))]
    envs = [e for x in literal
            if (e := encoded(lambda v: sup_enc.supervisor_environment([("FUZZ", v)]), x))]
    envs = (envs * (len(args) // len(envs) + 1))[:len(args)]
    text = "[supervisord]\nminfds = 4096\n"
    for i, ((_, command), env) in enumerate(zip(args, envs, strict=True)):
        text += (f"[program:f{i}]\nstopwaitsecs = 7\nstartsecs = 0\nstdout_logfile = NONE\n"
                 f"stderr_logfile = NONE\ncommand = {command}\nenvironment = {env}\n")
    with Supervisord(text, timeout=120) as sup:
        procs = {p["name"]: p for p in sup.process_info()}
        config = {c["name"]: c for c in sup.config_info()}
        argv = {name: proc_argv(p["pid"]) for name, p in procs.items()}
        environ = {name: proc_env(p["pid"]).get("FUZZ") for name, p in procs.items()}
    assert sorted(procs) == sorted(f"f{i}" for i in range(len(args)))
    assert [argv[f"f{i}"][4:] for i in range(len(args))] == [[x] for x, _ in args]
    assert [environ[f"f{i}"] for i in range(len(args))] == [
        dict(sup_enc.decode_supervisor_environment(e))["FUZZ"] for e in envs]
    assert {config[f"f{i}"]["stopwaitsecs"] for i in range(len(args))} == {7}
