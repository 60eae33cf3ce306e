"""Running the studio: bind the port, serve the app with uvicorn, open the browser, stop on Ctrl-C.

The socket is bound here, before uvicorn starts, so that a port in use is one
clear error (:class:`PortInUseError`) rather than a log line from the server, and
so that ``port=0`` can pick a free port whose address is then printed.  uvicorn
runs with its access log off and only warnings logged: a request the page makes
is not news.  Ctrl-C (and SIGTERM) stop the server gracefully; :func:`serve` then
raises ``KeyboardInterrupt``, which the command line turns into exit code 130 as
for every convfx command.

This module must not compute anything: it only starts and stops the server.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import signal
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import ConvfxError, ParameterError
from . import DEFAULT_HOST, DEFAULT_PORT
from .app import LOOPBACK_HOSTS, create_app
from .workbench import Workbench

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "PortInUseError", "is_loopback", "exposure_warning", "bind", "page_url", "serve"]

#: Seconds that Ctrl-C waits for requests under way before the server stops anyway.
GRACEFUL_SECONDS = 2


class PortInUseError(ConvfxError):
    """Another program listens on the port asked for (a usage error, exit code 2)."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (``127.0.0.0/8``, ``::1``, ``localhost``).

    Parameters
    ----------
    host : str

    Returns
    -------
    bool
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(address: str, port: int) -> str | None:
    """The warning printed when the studio listens beyond this machine (None on the loopback address).

    Parameters
    ----------
    address : str
        The address listened on.
    port : int

    Returns
    -------
    str or None
    """
    if is_loopback(address):
        return None
    return (
        f"convfx: warning: listening on {address} port {port}: anyone who can reach this machine there "
        "can use the studio and see its photos (only the loopback address 127.0.0.1 is private)"
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port`` 0: a free port chosen by the system).

    Parameters
    ----------
    host : str
    port : int

    Returns
    -------
    socket.socket
        Bound and listening.

    Raises
    ------
    PortInUseError
        Something else listens there.
    ParameterError
        ``host`` is not an address of this machine, or the port cannot be used.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ParameterError(f"port: expected an int in 0..65535, found {port!r}")
    host = host.strip("[]")
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as error:
        raise ParameterError(f"host: cannot find the address {host!r} ({error})") from None
    listener = socket.socket(family, kind, protocol)
    try:
        if os.name != "nt":  # on Windows this option lets two servers share a port
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(128)
    except OSError as error:
        listener.close()
        if error.errno == errno.EADDRINUSE:
            raise PortInUseError(
                f"port: {port} on {host} is in use by another program; choose another with --port (0 picks a free one)"
            ) from None
        raise ParameterError(f"host: cannot listen on {host} port {port}: {error.strerror or error}") from None
    listener.set_inheritable(False)
    return listener


def page_url(listener: socket.socket) -> str:
    """The page's address for a bound socket (a wildcard address is shown as the loopback one).

    Parameters
    ----------
    listener : socket.socket

    Returns
    -------
    str
    """
    host, port = listener.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def _open_browser(url: str) -> bool:
    """Open ``url`` in the default graphical browser; False when there is none to open.

    Without a display on Linux, :mod:`webbrowser` would start a text browser in
    this terminal, on top of the server's output: the URL is enough there.
    """
    if sys.platform.startswith("linux") and not any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")):
        return False
    try:
        return webbrowser.open(url, new=2)
    except webbrowser.Error:
        return False


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Make SIGTERM raise KeyboardInterrupt, like Ctrl-C, while the server runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve(
    workbench: Workbench,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    open_browser: bool = True,
    announce: Callable[[str], None] = print,
    warn: Callable[[str], None] = lambda text: print(text, file=sys.stderr),
    listener: socket.socket | None = None,
) -> None:
    """Serve the studio until Ctrl-C or SIGTERM.

    Parameters
    ----------
    workbench : Workbench
        What the page works on; the caller closes it afterwards.
    host : str, optional
        The address to listen on; anything but the loopback address makes the
        studio reachable from other machines, and ``warn`` says so.
    port : int, optional
        0 picks a free port.
    open_browser : bool, optional
        Open the page in the default browser once the server is up.
    announce, warn : callable, optional
        Print a line to the user (the address), and a warning.
    listener : socket, optional
        An already bound socket to serve on (``host`` and ``port`` are then ignored).

    Raises
    ------
    KeyboardInterrupt
        When Ctrl-C or SIGTERM stopped the server (after it stopped cleanly).
    PortInUseError, ParameterError
        The port is taken, or the address is not this machine's.
    """
    import uvicorn

    listener = listener if listener is not None else bind(host, port)
    url = page_url(listener)
    address, bound_port = listener.getsockname()[:2]
    loopback = is_loopback(address)
    warning = exposure_warning(address, bound_port)
    if warning:
        warn(warning)
    # The Host header names the address the browser was given (IPv6 in brackets).
    own_name = f"[{address}]" if ":" in address else address
    app = create_app(workbench, allowed_hosts=(*LOOPBACK_HOSTS, own_name) if loopback else None)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
    )
    server = uvicorn.Server(config)
    announce(f"convfx studio: {url}  (Ctrl-C stops it)")

    def open_when_up() -> None:
        for _ in range(200):  # 10 s at most
            if server.started or server.should_exit:
                break
            time.sleep(0.05)
        if server.started and not _open_browser(url):
            announce("convfx studio: open the address above in your browser")

    if open_browser:
        threading.Thread(target=open_when_up, name="convfx-studio-browser", daemon=True).start()
    stopped_by_signal = False
    try:
        with _sigterm_interrupts():
            server.run(sockets=[listener])
        # uvicorn releases the signal it caught once it has shut down; versions that
        # do not simply return, with should_exit set.
        stopped_by_signal = server.should_exit
    finally:
        listener.close()
    if stopped_by_signal:
        raise KeyboardInterrupt
