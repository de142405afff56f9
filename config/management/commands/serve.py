"""Run the whole service on one machine: migrations, then web (gunicorn), a Celery worker and beat,
and the FTP gateway when ``FTP_GATEWAY_PORT`` is set."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

STOP_GRACE_SECONDS = 15
_WILDCARD_BINDS = ("", "0.0.0.0", "::")  # noqa: S104 (names, not a bind)


def public_base_url(host: str, port: int) -> str:
    """The service's address for links when ``PUBLIC_BASE_URL`` is not set: where serve listens
    (``localhost`` for the loopback and every-interface binds)."""
    if host in ("", "127.0.0.1", "0.0.0.0", "::", "::1"):  # noqa: S104 (names, not a bind)
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def gunicorn_version() -> tuple[int, ...]:
    import gunicorn

    return tuple(gunicorn.version_info)


class Command(BaseCommand):
    help = (
        "Apply migrations, then run the web server, a Celery worker and Celery beat together. "
        "Ctrl-C (or SIGTERM) stops them all; if one exits, the others are stopped too."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
        parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")

    def handle(self, *args, host: str, port: int, web_workers: int, concurrency: int, **options):
        # What the service writes under the data folder (the database, recordings, zips, the
        # broker's messages) is its alone, as the secret key file is: not for other local users.
        os.umask(0o077)
        call_command("migrate", interactive=False, verbosity=1)
        call_command("collectstatic", interactive=False, verbosity=0)
        python = sys.executable
        env = dict(os.environ, DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"))
        if "PUBLIC_BASE_URL" not in os.environ:
            # The links the service hands out (camera commands, download links, emails) point
            # where this serve listens, not at the default port.
            env["PUBLIC_BASE_URL"] = public_base_url(host, port)
        if "ALLOWED_HOSTS" not in os.environ:
            env["ALLOWED_HOSTS"] = ",".join(allowed_hosts(host, list(settings.ALLOWED_HOSTS)))
        children = {
            "web": [
                python,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"{host}:{port}",
                "--workers",
                str(web_workers),
                "--threads",
                "4",
                "--graceful-timeout",
                "10",
                # gunicorn 27's control socket would sit in ~/.gunicorn, outside the data folder,
                # shared by every serve on the machine; nothing here uses it.
                *(["--no-control-socket"] if gunicorn_version() >= (27,) else []),
            ],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                str(concurrency),
                # Analysis and the rest (celery); hooks' firing, motion alerts and deliveries (hooks).
                "--queues",
                "celery,hooks",
            ],
            "beat": [
                python,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                settings.CELERY_BEAT_SCHEDULE_FILENAME,
            ],
        }
        if settings.FTP_GATEWAY_PORT > 0:
            # Cameras that can only push by FTP; it listens where camera commands point them.
            children["ftp"] = [
                python,
                str(settings.BASE_DIR / "manage.py"),
                "ftp_gateway",
                "--host",
                host,
                "--port",
                str(settings.FTP_GATEWAY_PORT),
            ]
        procs: dict[str, subprocess.Popen] = {}
        stopping = False

        def request_stop(signum, frame):
            nonlocal stopping
            stopping = True

        # A closed terminal or a dropped SSH session (SIGHUP) stops everything as Ctrl-C does.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, request_stop)
        for name, argv in children.items():
            # A session of its own: Ctrl-C reaches only us, and we stop the children in order.
            # Should we die without stopping them (SIGKILL), the kernel stops them.
            procs[name] = subprocess.Popen(argv, env=env, start_new_session=True, preexec_fn=_die_with_parent)
            self._say(f"started {name} (pid {procs[name].pid})")
        self._say(
            self.style.SUCCESS(
                f"camhub is serving on {env.get('PUBLIC_BASE_URL', public_base_url(host, port))}/ — Ctrl-C stops it"
            )
        )

        exit_code = 0
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    self._say(f"{name} exited with code {proc.returncode}; stopping the others", error=True)
                    exit_code = proc.returncode or 1
                    stopping = True
                    break
            else:
                time.sleep(0.5)
        self._stop_all(procs)
        if exit_code:
            sys.exit(exit_code)

    def _stop_all(self, procs: dict[str, subprocess.Popen]) -> None:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, proc in procs.items():
            remaining = max(0.1, deadline - time.monotonic())
            try:
                proc.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                self._say(f"{name} did not stop in time; killing it", error=True)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self._say("stopped")

    def _say(self, message: str, *, error: bool = False) -> None:
        """Write a line, if anyone can still read it: after a hang-up the terminal is gone, and
        failing to say so must not keep us from stopping the children."""
        try:
            (self.stderr if error else self.stdout).write(message)
        except OSError:
            pass


def allowed_hosts(host: str, configured: list[str]) -> list[str]:
    """The embedded default's host names plus the address serve listens on: the links it hands
    out name that address, so requests to it must not be refused as a foreign host. Listening on
    every interface answers any host name (cameras on the LAN use the machine's own address);
    set ALLOWED_HOSTS to narrow it."""
    if host in _WILDCARD_BINDS:
        return ["*"]
    name = f"[{host}]" if ":" in host else host
    return configured if name in configured else [*configured, name]


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when serve dies (Linux; elsewhere nothing)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
