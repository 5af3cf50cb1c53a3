"""Blocks and records every network attempt of a Python process (imported at start-up).

``tests/test_no_network.py`` puts this folder first on ``PYTHONPATH`` and names a log
file in ``WSOL_NETWORK_LOG``; every Python process of the run (the tool, DataLoader
workers, W&B's Python side) then refuses DNS lookups of non-local names and connections
to non-loopback addresses, appending one line per attempt to the log. Unix sockets and
loopback (W&B's own service talks to the process over them) stay allowed.
"""

import os
import socket

LOG = os.environ.get("WSOL_NETWORK_LOG")
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "", None}


def _is_local(host) -> bool:
    host = host.decode() if isinstance(host, bytes) else host
    return host in LOCAL_NAMES or str(host).startswith("127.") or host in ("::1", "0.0.0.0")


def _refuse(what: str) -> None:
    with open(LOG, "a") as log:
        log.write(f"{os.getpid()} {what}\n")
    raise OSError(f"network access blocked by the no-network test: {what}")


def _guard_address(sock, address) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
        _refuse(f"connect {address[0]}:{address[1]}")


def _install() -> None:
    connect, connect_ex, getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo
    gethostbyname, gethostbyname_ex = socket.gethostbyname, socket.gethostbyname_ex

    def guarded_connect(self, address):
        _guard_address(self, address)
        return connect(self, address)

    def guarded_connect_ex(self, address):
        _guard_address(self, address)
        return connect_ex(self, address)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if not _is_local(host):
            _refuse(f"getaddrinfo {host}")
        return getaddrinfo(host, *args, **kwargs)

    def guarded_by_name(lookup):
        def guarded(host):
            if not _is_local(host):
                _refuse(f"{lookup.__name__} {host}")
            return lookup(host)

        return guarded

    socket.socket.connect = guarded_connect
    socket.socket.connect_ex = guarded_connect_ex
    socket.getaddrinfo = guarded_getaddrinfo
    socket.gethostbyname = guarded_by_name(gethostbyname)
    socket.gethostbyname_ex = guarded_by_name(gethostbyname_ex)


if LOG:
    _install()
