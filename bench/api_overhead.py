"""What the API stack costs: authenticated ``GET /api/users/me/cameras`` (an empty list) against
``/bench/bare``, a plain Django view returning the same JSON with no auth and no DRF.

One service (PostgreSQL, gunicorn, Redis cache) serves both in the same run, with a third
anchor, ``/bench/bare-query``: the list's own query and JSON without the API stack. Goal: the API
(token lookup, throttle on the cache, DRF, error handling) keeps at least half of the bare
view's requests per second.

    .venv/bin/python -m bench.api_overhead --duration 10 --connections 8 --workers 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime

from bench import harness

API_PATH = "/api/users/me/cameras"
BARE_PATH = "/bench/bare"
BARE_QUERY_PATH = "/bench/bare-query"
GOAL = 0.5
# High enough that the throttle counts every request but never refuses one.
UNTHROTTLED = "1000000000/minute"


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("Content-Type", "")


def check_answers(service: harness.BenchService, auth: dict[str, str]) -> None:
    """Both endpoints answer the same JSON, and the API really requires its token."""
    api = _get(service.url(API_PATH), auth)
    bare = _get(service.url(BARE_PATH))
    anonymous = _get(service.url(API_PATH))
    if api[0] != 200 or bare[0] != 200 or json.loads(api[1]) != [] or json.loads(bare[1]) != []:
        raise SystemExit(f"unexpected answers: api={api[:2]} bare={bare[:2]}")
    if not (api[2].startswith("application/json") and bare[2].startswith("application/json")):
        raise SystemExit(f"content types differ: api={api[2]!r} bare={bare[2]!r}")
    if anonymous[0] != 401:
        raise SystemExit(f"the API answered {anonymous[0]} without a token (expected 401)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10, help="seconds per measurement (default 10)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive clients (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker; >1 uses gthread (default 1: sync)")
    parser.add_argument("--rounds", type=int, default=1, help="alternate bare/API this many times (default 1)")
    parser.add_argument("--settings", default="bench.settings", help="DJANGO_SETTINGS_MODULE (with the bench URLs)")
    parser.add_argument("--database", default=harness.DEFAULT_DATABASE, help="PostgreSQL database, recreated")
    parser.add_argument("--tool", choices=["wrk", "python"], help="load generator (default: wrk if on PATH)")
    args = parser.parse_args(argv)

    load_before = harness.machine()["loadavg"]
    results: dict[str, list[harness.LoadResult]] = {"bare": [], "bare-query": [], "api": []}
    with harness.BenchService(
        database=args.database,
        settings_module=args.settings,
        workers=args.workers,
        threads=args.threads,
        extra_env={"API_RATE_LIMIT": UNTHROTTLED},
    ) as service:
        auth = {"Authorization": f"token {service.dev_token('bench')}"}
        check_answers(service, auth)
        bare_query = f"{BARE_QUERY_PATH}?owner={service.user_id('bench')}"
        targets = (("bare", BARE_PATH, {}), ("bare-query", bare_query, {}), ("api", API_PATH, auth))
        for round_number in range(1, args.rounds + 1):
            suffix = f" #{round_number}" if args.rounds > 1 else ""
            for name, path, headers in targets:
                harness.log(f"{name}{suffix}: {args.duration:g}s, {args.connections} connections")
                results[name].append(
                    harness.run_load(
                        service.url(path),
                        name=f"{name} {path.partition('?')[0]}{suffix}",
                        duration=args.duration,
                        connections=args.connections,
                        headers=headers,
                        tool=args.tool,
                        cpu_probe=service.cpu_seconds,
                    )
                )

    bare_rps, query_rps, api_rps = (
        statistics.mean(r.requests_per_second for r in results[name]) for name in ("bare", "bare-query", "api")
    )
    ratio = api_rps / bare_rps if bare_rps else 0.0
    info = harness.machine()
    print(f"camhub API overhead, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: nproc={info['nproc']}, {info['cpu']}, Python {info['python']}, load average {load_before}")
    print(
        f"service: gunicorn {args.workers} worker(s) x {args.threads} thread(s), "
        f"PostgreSQL, Redis cache, API_RATE_LIMIT={UNTHROTTLED}"
    )
    print(f"command: {' '.join(['python', '-m', 'bench.api_overhead', *sys.argv[1:]])}")
    print()
    harness.print_table(results["bare"] + results["bare-query"] + results["api"])
    print()
    print(
        f"bare-query / bare = {query_rps / bare_rps:.1%}  (the camera list's own query and JSON, no API stack: "
        "the most the API could keep)"
    )
    print(f"API / bare-query = {api_rps / query_rps:.1%}  (what auth, throttle and DRF keep of the same work)")
    bare_cpu, api_cpu = (statistics.mean(r.cpu_ms_per_request or 0.0 for r in results[n]) for n in ("bare", "api"))
    if bare_cpu and api_cpu:
        print(
            f"server CPU per request: bare {bare_cpu:.2f} ms, API {api_cpu:.2f} ms: CPU-bound, the API would keep "
            f"{bare_cpu / api_cpu:.1%} of bare (less disturbed by other load than req/s)"
        )
    verdict = "met" if ratio >= GOAL else "MISSED"
    print(f"API / bare = {api_rps:.1f} / {bare_rps:.1f} req/s = {ratio:.1%}  (goal >= {GOAL:.0%}: {verdict})")
    failures = sum(r.non_2xx + r.errors for rs in results.values() for r in rs)
    if failures:
        print(f"WARNING: {failures} non-2xx answers or socket errors: the figures are not comparable")
        return 1
    return 0 if ratio >= GOAL else 2


if __name__ == "__main__":
    sys.exit(main())
