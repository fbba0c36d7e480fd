import pytest

from helpers import copy_example, write


@pytest.fixture
def project(tmp_path):
    """A small valid project; tests overwrite its files to make cases."""
    root = tmp_path / "proj"
    write(root / "perfcfg.yaml", "project: demo\nsecrets: {mode: placeholder}\nenvironments:\n"
          "  staging: {preset: presets/staging.yaml, host: hosts/vm.yaml}\n")
    write(root / "hosts/vm.yaml", "memory: 16GiB\ncpus: 4\nstorage: ssd\nopen_files: 65536\n")
    write(root / "presets/base.yaml", """\
databases:
  - name: app
    user: app
users:
  - name: app
    password: ${env:APP_DB_PASSWORD}
redis:
  users:
    - name: app
      password: ${env:APP_REDIS_PASSWORD}
      keys: ["app:*"]
      commands: [-@all, +@read, +@write, +@connection]
workload:
  programs:
    - name: worker
      command: python -m app.worker
      processes: 4
      memory: 100MiB
""")
    write(root / "presets/staging.yaml", "extends: [builtin:staging, base.yaml]\n")
    return root


@pytest.fixture
def example(tmp_path):
    return copy_example(tmp_path)
