from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.services import dev_token_create


class Command(BaseCommand):
    help = "Print a developer OAuth access token for USERNAME on the last line (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--create", action="store_true", help="create the user if missing")
        parser.add_argument("--email", default="", help="email for a user made with --create")

    def handle(self, *args, username: str, create: bool, email: str, **options):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            if not create:
                raise CommandError(f"No user named {username!r} (pass --create to make one)")
            user = User.objects.create_user(username=username, email=email or "")
            self.stderr.write(f"Created user {username}")
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive")
        self.stdout.write(dev_token_create(user=user))
