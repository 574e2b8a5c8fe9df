"""LocalRemote, on_all and per-run keys against real subprocesses and files."""

import asyncio
import os
import stat

import asyncssh
import pytest

from harness.control import (LocalRemote, RemoteCommandError, generate_keypair, on_all,
                             public_key_line)


def test_exec_returns_output_and_status():
    res = asyncio.run(LocalRemote().exec(["sh", "-c", "echo out; echo err >&2; exit 0"]))
    assert (res.exit_status, res.stdout, res.stderr) == (0, "out\n", "err\n")


def test_failed_command_raises_with_host_argv_status_and_stderr_tail():
    argv = ["sh", "-c", "echo a >&2; echo b >&2; echo c >&2; echo d >&2; exit 3"]
    with pytest.raises(RemoteCommandError) as info:
        asyncio.run(LocalRemote().exec(argv))
    err = info.value
    assert (err.host, err.argv, err.exit_status) == ("local", tuple(argv), 3)
    assert str(err).endswith("exit status 3: b | c | d")


def test_check_false_returns_the_failure():
    res = asyncio.run(LocalRemote().exec(["sh", "-c", "exit 7"], check=False))
    assert res.exit_status == 7


def test_timeout_kills_and_raises():
    async def go():
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(RemoteCommandError) as info:
            await LocalRemote().exec(["sleep", "30"], timeout=0.3)
        return loop.time() - start, info.value
    elapsed, err = asyncio.run(go())
    assert elapsed < 5 and err.exit_status is None and "timed out after 0.3 s" in str(err)


def test_stdin_and_files(tmp_path):
    remote = LocalRemote()
    res = asyncio.run(remote.exec(["cat"], stdin=b"hello"))
    assert res.stdout == "hello"
    path = str(tmp_path / "f")
    asyncio.run(remote.write_file(path, b"\x00data"))
    assert asyncio.run(remote.read_file(path)) == b"\x00data"
    with pytest.raises(RemoteCommandError, match="No such file"):
        asyncio.run(remote.read_file(str(tmp_path / "missing")))


def test_on_all_keeps_order_and_raises_first_failure_unwrapped():
    async def work(i):
        await asyncio.sleep(0.01 * (3 - i))
        return i * 10
    assert asyncio.run(on_all([0, 1, 2], work)) == [0, 10, 20]

    async def failing(i):
        if i == 1:
            await LocalRemote().exec(["false"])
        return i
    with pytest.raises(RemoteCommandError) as info:
        asyncio.run(on_all([0, 1, 2], failing))
    assert info.value.argv == ("false",)


def test_generate_keypair_is_private_and_loadable(tmp_path):
    key = tmp_path / "run" / "id_ed25519"
    public = generate_keypair(key, "harness-r1")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert public.startswith("ssh-ed25519 ") and public.endswith(" harness-r1")
    loaded = asyncssh.read_private_key(str(key))
    assert public_key_line(loaded.export_public_key().decode()) == public_key_line(public)
    other = generate_keypair(tmp_path / "other", "x")
    assert public_key_line(other) != public_key_line(public)
