"""The dates of configuration commands: stable while a command's text is, forward when it changes,
kept on the device's row (``cameras.commands``)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from cameras import polling
from cameras.commands import templates_version_bump
from cameras.devices import device_claim
from cameras.models import CommandTemplate, Device
from cameras.polling import Poll, poll_record
from config.api.dates import camio_date
from tests.cameras.conftest import MAC, MAC_BARE, PUBLIC_IP, Camera

POLL = Poll(MAC_BARE, "Sharx", "SCNC3904", "192.168.1.51", PUBLIC_IP, "Wget")


def _dates(answer) -> dict[str, str]:
    commands = answer.json()["commands"] if hasattr(answer, "json") else answer["commands"]
    return {c["id"]: c["date_updated"] for c in commands}


def test_a_device_answered_before_dates_were_recorded_keeps_the_dates_it_was_answered(db, user, ftp_configured):
    """A device polling since before the dates were recorded (its row's ``command_dates`` NULL, as
    the migration leaves existing rows) is answered the dates it had: its templates' edits and its
    claim. Upgrading does not make every camera re-apply every command."""
    poll_record(POLL)
    device_claim(owner=user, mac_address=MAC, name="front", check_near=False)
    Device.objects.update(command_dates=None)
    polling.device_forget(MAC_BARE)
    device = Device.objects.get()

    dates = _dates(poll_record(POLL))

    templates = {t.command_id: t.updated_at for t in CommandTemplate.objects.filter(maker="Sharx")}
    assert dates["ping"] == camio_date(templates["ping"])
    assert dates["ftpAlarm"] == camio_date(max(templates["ftpAlarm"], device.claimed_at))
    assert set(Device.objects.get().command_dates) == {"ping", "time", "ftpAlarm"}
    # Recorded: the next change is dated after them.
    assert _dates(poll_record(POLL)) == dates


def test_a_template_edited_and_edited_back_moves_its_date_forward_each_time(ipcam):
    """A template edited in admin and then restored: each edit changes the text the camera gets,
    so each moves its date forward, the restored text included (it is not answered under the date
    it had before the first edit, which the camera already passed)."""
    first = _dates(ipcam.poll())["time"]
    original = CommandTemplate.objects.get(maker="Sharx", command_id="time").path
    seen = [first]
    for path in ("/form/setNtp?ENABLE=1&SERVER=pool.ntp.org", original):
        time.sleep(0.002)  # the dates are in milliseconds
        CommandTemplate.objects.filter(maker="Sharx", command_id="time").update(path=path)
        templates_version_bump()
        seen.append(_dates(ipcam.poll())["time"])
    assert seen[0] < seen[1] < seen[2]


def test_a_changed_command_is_recorded_once_and_steady_polls_then_touch_no_database(ipcam, settings):
    """The first answer after a setting changed a command's text records its date (one write);
    every poll after that, in any process, is answered from the cache without a query."""
    before = _dates(ipcam.poll())
    settings.CAMERA_POLL_INTERVAL_SECONDS = 60
    with CaptureQueriesContext(connection) as queries:
        changed = _dates(ipcam.poll())
    assert changed["ping"] > before["ping"] and changed["time"] == before["time"]
    assert sum(q["sql"].startswith("UPDATE") for q in queries.captured_queries) == 1

    polling._answers.clear()  # another web process builds the answer too
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert _dates(ipcam.poll()) == changed
    assert len(queries) == 0


def test_a_recreated_device_answers_its_commands_under_new_dates(ipcam, settings):
    """An admin deletes a device and it polls again: its history is gone, so its commands are dated
    now, not with their templates' (older) dates, which the camera may have passed already."""
    before = _dates(ipcam.poll())
    Device.objects.all().delete()
    polling.device_forget(MAC_BARE)
    time.sleep(0.002)
    after = _dates(Camera().poll())
    assert all(after[k] > before[k] for k in before)


@pytest.mark.django_db(transaction=True)
def test_two_polls_building_a_changed_answer_at_once_answer_one_date(postgresql, user, settings, ftp_configured):
    """Two web processes build a device's answer at the same moment after its FTP gateway moved:
    they answer the same new date (the second waits on the row, then reads the first's), so the
    camera does not see the date change twice."""
    start = time.time()
    poll_record(POLL, now=start)
    device_claim(owner=user, mac_address=MAC, name="front", check_near=False)
    before = _dates(poll_record(POLL, now=start + 1))["ftpAlarm"]
    settings.FTP_GATEWAY_HOST = "ftp.example.net"

    answers: list[dict] = []

    def poll(at: float) -> None:
        try:
            answers.append(_dates(poll_record(POLL, now=at)))
        finally:
            connection.close()

    with transaction.atomic():
        Device.objects.select_for_update().get()  # both builders must wait here, as on each other
        threads = [threading.Thread(target=poll, args=(start + at,)) for at in (30, 31)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        assert all(thread.is_alive() for thread in threads), "a builder recorded without locking the row"
    for thread in threads:
        thread.join(10)

    assert len(answers) == 2
    assert answers[0]["ftpAlarm"] == answers[1]["ftpAlarm"] > before
