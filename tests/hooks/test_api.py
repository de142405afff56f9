"""The hooks API: the reference's shapes, our additions, validation, and who may touch what."""

import json

import pytest

from hooks.models import Delivery, Hook
from tests.hooks.conftest import make_event

pytestmark = pytest.mark.django_db

URL = "/api/users/me/hooks"
REFERENCE = {
    "callback_url": "http://example.com/camio/package-delivery",
    "type": "label_hit",
    "query": "front gate people approaching mailbox",
}


def test_reference_curl_creates_a_hook(api):
    # The reference's curl: JSON body, Authorization: token …, POST /api/users/me/hooks.
    response = api.post(URL, REFERENCE, format="json")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("id", "type", "callback_url", "query")} == {"id": body["id"], **REFERENCE}
    assert body["id"].isdigit()
    assert body["secret"].startswith("whsec_")
    assert body["active"] is True


@pytest.mark.parametrize(
    "data",
    [
        # Registering Callbacks, then Create a Hook: the -d bodies byte for byte.
        '{"callback_url": "http://example.com/camio/package-delivery", "type": "label_hit", '
        '"query": "front people approaching mailbox"}',
        '{"callback_url": "http://example.com/camio/package-delivery", "type": "label_hit", '
        '"query": "front gate people approaching mailbox"}',
    ],
)
def test_reference_curl_verbatim(client, token, data):
    # curl -H "Content-Type: application/json" -H "Authorization: token …" -d '…' -X POST …/users/me/hooks
    response = client.post(URL, data=data, content_type="application/json", HTTP_AUTHORIZATION=f"token {token}")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    body = response.json()
    assert {k: body[k] for k in ("type", "callback_url", "query")} == json.loads(data)
    assert Hook.objects.get(pk=body["id"]).query == body["query"]


def test_list_get_and_delete(api):
    first = api.post(URL, REFERENCE, format="json").json()
    second = api.post(
        URL + "/",
        {"callback_url": "https://example.com/camio/dog-walker", "type": "label_hit", "query": "kitchen dogbed leash"},
        format="json",
    ).json()
    listed = api.get(URL).json()
    assert [h["id"] for h in listed] == [first["id"], second["id"]]
    assert all("secret" not in h for h in listed)  # the secret is shown once
    got = api.get(f"{URL}/{first['id']}").json()
    assert got["query"] == REFERENCE["query"] and "secret" not in got
    assert api.delete(f"{URL}/{first['id']}").status_code == 204
    assert api.get(f"{URL}/{first['id']}").status_code == 404
    assert [h["id"] for h in api.get(URL).json()] == [second["id"]]


def test_camera_name_is_kept(api):
    body = api.post(URL, {**REFERENCE, "camera_name": "front"}, format="json").json()
    assert body["camera_name"] == "front"


