"""A daemon is a plug-in: a package that registers a ``Service`` in the ``perfcfg.services``
entry-point group (tests/plugins/stubd) is served by validate, build, explain, check, the
manifest, the actions and ``verify --live`` with no file of perfcfg edited.

The package is installed into a scratch folder put on PYTHONPATH for perfcfg run as a
subprocess, so the test venv — and every other test — never sees it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from helpers import ROOT, copy_example

pytestmark = pytest.mark.slow   # a pip install

PLUGIN = ROOT / "tests" / "plugins" / "stubd"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("stubd-site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--target", str(target), str(PLUGIN)],
                   check=True, capture_output=True, text=True)
    return target


def perfcfg(site: Path | None, *args: str, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **(env or {})}
    if site is not None:
        environ["PYTHONPATH"] = str(site)
    return subprocess.run([sys.executable, "-m", "perfcfg", *args], capture_output=True,
                          text=True, env=environ, cwd=ROOT, check=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    proj = copy_example(tmp_path)
    base = proj / "presets" / "base.yaml"
    base.write_text(base.read_text() + "stubd:\n  listen: 127.0.0.1\n")
    return proj


def test_without_the_package_the_section_is_unknown(project: Path) -> None:
    done = perfcfg(None, "validate", "--project", str(project))
    assert done.returncode == 1
    assert "PCF201" in done.stderr and "stubd" in done.stderr


def test_validate_runs_its_rule_with_its_own_code(site: Path, project: Path) -> None:
    assert perfcfg(site, "validate", "--project", str(project)).returncode == 0
    staging = project / "presets" / "staging.yaml"
    staging.write_text(staging.read_text() + "stubd:\n  listen: 0.0.0.0\n")
    done = perfcfg(site, "validate", "--project", str(project), "--format", "json")
    found = [d for d in json.loads(done.stdout)["diagnostics"] if d["code"] == "STB401"]
    assert done.returncode == 1 and found, done.stdout
    assert found[0]["path"] == "stubd.listen" and found[0]["severity"] == "error"
    assert "presets/staging.yaml" in found[0]["file"]


def test_build_writes_its_file_with_the_tuned_value_and_places_it(site: Path,
                                                                   project: Path) -> None:
    done = perfcfg(site, "build", "--env", "staging", "--project", str(project))
    assert done.returncode == 0, done.stderr
    out = project / "generated" / "staging"
    text = (out / "stubd.conf").read_text()
    cpus = 4    # hosts/staging-vm.yaml
    assert f"workers = {cpus}\n" in text and "listen = 127.0.0.1\n" in text
    assert "for environment 'staging'" in text
    manifest = json.loads((out / "manifest.json").read_text())
    placed = manifest["files"]["stubd.conf"]
    assert placed["destination"] == "/etc/stubd/stubd.conf" and placed["owner"] == "root"
    assert placed["service"] == "stubd"
    # the daemons perfcfg ships are served as before
    assert (out / "postgresql.conf").read_bytes() == \
        (ROOT / "examples/botfarm/generated/staging/postgresql.conf").read_bytes()


def test_explain_answers_its_tuned_value(site: Path, project: Path) -> None:
    done = perfcfg(site, "explain", "--env", "staging", "--project", str(project),
                   "stubd.workers", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["value"] == 4 and data["rule"] == "stubd.workers"
    assert data["origin"]["kind"] == "tuned"


def test_check_and_the_actions_follow_a_change(site: Path, project: Path) -> None:
    assert perfcfg(site, "build", "--env", "staging", "--project", str(project)).returncode == 0
    assert perfcfg(site, "check", "--env", "staging", "--project", str(project)).returncode == 0
    staging = project / "presets" / "staging.yaml"
    staging.write_text(staging.read_text() + "stubd:\n  workers: 2\n")
    stale = perfcfg(site, "check", "--env", "staging", "--project", str(project))
    assert stale.returncode == 3 and "stubd.conf" in stale.stdout + stale.stderr
    done = perfcfg(site, "build", "--env", "staging", "--project", str(project),
                   "--format", "json")
    actions = json.loads(done.stdout)["actions"]
    assert actions["stubd"]["action"] == "reload", actions
    assert actions["postgres"]["action"] == "none"


class _StandIn(BaseHTTPRequestHandler):
    """A running stubd's /config, as the package's verifier reads it."""

    config: dict[str, str] = {}

    def do_GET(self) -> None:   # noqa: N802 (http.server's name)
        body = json.dumps(self.config).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.mark.parametrize("running, code", [({"workers": "4", "listen": "127.0.0.1"}, 0),
                                           ({"workers": "9", "listen": "127.0.0.1"}, 1)],
                         ids=["as-compiled", "drifted"])
def test_verify_live_reads_it_through_its_verifier(site: Path, project: Path, running, code
                                                   ) -> None:
    handler = type("Handler", (_StandIn,), {"config": running})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/config"
        done = perfcfg(site, "verify", "--env", "staging", "--project", str(project), "--live",
                       "--format", "json", env={"PERFCFG_STUBD_URL": url})
    finally:
        server.shutdown()
        server.server_close()
    report = json.loads(done.stdout)
    assert done.returncode == code, done.stderr
    assert report["checked"] == ["stubd"] and report["compared"] == 2
    assert [d["setting"] for d in report["differences"]] == ([] if code == 0 else ["workers"])
