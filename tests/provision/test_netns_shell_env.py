"""netns nodes run SSH commands without root's shell startup files and with the harness's python3.

The nodes share the host's filesystem; sshd runs each command as `bash -c`,
which sources ~/.bashrc for SSH sessions (on the dev machine: pyenv init,
~250 ms a command). The backend masks those files inside each node's mount
namespace only and sets PATH through sshd's SetEnv.
"""

import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from harness.control import on_all
from harness.provision.netns import node_path

from netns_helpers import needs_root

pytestmark = [pytest.mark.slow, needs_root]

ROOT_HOME = Path(pwd.getpwnam("root").pw_dir)


def _run_everywhere(cluster_fixture, argv):
    _, remotes, loop = cluster_fixture
    return loop.run_until_complete(on_all(remotes, lambda r: r.exec(argv)))


def test_sessions_get_the_harness_python_path_exactly(netns_cluster):
    # Exact equality: a sourced .bashrc that edits PATH (pyenv, cargo) would show here.
    script = 'printf "%s\\n" "$PATH"; command -v python3; python3 -c "import blake3; print(1)"'
    for res in _run_everywhere(netns_cluster, ["sh", "-c", script]):
        path, python3, blake = res.stdout.splitlines()
        assert path == node_path()
        assert path.split(":")[0] == os.path.dirname(sys.executable)
        assert Path(python3).parent == Path(sys.executable).parent
        assert blake == "1"


def test_startup_files_masked_in_nodes_only(netns_cluster):
    present = [f for f in (".bashrc", ".profile") if (ROOT_HOME / f).is_file()]
    if not present:
        pytest.skip(f"{ROOT_HOME} has no .bashrc or .profile to mask")
    before = {f: (ROOT_HOME / f).read_bytes() for f in present}
    sizes = " ".join(f'$(wc -c < {ROOT_HOME / f})' for f in present)
    for res in _run_everywhere(netns_cluster, ["bash", "-c", f"echo {sizes}"]):
        assert res.stdout.split() == ["0"] * len(present), res.stdout
    # The host keeps its files and gains no mount over them.
    assert {f: (ROOT_HOME / f).read_bytes() for f in present} == before
    mounts = subprocess.run(["findmnt", "-rno", "TARGET"], capture_output=True, text=True,
                            check=True).stdout.split()
    assert not [m for m in mounts if m.startswith(str(ROOT_HOME / "."))]


def test_interactive_style_bash_does_not_source_rc(netns_cluster):
    # sshd itself runs the command through the login shell (bash here) with
    # SSH_CLIENT set, the case where bash sources ~/.bashrc for -c commands.
    for res in _run_everywhere(netns_cluster, ["bash", "-c", 'echo "${PYENV_ROOT-unset}"']):
        assert res.stdout.strip() == "unset"
