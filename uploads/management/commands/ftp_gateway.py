"""``manage.py ftp_gateway --port P``: the FTP gateway for cameras that can only push by FTP."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from uploads.ftp import ftp_server


class Command(BaseCommand):
    help = "Run the FTP gateway: log in with an Upload Token as user name, store files under /<camera name>/."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="0.0.0.0", help="address to listen on")  # noqa: S104
        parser.add_argument("--port", type=int, default=settings.FTP_GATEWAY_PORT or 2121)
        parser.add_argument(
            "--passive-ports", default=settings.FTP_PASSIVE_PORTS, help="range for data connections, e.g. 30000-30009"
        )
        parser.add_argument(
            "--masquerade-address",
            default=settings.FTP_MASQUERADE_ADDRESS,
            help="IPv4 address passive replies name (behind NAT or in a container: the public one)",
        )

    def handle(self, *args, host: str, port: int, passive_ports: str, masquerade_address: str, **options):
        try:
            server = ftp_server(host=host, port=port, passive=passive_ports, masquerade=masquerade_address)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot start the FTP gateway on {host}:{port}: {exc}") from exc
        bound = server.socket.getsockname()
        self.stdout.write(f"FTP gateway listening on {bound[0]}:{bound[1]}", ending="\n")
        self.stdout.flush()
        try:
            server.serve_forever(handle_exit=True)
        finally:
            server.close_all()
