"""The Celery broker's Redis transport: kombu's, keeping one Redis client per channel.

kombu's Redis channel builds a new ``redis.Redis`` object for every message it publishes (its
``conn_or_acquire`` → ``_create_client``); with redis-py 8 that object costs about a quarter of a
publish's CPU (~70 µs of ~280 µs), paid by every upload's hand-off to analysis and every hook
firing. The client is a thin handle over the channel's connection pool and thread-safe, so the
channel keeps one, and makes a new one when kombu replaces the pool (after a fork or a lost
connection). The asynchronous client (the worker's BRPOP loop) is kombu's, unchanged.
Selected by ``CELERY_BROKER_TRANSPORT`` when the broker URL is ``redis://`` (``rediss://`` keeps kombu's).
"""

from __future__ import annotations

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _publish_client = None

    def _create_client(self, asynchronous: bool = False):
        if asynchronous:
            return super()._create_client(asynchronous=True)
        pool = self.pool
        client = self._publish_client
        if client is None or client.connection_pool is not pool:
            client = self._publish_client = super()._create_client()
        return client


class Transport(kombu_redis.Transport):
    Channel = Channel