@pytest.mark.parametrize(
    ("change", "message_part"),
    [
        ({"type": "motion"}, "type"),
        ({"type": None}, "type"),
        ({"callback_url": "ftp://example.com/x"}, "callback_url"),
        ({"callback_url": "/relative/path"}, "callback_url"),
        ({"callback_url": "http://"}, "callback_url"),
        ({"callback_url": "http://127.0.0.1:8000/x"}, "public address"),
        ({"callback_url": "http://169.254.169.254/latest/meta-data"}, "public address"),
        ({"callback_url": "http://localhost/x"}, "public address"),
        ({"callback_url": 12}, "callback_url"),
        ({"query": ""}, "query"),
        ({"query": "the a"}, "query"),
        ({"query": "x" * 501}, "query"),
        ({"cooldown_seconds": -1}, "cooldown_seconds"),
    ],
)
def test_bad_input_is_a_400_with_a_message(api, change, message_part):
    body = {**REFERENCE, **change}
    body = {k: v for k, v in body.items() if v is not None}
    response = api.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert message_part in response.json()["message"]
    assert not Hook.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://a..b/x",  # empty label
        "http://xn--/x",  # an A-label with nothing in it
        "http://xn--zz.example.com/x",  # not valid Punycode
        "http://" + "a" * 64 + ".example.com/x",  # a label over 63 characters
        "http://" + "a" * 60 + "." + "b" * 60 + "." + "c" * 60 + "." + "d" * 60 + ".example.com/x",  # over 253
        "http://-front.example.com/x",
        "http://front_door.example.com/x",
        "http://1.2.3.999/x",  # neither an IPv4 address nor a name
        "http://[fe80::zz]/x",
        "http://example.com:0/x",
        "http://example.com:65536/x",
        "http://user:pw@example.com/x",
        "http://token@example.com/x",
    ],
)
def test_callback_urls_that_could_never_be_delivered_are_400(api, url):
    response = api.post(URL, {**REFERENCE, "callback_url": url}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["message"].startswith("callback_url: ")
    assert not Hook.objects.exists()
    # Changing a hook's URL to one is refused the same way, and the hook keeps its receiver.
    hook = api.post(URL, REFERENCE, format="json").json()
    response = api.patch(f"{URL}/{hook['id']}", {"callback_url": url}, format="json")
    assert response.status_code == 400 and "callback_url" in response.json()["message"]
    assert api.get(f"{URL}/{hook['id']}").json()["callback_url"] == REFERENCE["callback_url"]


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com:8443/camio/package-delivery?source=camhub",
        "http://example.com./camio",  # fully qualified
        "https://bücher.example/camio",  # internationalised
        "http://93.184.216.34:8080/camio",
        "https://[2606:4700:4700::1111]:443/camio",
    ],
)
def test_well_formed_callback_urls_are_accepted(api, url):
    response = api.post(URL, {**REFERENCE, "callback_url": url}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["callback_url"] == url


def test_missing_fields_and_non_object_bodies_are_400(api):
    for body in ({"type": "label_hit", "query": "front"}, {"type": "label_hit", "callback_url": "http://e.com/"}):
        assert api.post(URL, body, format="json").status_code == 400
    assert api.post(URL, ["x"], format="json").status_code == 400
    response = api.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400 and "message" in response.json()


def test_patch_pauses_resumes_and_changes(api):
    hook = api.post(URL, REFERENCE, format="json").json()
    paused = api.patch(f"{URL}/{hook['id']}", {"active": False}, format="json").json()
    assert paused["active"] is False and paused["paused"] is True
    changed = api.patch(
        f"{URL}/{hook['id']}", {"query": "back dog", "cooldown_seconds": 60, "active": True}, format="json"
    ).json()
    assert (changed["query"], changed["cooldown_seconds"], changed["active"]) == ("back dog", 60, True)
    assert api.patch(f"{URL}/{hook['id']}", {"callback_url": "http://10.0.0.1/"}, format="json").status_code == 400
    assert api.patch(f"{URL}/{hook['id']}", {}, format="json").status_code == 400
    assert api.get(f"{URL}/{hook['id']}").json()["callback_url"] == REFERENCE["callback_url"]


def test_resume_clears_a_disable(api, user):
    hook = api.post(URL, REFERENCE, format="json").json()
    Hook.objects.filter(pk=hook["id"]).update(disabled_reason="gone")
    assert api.get(f"{URL}/{hook['id']}").json()["disabled_reason"] == "gone"
    resumed = api.patch(f"{URL}/{hook['id']}", {"active": True}, format="json").json()
    assert resumed["active"] is True and resumed["disabled_reason"] is None


def test_rotate_secret_shows_a_new_one_once(api):
    hook = api.post(URL, REFERENCE, format="json").json()
    rotated = api.post(f"{URL}/{hook['id']}/secret/rotate").json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != hook["secret"]
    assert Hook.objects.get(pk=hook["id"]).secret == rotated["secret"]
    assert "previous_secret_until" in rotated  # the old one signs too for a day
    assert "secret" not in api.get(f"{URL}/{hook['id']}").json()


def test_rotate_secret_can_drop_the_old_one_at_once(api):
    hook = api.post(URL, REFERENCE, format="json").json()
    rotated = api.post(f"{URL}/{hook['id']}/secret/rotate", {"keep_previous_seconds": 0}, format="json").json()
    assert "previous_secret_until" not in rotated
    assert Hook.objects.get(pk=hook["id"]).previous_secret == ""
    bad = api.post(f"{URL}/{hook['id']}/secret/rotate", {"keep_previous_seconds": -5}, format="json")
    assert bad.status_code == 400 and "keep_previous_seconds" in bad.json()["message"]


def test_other_accounts_get_404_on_every_hook_path(api, other_api, user, camera):
    hook = api.post(URL, REFERENCE, format="json").json()
    event = make_event(camera, ["people"])
    delivery = Delivery.objects.create(hook_id=hook["id"], event=event, body="{}", state="failed")
    base = f"{URL}/{hook['id']}"
    assert other_api.get(base).status_code == 404
    assert other_api.patch(base, {"active": False}, format="json").status_code == 404
    assert other_api.delete(base).status_code == 404
    assert other_api.post(f"{base}/secret/rotate").status_code == 404
    assert other_api.get(f"{base}/deliveries").status_code == 404
    assert other_api.post(f"{base}/deliveries/{delivery.webhook_id}/redeliver").status_code == 404
    assert other_api.get(URL).json() == []
    assert Hook.objects.get(pk=hook["id"]).active  # untouched


def test_anonymous_and_non_me_tokens_are_refused(api, anon):
    assert anon.get(URL).status_code == 401
    assert anon.post(URL, REFERENCE, format="json").status_code == 401
    assert api.get("/api/users/someone/hooks").status_code == 404
    assert api.get(f"{URL}/not-a-number").status_code == 404


def test_odd_hook_ids_and_limits_are_clear_4xx(api):
    hook = api.post(URL, REFERENCE, format="json").json()
    # str.isdigit() takes superscripts and other scripts' digits; Arabic-Indic "1" is not hook 1.
    for odd in ("\u00b2", "\u0661", "9" * 30):
        for method in (api.get, api.delete, api.patch):
            response = method(f"{URL}/{odd}")
            assert response.status_code == 404 and response.json()["message"]
        assert api.post(f"{URL}/{odd}/secret/rotate").status_code == 404
    response = api.get(f"{URL}/{hook['id']}/deliveries?limit=\u00b2")
    assert response.status_code == 400 and response.json()["message"]
    assert api.post("/api/users/me/notifications/\u00b2/read").status_code in (400, 404)


def test_deliveries_list_shows_attempts_and_redeliver_queues_again(api, user, camera):
    hook = api.post(URL, REFERENCE, format="json").json()
    event = make_event(camera, ["people"])
    row = Delivery.objects.create(
        hook_id=hook["id"], event=event, body="{}", state="failed", attempt_count=1, last_status_code=404
    )
    row.attempts.create(
        number=1, started_at=row.created_at, url="http://x", status_code=404, latency_ms=12, error="HTTP 404"
    )
    listed = api.get(f"{URL}/{hook['id']}/deliveries").json()
    assert listed[0]["id"] == row.webhook_id and listed[0]["event_id"] == event.public_id
    assert (listed[0]["state"], listed[0]["attempt"], listed[0]["status_code"]) == ("failed", 1, 404)
    assert listed[0]["attempts"] == [
        {
            "attempt": 1,
            "date": listed[0]["attempts"][0]["date"],
            "status_code": 404,
            "latency_ms": 12,
            "error": "HTTP 404",
        }
    ]
    again = api.post(f"{URL}/{hook['id']}/deliveries/{row.webhook_id}/redeliver")
    assert again.status_code == 202 and again.json()["state"] == "pending"
    assert api.get(f"{URL}/{hook['id']}/deliveries?limit=abc").status_code == 400


def test_deliveries_list_query_count_does_not_grow(api, user, camera, django_assert_max_num_queries):
    hook = api.post(URL, REFERENCE, format="json").json()
    for _ in range(5):
        d = Delivery.objects.create(hook_id=hook["id"], event=make_event(camera, ["people"]), body="{}")
        d.attempts.create(number=1, started_at=d.created_at, url="http://x", status_code=500)
    with django_assert_max_num_queries(6):  # auth, throttle aside: hook, deliveries+events, attempts
        assert len(api.get(f"{URL}/{hook['id']}/deliveries").json()) == 5


def test_redeliver_of_a_paused_hook_is_a_conflict(api, user, camera):
    hook = api.post(URL, REFERENCE, format="json").json()
    row = Delivery.objects.create(hook_id=hook["id"], event=make_event(camera, ["people"]), body="{}", state="failed")
    api.patch(f"{URL}/{hook['id']}", {"active": False}, format="json")
    response = api.post(f"{URL}/{hook['id']}/deliveries/{row.webhook_id}/redeliver")
    assert response.status_code == 409 and "resume" in response.json()["message"]


def test_api_docs_describe_the_query_grammar(api, admin_client):
    schema = admin_client.get("/api/schema/?format=json")
    assert schema.status_code == 200, schema.content[:300]
    text = schema.content.decode()
    assert "label_hit" in text and "resolves to one of **your cameras** first" in text
