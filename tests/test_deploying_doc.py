"""docs/deploying.md is a transcript of a real deployment; the parts of it that perfcfg alone
produces (no daemon, no host) are checked here against what perfcfg prints today."""
import json
import re

from helpers import ROOT, copy_example, group, run

DOC = ROOT / "docs" / "deploying.md"


def _block_after(text: str, marker: str) -> str:
    """The body of the first fenced block after ``marker``."""
    return group(re.search(r"```\w*\n(.*?)```", text.split(marker, 1)[1], re.S))


def _to_deploy(printed: str) -> list[str]:
    return [line for line in printed.splitlines() if line.startswith("perfcfg: to deploy:")]


def test_the_worked_examples_change_prints_what_the_document_shows(tmp_path):
    """Step 8's "to deploy" lines (two matcher processes become four, on top of the document's
    rehearsal overlay) are what `build` prints now: a tuning or action change that moves them
    must update the worked example with it."""
    text = DOC.read_text()
    project = copy_example(tmp_path, with_generated=False)
    overlay = project / "rehearsal.yaml"
    overlay.write_text(_block_after(text, "`rehearsal.yaml`, next to"))
    out = tmp_path / "out"
    build = ("build", "--env", "development", "--project", str(project), "--overlay", str(overlay),
             "--secrets", "placeholder", "--out", str(out))
    first = run(*build)
    assert first.code == 0, first.err
    before = overlay.read_text()
    after = before.replace("command: /srv/botfarm/rehearse.sh matcher\n",
                           "command: /srv/botfarm/rehearse.sh matcher\n      processes: 4\n", 1)
    assert after != before
    overlay.write_text(after)
    changed = run(*build)
    assert changed.code == 0, changed.err
    manifest = json.loads((out / "manifest.json").read_text())["files"]
    excerpt = _block_after(text, "`manifest.json` says where each file goes")
    shown_keys = {"pgbouncer.ini": set(manifest["pgbouncer.ini"]) - {"sha256"},
                  "roles.sql": {"apply", "daemon", "destination"}}
    for name, keys in shown_keys.items():
        for key in keys:
            line = f"  {json.dumps(key)}: {json.dumps(manifest[name][key])}"
            assert line in excerpt, (name, line, excerpt)
    shown = _to_deploy(_block_after(text, "In `rehearsal.yaml`, `processes: 4`"))
    assert len(shown) == 4 and _to_deploy(changed.err) == shown, changed.err


def test_the_document_is_linked_from_the_readmes_deploying_section():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Deploying\n", 1)[1].split("\n## ", 1)[0]
    assert "(docs/deploying.md)" in section
