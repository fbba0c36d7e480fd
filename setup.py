"""The one thing pyproject.toml cannot say: the packages are found under compiler/ *and* the
top-level data folders (templates/, presets/, schemas/) ship inside the package, mapped by
pyproject.toml's package-dir. Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

DATA = ["perfcfg.templates", "perfcfg.presets", "perfcfg.schemas", "perfcfg.schemas.catalogs",
        "perfcfg.schemas.catalogs.metrics"]

setup(packages=find_packages("compiler", include=["perfcfg", "perfcfg.*"]) + DATA,
      package_data={"perfcfg": ["py.typed"]})
