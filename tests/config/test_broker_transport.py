"""The broker's Redis transport (config.broker): kombu's, keeping one publishing client per channel.

Messages go to a real Redis and come back out; the channel reuses its client for every publish and
makes a new one when kombu replaces its connection pool (after a fork or a lost connection)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from kombu import Connection, Exchange, Queue

from config.broker import Transport

pytestmark = pytest.mark.redis


def test_messages_round_trip_and_the_client_is_kept(redis_url):
    queue = Queue("camhub-transport-test", Exchange("camhub-transport-test", type="direct"), "k")
    with Connection(redis_url, transport=Transport) as connection:
        channel = connection.default_channel
        first = channel._create_client()
        assert channel._create_client() is first  # one client for every publish
        producer = connection.Producer(serializer="json")
        for n in range(3):
            producer.publish({"n": n}, exchange=queue.exchange, routing_key="k", declare=[queue])
        assert channel._create_client() is first
        received = []
        with connection.Consumer(queue, callbacks=[lambda body, message: (received.append(body), message.ack())]):
            while len(received) < 3:
                connection.drain_events(timeout=5)
        assert received == [{"n": 0}, {"n": 1}, {"n": 2}]

        channel._disconnect_pools()  # what kombu does after a fork or a lost connection
        fresh = channel._create_client()
        assert fresh is not first and fresh.connection_pool is channel.pool
        producer.publish({"n": 3}, exchange=queue.exchange, routing_key="k", declare=[queue])
        with connection.SimpleQueue(queue) as simple:
            assert simple.get(timeout=5).payload == {"n": 3}


def test_the_settings_pick_it_for_a_redis_broker_only(tmp_path):
    def transport_for(url: str) -> str:
        # The settings module reads the environment once: each URL in a fresh interpreter.
        code = "import django; django.setup(); from django.conf import settings as s; "
        code += "print(getattr(s, 'CELERY_BROKER_TRANSPORT', None))"
        env = dict(os.environ, CELERY_BROKER_URL=url, CAMHUB_DATA_DIR=str(tmp_path))
        env["DJANGO_SETTINGS_MODULE"] = "config.settings"
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        return out.stdout.strip().splitlines()[-1]

    assert transport_for("redis://127.0.0.1:6379/0") == "config.broker:Transport"
    assert transport_for("amqp://guest@127.0.0.1//") == "None"
    assert transport_for("filesystem://") == "None"
