"""A throwaway supervisord 4.x from the text of a supervisord.conf, its programs really started.

Harness-owned keys are rewritten into the scratch dir: ``[unix_http_server] file`` (added with
``[rpcinterface:supervisor]`` when missing, since readiness is probed over XML-RPC),
``[supervisord] logfile pidfile childlogdir nodaemon``, ``[supervisorctl] serverurl``,
``[inet_http_server] port`` and every program's ``stdout_logfile``/``stderr_logfile`` directory.
``version`` picks the supervisor (4.3, the test dependency, by default; 4.2 runs from
install-daemons.sh's venv). Ready means state RUNNING and every autostart process RUNNING.
Program children call ``setpgrp()``, so teardown kills them by the PIDs recorded before the
stop.

>>> conf = "[supervisord]\\n[program:w]\\ncommand=/bin/sleep 1000\\n"
>>> with Supervisord(conf) as sup:  # doctest: +SKIP
...     sup.mismatches({"program:w.startsecs": "1"})
[]
"""

from __future__ import annotations

import configparser
import os
import subprocess
import xmlrpc.client
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from perfcfg.harness import ini, procs
from perfcfg.harness.binaries import require
from perfcfg.harness.errors import DaemonError, Mismatch
from perfcfg.services.supervisor import programs
from perfcfg.services.supervisor.parse import parse_supervisord_conf, section_kind

if TYPE_CHECKING:
    pass

PROGRAM_KINDS = ("program", "eventlistener", "fcgi-program")
HARNESS_KEYS = frozenset({
    "unix_http_server.file", "supervisord.logfile", "supervisord.pidfile",
    "supervisord.childlogdir", "supervisord.nodaemon", "supervisorctl.serverurl",
    "inet_http_server.port", "stdout_logfile", "stderr_logfile"})
_RPC_SECTION = ("[rpcinterface:supervisor]\n"
                "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n")
# getAllConfigInfo() spells a few keys differently from the file
_RPC_NAMES = {"priority": "process_prio"}
_FAILED_STATES = ("FATAL", "EXITED", "UNKNOWN")


