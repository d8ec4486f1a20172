"""Session fixtures: root filesystems built from Debian packages, and their analyses (run once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotmark.collect.firmware.analysis import Analysis, analyse_root
from iotmark.collect.firmware.fsview import RootView
from rootfs_builders import (DebsUnavailable, build_clean_root, build_twin_root, build_weak_root, fetch_debs,
                             pem_private, rsa_key, unpack_debs)


@pytest.fixture(scope="session")
def debian_packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    try:
        debs = fetch_debs()
    except DebsUnavailable as exc:
        pytest.skip(f"firmware test roots need Debian packages: {exc}")
    return unpack_debs(debs, tmp_path_factory.mktemp("debs"))


@pytest.fixture(scope="session")
def shared_key_pem() -> str:
    return pem_private(rsa_key(2048))


@pytest.fixture(scope="session")
def weak_root(tmp_path_factory: pytest.TempPathFactory, debian_packages: dict[str, Path], shared_key_pem: str) -> Path:
    root = tmp_path_factory.mktemp("weak") / "root"
    build_weak_root(root, debian_packages, shared_key_pem)
    return root


@pytest.fixture(scope="session")
def twin_root(tmp_path_factory: pytest.TempPathFactory, shared_key_pem: str) -> Path:
    root = tmp_path_factory.mktemp("twin") / "root"
    build_twin_root(root, shared_key_pem)
    return root


@pytest.fixture(scope="session")
def clean_root(tmp_path_factory: pytest.TempPathFactory, debian_packages: dict[str, Path]) -> Path:
    root = tmp_path_factory.mktemp("clean") / "root"
    build_clean_root(root, debian_packages)
    return root


@pytest.fixture(scope="session")
def weak(weak_root: Path) -> Analysis:
    return analyse_root(RootView(weak_root), image_name="weak.bin")


@pytest.fixture(scope="session")
def clean(clean_root: Path) -> Analysis:
    return analyse_root(RootView(clean_root), image_name="clean.bin")
