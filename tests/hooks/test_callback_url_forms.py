"""Callback URLs as the sender sees them: what httpx cannot send is refused at creation and, if
stored anyway, is a recorded failure that holds up nobody else; internationalised names go to
their IDNA 2008 domain; a malformed rotate body is a 400."""

from __future__ import annotations

import socket

import pytest

from cameras.models import Camera
from hooks import services
from hooks.models import Delivery, Hook
from tests.factories import make_user
from tests.hooks.conftest import make_event

pytestmark = pytest.mark.django_db

URL = "/api/users/me/hooks"
REFERENCE = {
    "callback_url": "http://example.com/camio/package-delivery",
    "type": "label_hit",
    "query": "front gate people approaching mailbox",
}


def _fire(event) -> list[Delivery]:
    """Write the event's deliveries (without the after-commit tasks: the test runs them itself)."""
    return services.hooks_fire_for_event(event=event)


@pytest.fixture
def fake_dns(monkeypatch):
    """A resolver that behaves like CPython's (a str host is IDNA-2003 encoded before the lookup)
    and knows only the names in ``table`` (all other lookups: the real resolver, for literals)."""
    real = socket.getaddrinfo
    table: dict[str, str] = {}
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        name = host.encode("idna").decode("ascii") if isinstance(host, str) and not host.isascii() else host
        if isinstance(name, str) and not _is_literal(name):
            asked.append(name)
            if name.lower() not in table:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return real(table[name.lower()], port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table, asked


def _is_literal(name: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in name else socket.AF_INET, name)
        return True
    except OSError:
        return False


# --- callback URLs the sender cannot send are refused ---------------------------------------------


@pytest.mark.parametrize(
    "callback_url",
    [
        "http://example.com/camio/\x01delivery",  # a C0 control character in the path
        "http://example.com/camio/\x7fdelivery",  # DEL
    ],
)
def test_callback_url_with_a_control_character_is_refused(api, callback_url):
    # httpx (the sender's URL parser) refuses these URLs outright, so no delivery could ever go out.
    response = api.post(URL, {**REFERENCE, "callback_url": callback_url}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["message"].startswith("callback_url")
    assert not Hook.objects.exists()


# --- one unsendable URL holds up nothing batched with it (other accounts' included) ---------------


def test_an_unsendable_callback_url_does_not_wedge_other_accounts_deliveries(loopback_ok, receiver, user, camera):
    # Bob (another account) has a good hook on the same receiver (host and port), fired first.
    bob = make_user("bob-review")
    bob_camera = Camera.objects.create(owner=bob, name="front")
    Hook.objects.create(owner=bob, callback_url=receiver.url("/bob"), query="people")
    (bob_delivery,) = _fire(make_event(bob_camera, ["people"]))
    # Alice's hook has a control character in its path (stored before the API and admin refused it).
    Hook.objects.create(owner=user, callback_url=receiver.url("/hook\x01x"), query="people")
    (alice_delivery,) = _fire(make_event(camera, ["people"]))

    # Bob's task claims his delivery with Alice's (same receiver) and sends them in one batch.
    services.delivery_attempt(delivery_id=bob_delivery.pk)

    assert len(receiver.requests) == 1  # Bob's was sent...
    bob_delivery.refresh_from_db()
    alice_delivery.refresh_from_db()
    # ...and recorded (not left "sending", to be sent again once the lease runs out).
    assert bob_delivery.state == Delivery.State.SUCCEEDED
    assert alice_delivery.state in (Delivery.State.FAILED, Delivery.State.RETRYING)
    assert alice_delivery.last_error


def test_a_host_httpx_cannot_encode_is_a_recorded_failure_not_a_crash(loopback_ok, receiver, fake_dns, user, camera):
    # "\u2603.example" is valid IDNA 2003 (xn--n3h.example, which resolves) but not IDNA 2008, which
    # httpx and the API now use: such a hook can only have been stored before.
    table, _asked = fake_dns
    table["xn--n3h.example"] = "127.0.0.1"
    Hook.objects.create(owner=user, callback_url=f"http://\u2603.example:{receiver.port}/hook", query="people")
    (row,) = _fire(make_event(camera, ["people"]))
    services.delivery_attempt(delivery_id=row.pk)
    row.refresh_from_db()
    assert row.state in (Delivery.State.FAILED, Delivery.State.RETRYING)  # not stuck in "sending"
    assert row.last_error


# --- internationalised host names go to their IDNA 2008 domain ------------------------------------


def test_idn_callback_host_is_resolved_and_sent_as_its_idna2008_a_label(loopback_ok, receiver, fake_dns, user, camera):
    # "straße.example" is the A-label xn--strae-oqa.example (IDNA 2008, UTS #46, browsers, httpx);
    # Python's "idna" codec (IDNA 2003) maps it to the different domain strasse.example.
    table, asked = fake_dns
    table["xn--strae-oqa.example"] = "127.0.0.1"
    Hook.objects.create(owner=user, callback_url=f"http://stra\u00dfe.example:{receiver.port}/hook", query="people")
    (row,) = _fire(make_event(camera, ["people"]))
    services.delivery_attempt(delivery_id=row.pk)
    assert "strasse.example" not in asked, asked  # IDNA 2003's spelling: another domain
    assert [r.headers["host"] for r in receiver.requests] == [f"xn--strae-oqa.example:{receiver.port}"]
    row.refresh_from_db()
    assert row.state == Delivery.State.SUCCEEDED


# --- a malformed body of secret/rotate is a 400 ---------------------------------------------------


@pytest.mark.parametrize("body", ['"{\\"keep_previous_seconds\\": 0}"', '[{"keep_previous_seconds": 0}]', "0"])
def test_rotate_with_a_non_object_body_is_a_400_not_a_default_rotation(api, body):
    hook = api.post(URL, REFERENCE, format="json").json()
    response = api.generic("POST", f"{URL}/{hook['id']}/secret/rotate", body, content_type="application/json")
    # Not a rotation with the default overlap, which would keep a leaked secret signing for a day.
    assert response.status_code == 400, response.content
    assert response.json()["message"]
    assert Hook.objects.get(pk=hook["id"]).secret == hook["secret"]


def test_an_idn_the_api_refuses_under_idna_2008_is_a_400(api):
    response = api.post(URL, {**REFERENCE, "callback_url": "http://\u2603.example/hook"}, format="json")
    assert response.status_code == 400
    assert "IDNA" in response.json()["message"]


def test_rotate_with_no_body_keeps_the_default_overlap(api):
    hook = api.post(URL, REFERENCE, format="json").json()
    response = api.post(f"{URL}/{hook['id']}/secret/rotate")
    assert response.status_code == 200
    row = Hook.objects.get(pk=hook["id"])
    assert row.previous_secret == hook["secret"] and row.previous_secret_until is not None