class Supervisord(procs.Handle):
    """A running supervisord whose programs reached RUNNING."""

    daemon = "supervisord"

    def __init__(self, conf_text: str, timeout: float = 30, version: str | None = None) -> None:
        self.version = version
        self.python = ""
        self.conf_text = conf_text
        self.timeout = timeout
        self.dir = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self._auth = _credentials(conf_text)

    @property
    def socket(self) -> str:
        return f"{self.dir}/supervisor.sock"

    @property
    def conf(self) -> str:
        return f"{self.dir}/supervisord.conf"

    @property
    def log(self) -> str:
        return f"{self.dir}/supervisord.log"

    def effective_conf(self) -> str:
        """The conf text as started, with harness-owned paths in the scratch dir."""
        text = self.conf_text
        names = ini.sections(text)
        if "unix_http_server" not in names:
            text = text.rstrip("\n") + "\n[unix_http_server]\n"
        if not any(section_kind(s) == "rpcinterface" for s in names):
            text = text.rstrip("\n") + "\n" + _RPC_SECTION
        text = ini.set_keys(text, "unix_http_server", {"file": self.socket}, key_case=False)
        text = ini.set_keys(text, "supervisord", {
            "logfile": self.log, "pidfile": f"{self.dir}/supervisord.pid",
            "childlogdir": f"{self.dir}/children", "nodaemon": "true"}, key_case=False)
        if "supervisorctl" in names:
            text = ini.set_keys(text, "supervisorctl", {"serverurl": f"unix://{self.socket}"},
                                key_case=False)
        if "inet_http_server" in names:
            text = ini.set_keys(text, "inet_http_server",
                                {"port": f"127.0.0.1:{procs.free_port()}"}, key_case=False)
        return ini.map_values(text, lambda s: section_kind(s) in PROGRAM_KINDS, self._log_path)

    def _log_path(self, section: str, key: str, value: str) -> str | None:
        if key.lower() not in ("stdout_logfile", "stderr_logfile"):
            return None
        if value.strip().upper() in ("AUTO", "NONE", "SYSLOG", "") or value.startswith("/dev/"):
            return None   # AUTO lands in childlogdir, which is already ours
        return f"{self.dir}/logs/{os.path.basename(value.strip())}"

    # -- lifecycle ----------------------------------------------------------------------------
    def _launch(self) -> None:
        self.python = require(programs.PROGRAM, self.version)
        self.dir = procs.scratch_dir("pf-sup-")
        os.mkdir(f"{self.dir}/children")
        os.mkdir(f"{self.dir}/logs")
        self._start_until_port_free()

    def _start_until_port_free(self) -> None:
        # Only [inet_http_server] binds a TCP port (rewritten to a fresh free one each try).
        for attempt in range(procs.PORT_RETRIES):
            procs.write_file(self.conf, self.effective_conf())
            stderr = f"{self.dir}/stderr.log"
            open(stderr, "w").close()
            self.proc = procs.spawn([self.python, "-m", "supervisor.supervisord", "-n",
                                     "-c", self.conf], stderr, cwd=self.dir)
            try:
                procs.wait_ready(self.daemon, self.proc, self._probe, [stderr, self.log],
                                 self.timeout)
                return
            except DaemonError as err:
                if "already listening" not in err.log_tail or attempt == procs.PORT_RETRIES - 1:
                    raise

    def restart(self) -> None:
        """Stop supervisord and its programs and start it again from the same file in the same
        scratch dir (what ``systemctl restart supervisor`` does to the logs it leaves)."""
        assert self.proc is not None
        procs.stop_tree(self.proc, self.stop_signal)
        self._start_until_port_free()

    def rpc(self) -> Any:
        """A fresh XML-RPC proxy, to use in a ``with`` block (which closes its socket): a
        transport that failed once stays broken (CannotSendRequest)."""
        from supervisor.xmlrpc import SupervisorTransport

        user, password = self._auth
        transport = SupervisorTransport(user, password, f"unix://{self.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def _probe(self) -> bool | None:
        try:
            with self.rpc() as proxy:
                if proxy.supervisor.getState()["statename"] != "RUNNING":
                    return None
                autostart = {f"{c['group']}:{c['name']}": c["autostart"]
                             for c in proxy.supervisor.getAllConfigInfo()}
                states = proxy.supervisor.getAllProcessInfo()
        except (OSError, xmlrpc.client.Fault, xmlrpc.client.ProtocolError):
            return None
        for p in states:
            if p["statename"] in _FAILED_STATES and autostart.get(f"{p['group']}:{p['name']}"):
                raise DaemonError(self.daemon, f"{p['group']}:{p['name']} is {p['statename']}: "
                                  f"{p.get('description', '')}", self._program_tail(p))
        waiting = [p for p in states if p["statename"] != "RUNNING"
                   and autostart.get(f"{p['group']}:{p['name']}")]
        return None if waiting else True

    def _program_tail(self, p: dict[str, Any]) -> str:
        logs = [p.get("stderr_logfile") or "", p.get("stdout_logfile") or "", self.log]
        return procs.tail(*[x for x in logs if x])




    # -- reading --------------------------------------------------------------------------------
    def config_info(self) -> list[dict[str, Any]]:
        """``getAllConfigInfo()``: the effective per-process settings."""
        with self.rpc() as proxy:
            return list(proxy.supervisor.getAllConfigInfo())

    def process_info(self) -> list[dict[str, Any]]:
        with self.rpc() as proxy:
            return list(proxy.supervisor.getAllProcessInfo())

    def mismatches(self, intended: Mapping[str, str]) -> list[Mismatch]:
        """Compare ``{"program:NAME.key" | "supervisord.key": value}`` with what runs.

        Program keys are read from ``getAllConfigInfo()`` for every process of the program;
        keys RPC does not expose (autorestart, stopasgroup, numprocs, environment, …) and
        ``[supervisord]`` keys come from supervisor's own parse of the started file.
        """
        parsed = parse_supervisord_conf(self.effective_conf(), host_independent=False)
        out, _unread = supervisor_mismatches(self.config_info(), intended, parsed.options,
                                             HARNESS_KEYS)
        return out


def supervisor_mismatches(info: list[dict[str, Any]], intended: Mapping[str, str],
                          options: Any = None, skip: frozenset[str] = frozenset()
                          ) -> tuple[list[Mismatch], list[str]]:
    """Intended ``{"program:NAME.key" | "supervisord.key": value}`` that differ from what runs,
    and the paths that could not be read. ``info`` is ``getAllConfigInfo()``; ``options`` is
    supervisor's own parse of the file it runs, when there is one (the harness): a running
    deployment reached over XML-RPC tells only what ``getAllConfigInfo()`` and the process
    list say, so ``[supervisord]`` keys and a program's ``autorestart``, ``stopasgroup``,
    ``environment``… are unread there."""
    out: list[Mismatch] = []
    unread: list[str] = []
    for path, value in sorted(intended.items()):
        section, _, key = path.rpartition(".")
        if path in skip or key in skip:
            continue
        found = _effective(section, key, info, options)
        if found is None:
            unread.append(path)
            continue
        if key in LOG_KEYS and "%(" in value:
            # each process has its own log: the template expanded once per process
            group = section.split(":", 1)[1]
            wanted = _expanded(value, group, len(found))
            if sorted(map(str, found)) != wanted:
                out.append((path, ", ".join(wanted), ", ".join(sorted(map(str, found)))))
            continue
        for effective in found:
            if not _same(section, key, value, effective):
                out.append((path, *_shown_pair(key, value, effective)))
                break
    return out, unread


def _shown_pair(key: str, intended: str, effective: Any) -> tuple[str, str]:
    """The row's two values. A program's environment is the plan's variables on top of
    supervisord's own (every variable of the shell that started it): only the plan's that
    differ are shown, each with what the process has."""
    if key != "environment" or not isinstance(effective, dict):
        return intended, _show(effective)
    from supervisor import datatypes as dt

    try:
        wanted = dt.dict_of_key_value_pairs(intended)
    except ValueError:
        return intended, "(not comparable)"
    differ = sorted(k for k, v in wanted.items() if effective.get(k) != v)
    return (",".join(f'{k}="{wanted[k]}"' for k in differ),
            ",".join(f'{k}="{effective[k]}"' if k in effective else f"{k} (unset)"
                     for k in differ))


# How long verify --live waits for a running supervisord to connect and to answer.
LIVE_TIMEOUT = 10.0


def _timed(transport: Any, seconds: float) -> Any:
    """``transport`` whose connections give up after ``seconds`` (supervisor's own never do:
    a socket that accepts and stays silent would hold verify --live forever)."""
    make = transport._get_connection

    def get_connection() -> Any:
        conn = make()
        conn.timeout = seconds
        connect = conn.connect

        def timed_connect() -> None:
            connect()
            conn.sock.settimeout(seconds)
        conn.connect = timed_connect
        return conn
    transport._get_connection = get_connection
    return transport


LOG_KEYS = ("stdout_logfile", "stderr_logfile")


def _expanded(template: str, group: str, numprocs: int) -> list[str]:
    """A program's log path for each of its processes, as supervisor expands it: twice (a
    literal ``%`` is written ``%%%%``).

    >>> _expanded("/l/w_%(process_num)02d.log", "w", 2)
    ['/l/w_00.log', '/l/w_01.log']
    """
    out = []
    for n in range(numprocs):
        names = {"program_name": group, "group_name": group, "process_num": n,
                 "numprocs": numprocs}
        out.append((template % names) % names)
    return sorted(out)


def live_rpc(url: str, timeout: float = LIVE_TIMEOUT) -> Any:
    """An XML-RPC proxy for a running supervisord (``verify --live``): ``unix:///path`` or
    ``http://user:password@host:port``, as supervisorctl's ``serverurl``. The credentials go
    to supervisor's own transport, never into the proxy's address, so no error repeats them;
    a connection or an answer that takes longer than ``timeout`` seconds is an error."""
    from urllib.parse import urlsplit

    from supervisor.xmlrpc import SupervisorTransport

    parts = urlsplit(url)
    if parts.scheme == "unix":
        transport = SupervisorTransport(None, None, f"unix://{parts.path}")
    elif parts.scheme in ("http", "https"):
        netloc = parts.hostname or "127.0.0.1"
        if parts.port is not None:
            netloc = f"{netloc}:{parts.port}"
        transport = SupervisorTransport(parts.username, parts.password,
                                        f"{parts.scheme}://{netloc}")
    else:
        raise ValueError(f"{parts.scheme or 'no'} scheme: expected unix:///path/to/socket or "
                         "http://user:password@host:port")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=_timed(transport, timeout))


