"""A review of what camhub sends to people (emails, notifications) and of the notification
settings that govern them (2026-12-05). Each test was a defect when found (all fixed); the
docstrings tell what happened before the fix ("now" in them).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Notification
from accounts.services import account_settings_update
from cameras.models import Camera
from hooks.tasks import event_labels_changed
from tests.factories import make_user
from tests.hooks.conftest import make_event

pytestmark = pytest.mark.django_db
SETTINGS = "/api/users/me/settings"


def _prefs(user, kind, **pref):
    account_settings_update(user=user, data={"notifications": {kind: pref}})


# --- downloads ------------------------------------------------------------------------------------


def test_a_camio_name_with_a_line_break_is_refused_and_one_stored_anyway_still_downloads(
    api, user, settings, django_capture_on_commit_callbacks
):
    """The owner named a Camio over the API with a line break in it ("Front door\nnight") and asked
    for its download: the name went into the "download ready" subject raw, Django refused the
    header (BadHeaderError, a ValueError the mail step did not catch), and the finished zip was
    marked failed, for good. Now such a name is a 400, and a Camio holding one anyway (made before)
    downloads, its subject on one line."""
    from search.models import Camio
    from tests.search.test_share_helpers import hours_ago, make_camera, make_content

    settings.PUBLIC_BASE_URL = "http://testserver"
    front = make_camera(user, "front")
    make_content(user, front, at=hours_ago(1))
    refused = api.post(
        "/api/users/me/camios",
        {"name": "Front door\nnight", "type": "public", "query": {"cameras": ["front"]}},
        format="json",
    )
    assert refused.status_code == 400, refused.content
    created = api.post(
        "/api/users/me/camios", {"name": "Front door", "type": "public", "query": {"cameras": ["front"]}}, format="json"
    )
    token = created.json()["view_token"]
    Camio.objects.filter(view_token=token).update(name="Front door\nnight")
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(f"/api/camios/{token}/downloads")
    status = api.get(started["Location"]).json()
    assert status["status"] == "ready", status
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Your download of Front door night is ready"


def test_guest_removed_before_the_zip_is_ready_gets_no_mail_with_a_dead_link(
    user, other_user, other_api, anon, settings, django_capture_on_commit_callbacks
):
    """A host shares a private Camio with guest Bob; Bob asks for its download; before the worker
    builds it the host removes Bob as a guest. Should: Bob is no longer told anything about the
    host's Camio (the code already refuses a "ready" mail "with a link that answers 404" for a
    deleted Camio). Now: _build only re-checks that the Camio still exists, so Bob still gets
    "Your download of <host's Camio> is ready" with the item count, size and a link that answers
    404, and the zip of the host's content stays stored for him."""
    from accounts.services import guest_remove
    from search.models import Download
    from tests.search.test_share_helpers import hours_ago, make_camera, make_camio, make_content, make_guest

    settings.PUBLIC_BASE_URL = "http://testserver"
    front = make_camera(user, "front")
    make_content(user, front, at=hours_ago(1))
    private = make_camio(user, cameras=["front"], type="private", name="Host's back yard")
    make_guest(user, other_user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert other_api.post(f"/api/camios/{private.view_token}/downloads").status_code == 200
    guest_remove(host=user, email="bob@example.com")
    for callback in callbacks:  # the worker picks the build up now
        callback()
    sent = [m for m in mail.outbox if "bob@example.com" in m.to]
    if sent:  # the link in it must at least work
        link = sent[0].body.split("http://testserver", 1)[1].split()[0]
        assert anon.get(link).status_code == 200, f"mailed a dead link: {sent[0].subject!r}"
    assert not sent
    assert Download.objects.get().status != Download.Status.READY


# --- motion alerts --------------------------------------------------------------------------------


def test_a_busy_hour_of_motion_does_not_send_dozens_of_alert_emails(user, settings):
    """A user turns motion_alerts to EMAIL; their "front" camera sees people come and go all
    afternoon: 30 separate interesting events within about 40 minutes (events split after 30 s of
    quiet, EVENT_GAP_SECONDS). Should: the alerts are coalesced or rate limited per camera (hooks
    have cooldown_seconds for exactly this), a handful of mails at most. Now: one email per event,
    30 mails in 40 minutes, with no cooldown, no digest and no setting to limit it."""
    camera = Camera.objects.create(owner=user, name="front")
    _prefs(user, "motion_alerts", state="ON", method="EMAIL", options="")
    for _ in range(30):
        event_labels_changed(make_event(camera, ["people"]).pk)
    assert len(mail.outbox) == 1, f"{len(mail.outbox)} motion alert emails for one camera in 40 minutes"
    # Another camera has its own cooldown; with none, every event alerts.
    event_labels_changed(make_event(Camera.objects.create(owner=user, name="back"), ["people"]).pk)
    assert len(mail.outbox) == 2
    settings.MOTION_ALERT_COOLDOWN_SECONDS = 0
    event_labels_changed(make_event(camera, ["people"]).pk)
    assert len(mail.outbox) == 3


def test_a_motion_alert_whose_mail_failed_is_sent_when_the_task_runs_again(user, monkeypatch):
    """The mail server refuses a connection once while an interesting event is alerted (SMTP
    outage, 421 greylisting). Should: the alert is not lost: like the offline alert and the daily
    summary, the claim is released and a later run (a Celery retry, the next trigger) sends it.
    Now: motion_alert_for_event writes the MotionAlert claim before sending and never releases it,
    the task swallows the error, and every later run finds the claim: the user never hears of
    that motion, and nothing retries."""
    import accounts.services

    camera = Camera.objects.create(owner=user, name="front")
    _prefs(user, "motion_alerts", state="ON", method="EMAIL", options="")
    event = make_event(camera, ["people"])
    real = accounts.services.send_mail

    def refused(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(accounts.services, "send_mail", refused)
    event_labels_changed(event.pk)  # logged, not raised
    monkeypatch.setattr(accounts.services, "send_mail", real)
    event_labels_changed(event.pk)  # the retry, once the server is back
    assert len(mail.outbox) == 1


# --- SMTP -----------------------------------------------------------------------------------------


def test_smtp_connections_have_a_timeout():
    """An operator sets EMAIL_HOST; one day the SMTP server accepts connections but never answers.
    Should: each send gives up after a bounded time (EMAIL_TIMEOUT), so the mail fails, is logged
    and retried. Now: config/settings.py sets no EMAIL_TIMEOUT, Django's SMTP backend then waits
    forever (socket timeout None), and the worker thread sending a motion alert (queue "hooks",
    shared with every hook delivery), an offline alert (the 30 s heartbeat sweep) or a "download
    ready" mail hangs for good."""
    from django.core.mail import get_connection

    backend = get_connection("django.core.mail.backends.smtp.EmailBackend")
    assert backend.timeout is not None and 0 < backend.timeout <= 120, backend.timeout


# --- hooks ----------------------------------------------------------------------------------------


def test_deactivated_owner_is_not_mailed_about_a_disabled_hook(settings):
    """An account with a hook whose receiver has been failing is deactivated by an admin (left the
    service, abuse). Days later the hourly sweep disables the hook. Should: no mail to a deactivated
    account (every other mail checks is_active). Now: hooks_disable_failing mails
    "Your camhub hook was disabled" to the deactivated owner, with the callback URL and query."""
    from hooks.models import Hook
    from hooks.services import hooks_disable_failing

    owner = make_user("erin", email="erin@example.com")
    Hook.objects.create(
        owner=owner,
        callback_url="https://receiver.example.com/hook",
        query="people",
        failing_since=timezone.now() - timedelta(days=settings.HOOK_DISABLE_AFTER_DAYS + 1),
        failure_streak=50,
    )
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    hooks_disable_failing()
    assert mail.outbox == []


# --- camera diagnostics ---------------------------------------------------------------------------


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def test_a_flapping_camera_does_not_send_an_offline_email_per_flap(user, settings):
    """A camera on a flaky uplink (or one that only uploads on motion, as FTP-only cameras do) is
    heard from every ten minutes for an hour and silent in between: the sweep sees it go offline
    six times, each outage past the grace period. Six "Camera front is offline" mails came in one
    hour. Now one per camera per CAMERA_ALERT_HOLDOFF_SECONDS (an hour)."""
    import time

    from cameras.heartbeat import heartbeat_sweep
    from cameras.services import camera_record_upload

    camera = Camera.objects.create(owner=user, name="front")
    base = time.time() - 10_000
    grace = settings.CAMERA_ALERT_GRACE_SECONDS
    for k in range(6):
        t = base + k * 600
        camera_record_upload(camera=Camera.objects.get(pk=camera.pk), at=_at(t))
        heartbeat_sweep(now=_at(t + 10))
        heartbeat_sweep(now=_at(t + settings.CAMERA_OFFLINE_AFTER_SECONDS + 30))
        heartbeat_sweep(now=_at(t + settings.CAMERA_OFFLINE_AFTER_SECONDS + 30 + grace))
    offline = [m for m in mail.outbox if "offline" in m.subject]
    assert len(offline) == 1, f"{len(offline)} offline emails in one hour for one flapping camera"


# --- notification settings ------------------------------------------------------------------------


def test_muting_one_camera_does_not_mute_another_named_alike(user):
    """Camera names are case-sensitive (the API keeps "Front" and "front" apart). Muting "Front"
    silenced "front" too: names were compared lower-cased. A muted name now matches its camera
    exactly, and ignores case only when no camera has exactly that name."""
    upper = Camera.objects.create(owner=user, name="Front")
    lower = Camera.objects.create(owner=user, name="front")
    _prefs(user, "motion_alerts", state="ON", method="PUSH", options="mute Front")
    event_labels_changed(make_event(upper, ["people"]).pk)
    event_labels_changed(make_event(lower, ["people"]).pk)
    assert list(Notification.objects.values_list("data__source", flat=True)) == ["front"]
    back = Camera.objects.create(owner=user, name="Back")
    _prefs(user, "motion_alerts", state="ON", method="PUSH", options="mute back")
    event_labels_changed(make_event(back, ["people"]).pk)  # no camera named "back": case ignored
    assert Notification.objects.count() == 1


def test_options_that_are_not_the_mute_form_are_refused(api):
    """The user writes options "muted street,window" (or "mutestreet"). The reference's only form
    is "mute driveway,street", and the API refuses other options with 400. Should: 400, nothing
    written. Now: the check is startswith("mute"), so it answers 200 and stores it; muted_names then
    cuts four characters and mutes a camera or zone called "d street": street and window are not
    muted, and the settings read back as if they were."""
    response = api.post(
        SETTINGS, {"notifications": {"motion_alerts": {"options": "muted street,window"}}}, format="json"
    )
    assert response.status_code == 400, response.json()


def test_muting_a_label_name_silences_events_with_that_label(user):
    """The reference: motion_alerts options "specify any muted camera or label names". The user
    sets "mute people" to stop alerts about people walking by. Should: an event labelled only
    "people" (no zone) sends no alert. Now: event_is_muted only honours camera names and zone
    names (labels that are zones of the camera), so "mute people" is accepted and read back but
    every "Motion on front: people" alert still arrives."""
    camera = Camera.objects.create(owner=user, name="front")
    _prefs(user, "motion_alerts", state="ON", method="PUSH", options="mute people")
    event_labels_changed(make_event(camera, ["people"]).pk)
    assert not Notification.objects.exists()
