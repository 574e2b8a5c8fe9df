"""Which apt mirror the offline base image is debootstrapped from (pure parsing, fast)."""

from __future__ import annotations

import pytest

from harness._apt_source import AptSource, apt_source
from harness.errors import HarnessError
from harness.provision.docker import DockerBackend


@pytest.fixture
def etc(tmp_path):
    """(etc/apt dir, debootstrap scripts dir knowing bookworm and trixie)."""
    apt, scripts = tmp_path / "apt", tmp_path / "scripts"
    (apt / "sources.list.d").mkdir(parents=True)
    scripts.mkdir()
    for suite in ("bookworm", "trixie"):
        (scripts / suite).write_text("")
    return apt, scripts


def test_deb822_sources_skip_updates_security_and_foreign_suites(etc):
    apt, scripts = etc
    (apt / "sources.list.d" / "a-node.sources").write_text(
        "Types: deb\nURIs: https://deb.example.org/node_20.x\nSuites: nodistro\n"
        "Components: main\n")
    (apt / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\n# a comment\nURIs: http://mirror.test/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n\n"
        "Types: deb-src deb\nURIs: http://mirror.test/debian\nSuites: bookworm-updates bookworm\n"
        "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
    assert apt_source(apt, scripts) == AptSource(
        "http://mirror.test/debian", "bookworm", "/usr/share/keyrings/debian-archive-keyring.gpg")


def test_one_line_sources_list_with_options_and_disabled_files(etc):
    apt, scripts = etc
    (apt / "sources.list").write_text(
        "# deb http://commented.test/debian bookworm main\n"
        "deb-src http://src.test/debian trixie main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://mirror.test/debian trixie main contrib\n")
    (apt / "sources.list.d" / "old.list.disabled").write_text(
        "deb http://disabled.test/debian bookworm main\n")
    assert apt_source(apt, scripts) == AptSource("http://mirror.test/debian", "trixie", "/k.gpg")


def test_enabled_no_stanza_is_ignored(etc):
    apt, scripts = etc
    (apt / "sources.list.d" / "x.sources").write_text(
        "Enabled: no\nTypes: deb\nURIs: http://off.test/debian\nSuites: bookworm\n\n"
        "Types: deb\nURIs: http://on.test/debian\nSuites: bookworm\n")
    assert apt_source(apt, scripts).uri == "http://on.test/debian"


def test_no_usable_source_names_the_files_read(etc):
    apt, scripts = etc
    (apt / "sources.list").write_text("deb http://mirror.test/ubuntu jammy main\n")
    with pytest.raises(HarnessError, match=r"sources\.list.*--base IMAGE"):
        apt_source(apt, scripts)


def test_unavailable_reason_names_a_missing_engine(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    reason = DockerBackend.unavailable_reason()
    assert reason is not None and "Docker engine" in reason
