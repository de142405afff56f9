import pytest
from django.core.management import CommandError, call_command
from django.test import Client

pytestmark = pytest.mark.django_db


def test_create_dev_token_prints_a_working_token_on_its_last_line(user, capsys):
    call_command("create_dev_token", "alice")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert Client().get("/api/users/me/cameras", HTTP_AUTHORIZATION=f"token {token}").status_code == 200


def test_create_dev_token_for_unknown_user_fails_clearly(db):
    with pytest.raises(CommandError, match="No user named"):
        call_command("create_dev_token", "ghost")


def test_create_dev_token_can_create_the_user(db, capsys):
    call_command("create_dev_token", "newbie", "--create", "--email", "n@example.com")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert Client().get(f"/api/users/me/cameras?access_token={token}").status_code == 200


def test_create_oauth_app_prints_credentials(db, capsys):
    call_command("create_oauth_app", "Partner", "--redirect-uri", "https://p.example.com/cb")
    out = capsys.readouterr().out
    assert "client_id=" in out and "client_secret=" in out


def test_create_oauth_app_rejects_a_bad_redirect_uri(db):
    with pytest.raises(CommandError):
        call_command("create_oauth_app", "Partner", "--redirect-uri", "not a uri")


def test_admin_action_generates_a_dev_token(user):
    admin = Client()
    from tests.factories import make_user

    boss = make_user("boss")
    boss.is_staff = boss.is_superuser = True
    boss.save()
    admin.force_login(boss)
    response = admin.post(
        "/admin/auth/user/",
        {"action": "generate_dev_token", "_selected_action": [user.pk]},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    token = messages[0].rsplit(" ", 1)[-1]
    assert Client().get("/api/users/me/cameras", HTTP_AUTHORIZATION=f"token {token}").status_code == 200
