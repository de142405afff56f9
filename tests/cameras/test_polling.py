"""Configuration polling: the reference's answer, MAC formats, ETags, commands, coalesced heartbeats."""

import re
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cameras.commands import templates_version_bump
from cameras.models import CommandTemplate, Device
from cameras.polling import Poll, poll_record
from tests.cameras.conftest import MAC, MAC_BARE, PUBLIC_IP, Camera

pytestmark = pytest.mark.django_db

CAMIO_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}-0000$")


def test_unclaimed_poll_has_the_reference_shape(ipcam):
    response = ipcam.poll()
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["commands", "ip_address", "mac_address", "maker", "model", "user_agent"]
    assert body["ip_address"] == PUBLIC_IP
    assert body["mac_address"] == MAC_BARE
    assert (body["maker"], body["model"], body["user_agent"]) == ("Sharx", "SCNC3904", "Wget")
    ids = [c["id"] for c in body["commands"]]
    # An unclaimed device gets only what keeps it polling (and the clock); no account's settings.
    assert ids == ["ping", "time"]
    for command in body["commands"]:
        assert list(command) == ["date_updated", "id", "is_auth_required", "method", "path", "regex_response"]
        assert CAMIO_DATE.match(command["date_updated"])
        assert command["method"] == "GET" and command["is_auth_required"] is True
        assert command["regex_response"] == "000 Success"
    ping = body["commands"][0]["path"]
    # Camera-side placeholders stay verbatim; the server's are filled.
    assert "URL=localhost:8000/api/cameras/$(hwaddr)/?maker=Sharx&model=SCNC3904&ip_address_local=$(localip)" in ping
    assert "SEC=30" in ping
    assert "{" not in ping


@pytest.mark.parametrize("mac", ["12:34:56:78:90:12", "123456789012", "12:34:56:78:90:AB", "ABCDEF012345"])
def test_both_mac_forms_are_accepted_and_answered_bare(db, mac):
    body = Camera(mac).poll().json()
    assert body["mac_address"] == mac.replace(":", "").lower()


def test_colon_and_bare_forms_are_one_device(db):
    Camera("12:34:56:78:90:12").poll()
    Camera("123456789012").poll()
    assert Device.objects.count() == 1


@pytest.mark.parametrize(
    "mac", ["1234", "12:34:56:78:90", "12-34-56-78-90-12", "zz3456789012", "12:34:56:78:90:12:34", "1234567890123"]
)
def test_bad_mac_is_400(db, mac):
    response = Camera(mac).poll()
    assert response.status_code == 400
    assert "mac_address" in response.json()["message"]
    assert not Device.objects.exists()


@pytest.mark.parametrize("missing", ["maker", "model"])
def test_maker_and_model_are_required(anon, missing):
    params = {"maker": "Sharx", "model": "SCNC3904"}
    del params[missing]
    response = anon.get(f"/api/cameras/{MAC}", params)
    assert response.status_code == 400
    assert missing in response.json()["message"]


def test_local_address_is_optional(anon):
    response = anon.get(f"/api/cameras/{MAC}/", {"maker": "Sharx", "model": "SCNC3904"})
    assert response.status_code == 200
    assert Device.objects.get().ip_address_local == ""


def test_post_and_put_poll_too(ipcam):
    assert ipcam.poll(method="post").status_code == 200
    assert ipcam.poll(method="put").json()["mac_address"] == MAC_BARE
    form = ipcam.client.post(f"/api/cameras/{MAC}", {"maker": "Sharx", "model": "X1"})
    assert form.status_code == 200 and form.json()["model"] == "X1"
    bad = ipcam.client.post(f"/api/cameras/{MAC}", "{nope", content_type="application/json")
    assert bad.status_code == 400 and bad.json()["message"]


def test_other_methods_are_json_405(ipcam):
    response = ipcam.client.delete(f"/api/cameras/{MAC}?maker=Sharx&model=X")
    assert response.status_code == 405
    assert response.json()["message"]


