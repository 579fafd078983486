"""Check a port can be bound before starting anything on it, so a busy port is one clear error
(and, for moto, not a start() that waits forever for a server thread that died)."""

import socket

from tally_contract.errors import TallyError


class PortBusy(TallyError):
    pass


def ensure_free(host: str, port: int, what: str) -> None:
    if port == 0:
        return  # the OS picks a free one
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortBusy(f"{what} cannot listen on {host}:{port}: {exc.strerror}") from None
