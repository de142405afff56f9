from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.services import oauth_application_create


class Command(BaseCommand):
    help = "Register a partner OAuth application; prints its client_id and client_secret (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--redirect-uri",
            action="append",
            required=True,
            dest="redirect_uris",
            help="an allowed redirect URI (repeat for several; the first is the default)",
        )
        parser.add_argument("--owner", help="username of the partner account that owns it")

    def handle(self, *args, name: str, redirect_uris: list[str], owner: str | None, **options):
        owner_user = None
        if owner:
            owner_user = get_user_model().objects.filter(username=owner).first()
            if owner_user is None:
                raise CommandError(f"No user named {owner!r}")
        from django.core.exceptions import ValidationError

        try:
            app, secret = oauth_application_create(name=name, redirect_uris=redirect_uris, owner=owner_user)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"client_id={app.client_id}")
        self.stdout.write(f"client_secret={secret}")
