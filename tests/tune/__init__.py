"""Tests of perfcfg.tune (a package so their basenames may repeat in other test folders)."""