def test_unchanged_configuration_answers_304(ipcam):
    first = ipcam.poll()
    etag = first["ETag"]
    again = ipcam.poll(HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again["ETag"] == etag
    assert again.content == b""
    # A different tag gets the full answer.
    assert ipcam.poll(HTTP_IF_NONE_MATCH='"other"').status_code == 200
    # A template edited in admin changes the configuration, so the tag no longer matches.
    CommandTemplate.objects.filter(command_id="time").update(path="/form/setNtp?ENABLE=1&SERVER=pool.ntp.org")
    templates_version_bump()
    changed = ipcam.poll(HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert "pool.ntp.org" in changed.json()["commands"][1]["path"]


def test_unknown_maker_gets_no_commands(db):
    body = Camera(maker="Acme", model="Z").poll().json()
    assert body["commands"] == []


def test_model_specific_template_replaces_the_makers(ipcam):
    CommandTemplate.objects.create(maker="Sharx", model="SCNC3904", command_id="time", path="/ntp?model={model}")
    templates_version_bump()
    commands = {c["id"]: c["path"] for c in ipcam.poll().json()["commands"]}
    assert commands["time"] == "/ntp?model=SCNC3904"
    other = {c["id"]: c["path"] for c in Camera("aa:bb:cc:dd:ee:ff", model="OTHER").poll().json()["commands"]}
    assert other["time"] == "/form/setNtp?ENABLE=1&SERVER=time.nist.gov"


def test_template_placeholders_are_checked():
    owner_for_all = CommandTemplate(maker="M", command_id="x", path="/x?u={upload_token}", audience="all")
    with pytest.raises(ValidationError, match="claimed"):
        owner_for_all.clean()
    with pytest.raises(ValidationError, match="Unknown placeholder"):
        CommandTemplate(maker="M", command_id="x", path="/x?{password}").clean()
    CommandTemplate(maker="M", command_id="x", path="/x?h=$(hwaddr)&u={upload_token}", audience="claimed").clean()


def test_first_poll_records_the_device(ipcam):
    ipcam.poll()
    device = Device.objects.get()
    assert device.mac_address == MAC_BARE
    assert (device.maker, device.model, device.user_agent) == ("Sharx", "SCNC3904", "Wget")
    assert (device.ip_address, device.ip_address_local) == (PUBLIC_IP, "192.168.1.51")
    assert device.last_seen_at is not None and device.camera is None


def test_steady_polls_touch_no_database_until_the_write_window(ipcam, settings):
    ipcam.poll()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert ipcam.poll().status_code == 200
    assert len(queries) == 0
    # A change (the camera got a new local address) is written at once.
    with CaptureQueriesContext(connection) as queries:
        ipcam.poll(local="192.168.1.77")
    assert any(q["sql"].startswith("UPDATE") for q in queries.captured_queries)
    assert Device.objects.get().ip_address_local == "192.168.1.77"


def test_last_sight_is_written_once_per_window(db, settings):
    poll = Poll(MAC_BARE, "Sharx", "SCNC3904", "192.168.1.51", PUBLIC_IP, "Wget")
    start = time.time() - 1000
    poll_record(poll, now=start)
    written = Device.objects.get().last_seen_at.timestamp()
    poll_record(poll, now=start + 30)
    poll_record(poll, now=start + 60)
    assert Device.objects.get().last_seen_at.timestamp() == pytest.approx(written)
    poll_record(poll, now=start + settings.CAMERA_HEARTBEAT_WRITE_SECONDS)
    assert Device.objects.get().last_seen_at.timestamp() == pytest.approx(
        start + settings.CAMERA_HEARTBEAT_WRITE_SECONDS
    )


def test_forwarded_for_is_honoured_only_when_configured(anon, settings):
    params = {"maker": "Sharx", "model": "SCNC3904"}
    spoofed = anon.get(f"/api/cameras/{MAC}", params, HTTP_X_FORWARDED_FOR="198.51.100.1", REMOTE_ADDR="10.0.0.2")
    assert spoofed.json()["ip_address"] == "10.0.0.2"
    settings.USE_X_FORWARDED_FOR = True
    proxied = anon.get(
        f"/api/cameras/{MAC}", params, HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.1", REMOTE_ADDR="10.0.0.2"
    )
    # The last hop is the one our proxy appended; earlier ones are the client's word.
    assert proxied.json()["ip_address"] == "198.51.100.1"


def test_overlong_or_unprintable_maker_is_400(anon):
    assert anon.get(f"/api/cameras/{MAC}", {"maker": "x" * 65, "model": "m"}).status_code == 400
    assert anon.get(f"/api/cameras/{MAC}", {"maker": "a\x00b", "model": "m"}).status_code == 400


@pytest.fixture
def redis_cache(settings, redis_url):
    """The production cache: polls take the pipelined one-round-trip path."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}


def test_polls_on_redis_take_one_round_trip_and_keep_the_camera_online(redis_cache, home_api, settings):
    from cameras.models import Camera as CameraRow
    from cameras.polling import polled_at

    ipcam = Camera()
    first = ipcam.poll()
    assert first.status_code == 200
    claimed = home_api.post(f"/api/users/me/devices/{MAC}/claim", {"name": "front"}, format="json")
    assert claimed.status_code == 201
    answer = ipcam.poll()
    assert "ftpAlarm" in {c["id"] for c in answer.json()["commands"]}
    with CaptureQueriesContext(connection) as queries:
        again = ipcam.poll(HTTP_IF_NONE_MATCH=answer["ETag"])
    assert again.status_code == 304 and len(queries) == 0
    # Written long ago as far as the database knows; the cache's last poll keeps it online.
    CameraRow.objects.update(last_seen_at=None)
    Device.objects.update(last_seen_at=None)
    ipcam.poll()
    camera = CameraRow.objects.get()
    assert camera.last_seen_at is None
    assert camera.pk in polled_at([camera])
    assert home_api.get("/api/users/me/cameras/front").json()["is_online"] is True


def test_polls_survive_a_dropped_redis_connection_and_a_flushed_script(redis_cache, monkeypatch):
    import redis

    from cameras import polling

    ipcam = Camera()
    first = ipcam.poll()
    assert first.status_code == 200
    # The server closes this thread's connection (a restart, an idle timeout): the next poll reconnects.
    connection = polling._link.connection
    connection.send_packed_command([polling._resp(b"CLIENT", b"ID")])
    own_id = connection.read_response()
    redis.Redis.from_url(polling.caches["default"]._cache._servers[0]).client_kill_filter(_id=own_id)
    assert ipcam.poll(HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    connection.send_packed_command([polling._resp(b"CLIENT", b"ID")])
    assert connection.read_response() != own_id  # a new connection answered
    # A server that does not know the script (restarted, SCRIPT FLUSH): EVAL sends it again.
    monkeypatch.setattr(polling, "_EXCHANGE_SHA", b"0" * 40)
    again = ipcam.poll()
    assert again.status_code == 200 and again["ETag"] == first["ETag"]


@pytest.mark.parametrize(
    "query",
    [
        "maker=Sharx&model=SCNC3904&ip_address_local=192.168.1.51",
        "maker=Sharx&model=SCNC3904&ip_address_local=192.168.1.51&maker=Sharx",
        "maker=Sh%61rx&model=SCNC3904&ip_address_local=192.168.1.51",
        "maker=Sharx&&model=SCNC3904&ip_address_local",
    ],
)
def test_plain_and_escaped_query_strings_poll_alike(anon, query):
    plain = anon.get(f"/api/cameras/{MAC}?maker=Sharx&model=SCNC3904&ip_address_local=192.168.1.51").json()
    answer = anon.get(f"/api/cameras/{MAC}?{query}")
    assert answer.status_code == 200
    assert answer.json()["maker"] == plain["maker"] and answer.json()["model"] == plain["model"]


def test_blank_or_missing_maker_is_400_in_the_plain_query_too(anon):
    assert anon.get(f"/api/cameras/{MAC}?maker=&model=SCNC3904").status_code == 400
    assert anon.get(f"/api/cameras/{MAC}?maker&model=SCNC3904").status_code == 400
    assert anon.get(f"/api/cameras/{MAC}?model=SCNC3904&maker=Sharx&maker=").status_code == 400
