"""Admin change lists at a million items: each page's time, its queries and their SQL time.

Runs in-process (Django's test client, DEBUG off) on the database ``bench.search_bench`` loads
(``camhub_f1_bench``: 1,000,000 items, 100,000 events; load it first with that script). The anchor
is the page's own SQL: what is left is rendering. Best of ``--rounds``.

    .venv/bin/python -m bench.search_bench --reuse --requests 10 --only camera   # loads if missing
    .venv/bin/python -m bench.admin_bench
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime

PAGES = (
    "/admin/uploads/content/",
    "/admin/uploads/content/?kind__exact=image",
    "/admin/uploads/content/?q=cam3",
    "/admin/uploads/content/?q=bench",
    "/admin/search/event/",
    "/admin/search/event/?q=people",
    "/admin/search/itemanalysis/",
    "/admin/search/itemanalysis/?q=cam3",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", default="camhub_f1_bench")
    args = parser.parse_args(argv)

    from bench import harness

    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DATABASE_URL"] = harness.database_url(args.database)
    os.environ.setdefault("CACHE_URL", "locmem://")
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-admin-" + "k" * 50)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from uploads.models import Content

    items = Content.objects.count()
    if items < 100_000:
        raise SystemExit(f"{args.database} holds {items} items: load it with bench.search_bench first")
    user_model = get_user_model()
    operator = user_model.objects.filter(username="bench-admin").first()
    if operator is None:
        operator = user_model.objects.create_superuser("bench-admin", "bench-admin@example.com", None)
    client = Client()
    client.force_login(operator)

    info = harness.machine()
    print(f"camhub admin lists, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {items:,} items")
    print(f"machine: nproc={info['nproc']}, {info['cpu']}, Python {info['python']}, load average {info['loadavg']}")
    print(f"command: python -m bench.admin_bench {' '.join(sys.argv[1:])}")
    print()
    print(f"{'page':<42} {'ms':>8} {'queries':>8} {'SQL ms':>8}")
    for page in PAGES:
        best = None
        for _ in range(args.rounds):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(page)
                elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{page} answered {response.status_code}")
            sql = sum(float(q["time"]) for q in queries.captured_queries) * 1000
            if best is None or elapsed < best[0]:
                best = (elapsed, len(queries.captured_queries), sql)
        print(f"{page:<42} {best[0]:>8.0f} {best[1]:>8} {best[2]:>8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
