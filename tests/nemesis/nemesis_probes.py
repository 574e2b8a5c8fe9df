"""Measuring helpers run inside node namespaces: TCP connect checks, UDP loss, throughput.

These observe faults independently of the nemesis's own probe.
"""

from __future__ import annotations

import json
import socket
import subprocess

CONNECT = r"""
import socket, sys
s = socket.socket(); s.settimeout(float(sys.argv[3]))
try:
    s.connect((sys.argv[1], int(sys.argv[2]))); print("ok")
except ConnectionRefusedError:
    print("ok")
except OSError as e:
    print("fail")
"""

UDP_SINK = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2]))); s.settimeout(0.05)
print("ready", flush=True)
got, end = set(), time.monotonic() + float(sys.argv[3])
while time.monotonic() < end:
    try:
        data, _ = s.recvfrom(64)
        if data == b"end":
            break
        got.add(data)
    except socket.timeout:
        pass
print(len(got), flush=True)
"""

UDP_SEND = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dst, n = (sys.argv[1], int(sys.argv[2])), int(sys.argv[3])
for i in range(n):
    s.sendto(str(i).encode(), dst)
    time.sleep(0.0005)
"""


def in_ns(host, argv, timeout=60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", host.extra["netns"], *argv], capture_output=True,
                          text=True, timeout=timeout, check=True, **kw)


def tcp_reachable(src, dst, port=22, timeout=0.3) -> bool:
    out = in_ns(src, ["python3", "-c", CONNECT, dst.address, str(port), str(timeout)]).stdout
    return out.strip() == "ok"


def udp_delivered(src, dst, count, port=9911, window=3.0) -> int:
    """Send `count` numbered UDP datagrams from src to dst; how many arrived.

    The sink stops at an "end" datagram sent from the control node's side
    (the bridge address is never blocked) or after `window` seconds."""
    sink = subprocess.Popen(["ip", "netns", "exec", dst.extra["netns"], "python3", "-c", UDP_SINK,
                             dst.address, str(port), str(window)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout.readline().strip() == "ready"
        in_ns(src, ["python3", "-c", UDP_SEND, dst.address, str(port), str(count)])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"end", (dst.address, port))
        return int(sink.stdout.readline())
    finally:
        sink.kill()
        sink.wait()


TCP_SINK = r"""
import socket, sys
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], int(sys.argv[2]))); srv.listen(1); srv.settimeout(30)
print("ready", flush=True)
conn, _ = srv.accept(); conn.settimeout(30); total = 0
while True:
    chunk = conn.recv(65536)
    if not chunk:
        break
    total += len(chunk)
conn.sendall(str(total).encode()); conn.close()
"""

TCP_SEND = r"""
import json, socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
n, buf, t0 = int(sys.argv[3]), b"x" * 65536, time.monotonic()
left = n
while left > 0:
    s.sendall(buf[:min(left, len(buf))]); left -= min(left, len(buf))
s.shutdown(socket.SHUT_WR)
got = int(s.recv(64)); dt = time.monotonic() - t0
print(json.dumps({"bytes": got, "seconds": dt}))
"""


def tcp_throughput(src, dst, nbytes, port=9912) -> float:
    """Bytes per second of one bulk TCP transfer from src to dst."""
    sink = subprocess.Popen(["ip", "netns", "exec", dst.extra["netns"], "python3", "-c", TCP_SINK,
                             dst.address, str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout.readline().strip() == "ready"
        out = json.loads(in_ns(src, ["python3", "-c", TCP_SEND, dst.address, str(port),
                                     str(nbytes)]).stdout)
        assert out["bytes"] == nbytes
        return nbytes / out["seconds"]
    finally:
        sink.kill()
        sink.wait()