def live_state(url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``getAllConfigInfo()`` and ``getAllProcessInfo()`` of a running supervisord; an answer
    of another shape (not supervisord's) is a ValueError that says so."""
    with live_rpc(url) as proxy:
        info = proxy.supervisor.getAllConfigInfo()
        processes = proxy.supervisor.getAllProcessInfo()
    for name, answer in (("getAllConfigInfo", info), ("getAllProcessInfo", processes)):
        if not isinstance(answer, list) or not all(isinstance(x, dict) for x in answer):
            raise ValueError(f"not a supervisord: {name}() answered {type(answer).__name__}, "
                             "not a list of processes")
    return list(info), list(processes)


def _credentials(text: str) -> tuple[str | None, str | None]:
    """The unix_http_server login, which the harness's RPC client must present."""
    parser = configparser.RawConfigParser(strict=False, inline_comment_prefixes=(";", "#"))
    try:
        parser.read_string(text)
        user = parser.get("unix_http_server", "username", fallback=None)
        password = parser.get("unix_http_server", "password", fallback=None)
    except configparser.Error:
        return None, None
    return user, password


def _effective(section: str, key: str, info: list[dict[str, Any]], options: Any
               ) -> list[Any] | None:
    """The values every process of ``section`` runs with (None: not readable)."""
    if section == "supervisord":
        if options is None:
            return None
        return [getattr(options, key, getattr(options.configroot.supervisord, key, "<unknown>"))]
    group = section.split(":", 1)[1] if ":" in section else section
    procs_of = [proc for proc in info if proc["group"] == group]
    if key == "numprocs":
        return [len(procs_of)]
    rpc_key = _RPC_NAMES.get(key, key)
    if options is None and procs_of and rpc_key not in procs_of[0]:
        return None
    values: list[Any] = []
    configs = {} if options is None else {
        p.name: p for g in options.process_group_configs for p in g.process_configs
        if g.name == group}
    for proc in procs_of:
        if rpc_key in proc:
            values.append(proc[rpc_key])
        elif proc["name"] in configs:
            values.append(getattr(configs[proc["name"]], key, "<unknown>"))
    if key == "numprocs_start":
        return values[:1]
    return values or ["<no process>"]


def _same(section: str, key: str, intended: str, effective: Any) -> bool:
    """Convert ``intended`` with supervisor's own datatype for that key, then compare."""
    from supervisor import datatypes as dt

    converters = {
        "autostart": dt.boolean, "redirect_stderr": dt.boolean, "stopasgroup": dt.boolean,
        "killasgroup": dt.boolean, "nodaemon": dt.boolean, "autorestart": dt.auto_restart,
        "stopsignal": dt.signal_number, "exitcodes": dt.list_of_exitcodes,
        "umask": dt.octal_type, "loglevel": dt.logging_level,
        "logfile_maxbytes": dt.byte_size, "stdout_logfile_maxbytes": dt.byte_size,
        "stderr_logfile_maxbytes": dt.byte_size, "stdout_capture_maxbytes": dt.byte_size,
        "stderr_capture_maxbytes": dt.byte_size, "environment": dt.dict_of_key_value_pairs,
    }
    try:
        if key in converters:
            want: Any = converters[key](intended)
        elif isinstance(effective, bool):
            want = dt.boolean(intended)
        elif isinstance(effective, int):
            want = int(intended)
        else:
            want = intended
    except ValueError:
        return False
    if key == "environment" and isinstance(effective, dict):
        return all(effective.get(k) == v for k, v in want.items())
    if isinstance(effective, (list, tuple)):
        return list(want) == list(effective)
    return bool(want == effective)


def _show(effective: Any) -> str:
    if isinstance(effective, bool):
        return "true" if effective else "false"
    if isinstance(effective, type):
        return effective.__name__
    return str(effective)
