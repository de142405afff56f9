"""docker/ for the production shape, checked without Docker (it does not run here).

The compose file is parsed with PyYAML and its variables are interpolated the way Compose does
(``${NAME:-default}``, ``${NAME:?error}``), then compared with what ``config/settings.py``
reads: its ``ENV_VARS`` set, filled by the ``env_*`` helpers as the module is imported.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
SERVICES = {"web", "worker", "hooks-worker", "beat", "postgres", "redis", "minio"}
# The processes built from our image; all run the same code with the same environment.
CAMHUB_SERVICES = ("web", "worker", "hooks-worker", "beat", "migrate", "ftp")
PRODUCTION_VARS = {
    "SECRET_KEY",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_S3_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_S3_REGION_NAME",
}
# What `docker compose up` sees when the operator sets only the one required variable.
OPERATOR_ENV = {"SECRET_KEY": "Zq8vN3kR7tW1yB5mC9xL2hJ6dF4sG0pA-_uE8iO3nT7rV1wY5z"}

_PRINT_SETTINGS = """
import json
import config.settings as s
print(json.dumps({
    "ENV_VARS": sorted(s.ENV_VARS),
    "DEBUG": s.DEBUG,
    "database_engine": s.DATABASES["default"]["ENGINE"],
    "database_options": s.DATABASES["default"].get("OPTIONS", {}),
    "cache_backend": s.CACHES["default"]["BACKEND"],
    "storage_backend": s.STORAGES["default"]["BACKEND"],
    "broker": s.CELERY_BROKER_URL,
    "default_queue": s.CELERY_TASK_DEFAULT_QUEUE,
    "routed_queues": sorted({r["queue"] for r in s.CELERY_TASK_ROUTES.values()}),
    "use_x_forwarded_for": s.USE_X_FORWARDED_FOR,
}))
"""


def _import_settings(env: dict[str, str]) -> dict:
    """Import config.settings in a fresh interpreter with exactly ``env`` (plus PATH)."""
    result = subprocess.run(
        [sys.executable, "-c", _PRINT_SETTINGS],
        cwd=REPO,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"config.settings refused this environment:\n{result.stderr}"
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("docker-settings")


@pytest.fixture(scope="module")
def env_vars(data_dir) -> set[str]:
    """Every name settings reads. A fresh import with DEBUG unset, so that the reads guarded by
    ``if not DEBUG`` (cookie flags) are made too, whatever the test run's own environment is."""
    return set(_import_settings({"CAMHUB_DATA_DIR": str(data_dir)})["ENV_VARS"])


_INTERPOLATION = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def interpolate(value, env: dict[str, str]):
    """Compose's variable substitution, enough for this file: $$, ${X}, ${X:-d}, ${X-d}, ${X:?e}."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        op, arg = match.group(2), match.group(3) or ""
        current = env.get(name)
        unset_or_empty = current is None or (op is not None and op.startswith(":") and current == "")
        if op in {"-", ":-"}:
            return arg if unset_or_empty else current
        if op in {"?", ":?"}:
            if unset_or_empty:
                raise KeyError(f"{name}: {arg}")
            return current
        return current or ""

    return _INTERPOLATION.sub(substitute, value)


def _environment(service: dict) -> dict[str, str]:
    """A service's environment in either of Compose's forms (mapping or list of NAME=value)."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {name: "" if value is None else str(value) for name, value in raw.items()}


def _command(service: dict) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


@pytest.fixture(scope="module")
def raw_compose() -> dict:
    # safe_load resolves the file's anchors and `<<:` merge keys, as Compose does.
    return yaml.safe_load((DOCKER / "compose.yml").read_text())


@pytest.fixture(scope="module")
def compose(raw_compose) -> dict:
    return interpolate(raw_compose, OPERATOR_ENV)


@pytest.fixture(scope="module")
def camhub_env(compose) -> dict[str, str]:
    return _environment(compose["services"]["web"])


def test_compose_names_every_service_of_the_production_shape(compose):
    assert SERVICES <= set(compose["services"])
    for name in ("postgres", "redis", "minio"):
        assert "healthcheck" in compose["services"][name], f"{name} needs a health check to be waited on"


def test_camhub_processes_share_one_image_build_and_environment(raw_compose, compose):
    services = compose["services"]
    images = {name: services[name].get("image") for name in CAMHUB_SERVICES}
    builds = {name: json.dumps(services[name].get("build"), sort_keys=True) for name in CAMHUB_SERVICES}
    assert len(set(images.values())) == 1, images
    assert len(set(builds.values())) == 1, builds
    assert all(services[name].get("build") for name in CAMHUB_SERVICES)
    envs = {name: _environment(raw_compose["services"][name]) for name in CAMHUB_SERVICES}
    assert all(env == envs["web"] for env in envs.values()), "web, worker and beat must see one configuration"

    build = services["web"]["build"]
    context = (DOCKER / build["context"]).resolve()
    assert context == REPO, "the image is built from the repository root"
    assert (context / build["dockerfile"]).is_file()


def test_every_variable_the_camhub_services_set_is_read_by_settings(raw_compose, env_vars):
    for name in CAMHUB_SERVICES:
        unknown = set(_environment(raw_compose["services"][name])) - env_vars
        assert not unknown, f"{name} sets variables config/settings.py never reads: {sorted(unknown)}"


def test_production_variables_are_set(camhub_env):
    missing = {name for name in PRODUCTION_VARS if not camhub_env.get(name)}
    assert not missing, f"compose leaves production variables unset: {sorted(missing)}"
    assert camhub_env["DEBUG"].lower() == "false"


def test_secret_key_must_come_from_the_operator(raw_compose):
    # No known default: `docker compose up` without SECRET_KEY stops with a message.
    with pytest.raises(KeyError, match="SECRET_KEY"):
        interpolate(raw_compose, {})


def test_settings_accept_the_compose_environment(camhub_env, data_dir):
    # Paths of the container are replaced: importing settings creates its data and static folders.
    env = {**camhub_env, "CAMHUB_DATA_DIR": str(data_dir / "data"), "STATIC_ROOT": str(data_dir / "static")}
    loaded = _import_settings(env)
    assert loaded["DEBUG"] is False
    assert loaded["database_engine"] == "config.postgresql"  # Django's, with a socket health check
    # Server-side parameters, so that psycopg prepares what a connection runs again and again.
    assert loaded["database_options"] == {"server_side_binding": True, "prepare_threshold": 5}
    assert loaded["cache_backend"] == "django.core.cache.backends.redis.RedisCache"
    assert loaded["storage_backend"] == "uploads.storage.ContentS3Storage"
    assert loaded["broker"].startswith("redis://")


def test_urls_point_at_the_compose_services_with_their_credentials(compose, camhub_env):
    services = compose["services"]
    database = urlsplit(camhub_env["DATABASE_URL"])
    postgres = _environment(services["postgres"])
    assert (database.hostname, database.port or 5432) == ("postgres", 5432)
    assert database.username == postgres["POSTGRES_USER"]
    assert database.password == postgres["POSTGRES_PASSWORD"]
    assert database.path.lstrip("/") == postgres["POSTGRES_DB"]

    for name in ("CELERY_BROKER_URL", "CACHE_URL"):
        url = urlsplit(camhub_env[name])
        assert (url.scheme, url.hostname, url.port or 6379) == ("redis", "redis", 6379), name
    # Broker and cache in separate Redis databases: a cache flush never drops queued tasks.
    assert urlsplit(camhub_env["CELERY_BROKER_URL"]).path != urlsplit(camhub_env["CACHE_URL"]).path

    minio = _environment(services["minio"])
    endpoint = urlsplit(camhub_env["AWS_S3_ENDPOINT_URL"])
    assert (endpoint.hostname, endpoint.port) == ("minio", 9000)
    assert camhub_env["AWS_ACCESS_KEY_ID"] == minio["MINIO_ROOT_USER"]
    assert camhub_env["AWS_SECRET_ACCESS_KEY"] == minio["MINIO_ROOT_PASSWORD"]
    # The one-shot bucket job makes the bucket the settings use.
    bucket_command = _command(services["createbucket"])
    assert bucket_command[0] == "mb"
    assert bucket_command[-1].rsplit("/", 1)[-1] == camhub_env["AWS_STORAGE_BUCKET_NAME"]


def test_workers_consume_every_queue_and_beat_runs_once(compose, data_dir):
    services = compose["services"]
    loaded = _import_settings({"CAMHUB_DATA_DIR": str(data_dir)})
    consumed: set[str] = set()
    for name in ("worker", "hooks-worker"):
        command = _command(services[name])
        assert command[:4] == ["celery", "-A", "config", "worker"], name
        consumed |= set(command[command.index("--queues") + 1].split(","))
    assert {loaded["default_queue"], *loaded["routed_queues"]} <= consumed
    beats = [name for name, service in services.items() if "beat" in _command(service)]
    assert beats == ["beat"]
    assert _command(services["beat"])[:4] == ["celery", "-A", "config", "beat"]
    # Migrations run once, before the processes that need the schema.
    assert _command(services["migrate"])[-3:] == ["manage.py", "migrate", "--noinput"]
    for name in ("web", "worker", "hooks-worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_web_publishes_the_gunicorn_port_and_checks_healthz(compose):
    web = compose["services"]["web"]
    assert "command" not in web, "web runs the image's CMD (gunicorn)"
    assert any(str(port).endswith(":8000") for port in web["ports"])
    assert "http://127.0.0.1:8000/healthz" in " ".join(web["healthcheck"]["test"])
    published = [name for name, service in compose["services"].items() if service.get("ports")]
    assert published == ["web", "ftp"], "only web is reachable from outside (and the FTP gateway, when asked for)"
    assert compose["services"]["ftp"]["profiles"] == ["ftp"], "the FTP gateway runs only with --profile ftp"


def test_the_ftp_gateway_publishes_what_cameras_are_told(raw_compose, data_dir):
    """Its control port is FTP_GATEWAY_PORT (what web tells cameras), its passive range is
    published as is, and passive replies name FTP_MASQUERADE_ADDRESS, not the container's."""
    operator = {
        **OPERATOR_ENV,
        "FTP_GATEWAY_PORT": "2121",
        "FTP_PASSIVE_PORTS": "30100-30104",
        "FTP_MASQUERADE_ADDRESS": "203.0.113.10",
        "PUBLIC_BASE_URL": "https://cams.example.com",
    }
    ftp = interpolate(raw_compose, operator)["services"]["ftp"]
    assert _command(ftp)[-2:] == ["manage.py", "ftp_gateway"]
    assert ftp["ports"] == ["2121:2121", "30100-30104:30100-30104"]
    env = {**_environment(ftp), "CAMHUB_DATA_DIR": str(data_dir / "ftp"), "STATIC_ROOT": str(data_dir / "static")}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from config import settings as s; print(s.FTP_GATEWAY_HOST, s.FTP_GATEWAY_PORT, "
            "s.FTP_PASSIVE_PORTS, s.FTP_MASQUERADE_ADDRESS)",
        ],
        cwd=REPO,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # FTP_GATEWAY_HOST is passed empty: the public address's host, not "".
    assert result.stdout.split() == ["cams.example.com", "2121", "30100-30104", "203.0.113.10"]


def test_env_vars_holds_every_name_settings_py_reads(env_vars):
    # A name read only on some branch (e.g. under `if not DEBUG`) must still be in the set.
    tree = ast.parse((REPO / "config" / "settings.py").read_text())
    read = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id.startswith("env_")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }
    assert read, "settings.py reads nothing through its env_* helpers?"
    assert read <= env_vars, f"ENV_VARS misses: {sorted(read - env_vars)}"


def test_env_example_lists_every_variable_settings_reads(env_vars):
    listed = {
        line.split("=", 1)[0].strip()
        for line in (REPO / ".env.example").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    assert not env_vars - listed, f".env.example misses: {sorted(env_vars - listed)}"
    assert not listed - env_vars, f".env.example names variables settings never reads: {sorted(listed - env_vars)}"


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in (DOCKER / "Dockerfile").read_text().splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, arguments = pending.strip().partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def test_dockerfile_is_python_311_running_gunicorn_as_a_non_root_user(env_vars):
    instructions = _dockerfile()
    bases = [args for keyword, args in instructions if keyword == "FROM"]
    assert bases and re.match(r"python:3\.11(-|$)", bases[-1]), bases

    cmd = json.loads(next(args for keyword, args in instructions if keyword == "CMD"))
    assert cmd[0] == "gunicorn"
    assert "config.wsgi:application" in cmd or "config.wsgi" in cmd
    assert "0.0.0.0:8000" in cmd

    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users, "the image must not run as root"
    final_user = users[-1].split(":")[0]
    assert final_user not in {"root", "0"}
    runs = " ".join(args for keyword, args in instructions if keyword == "RUN")
    assert re.search(rf"useradd\b[^&;]*\b{re.escape(final_user)}\b", runs), f"user {final_user} is never created"
    # USER comes after the install steps, so the code stays root-owned and read-only to the app.
    last_run = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "RUN")
    assert max(i for i, (keyword, _) in enumerate(instructions) if keyword == "USER") > last_run


def test_dockerfile_sets_only_runtime_or_settings_variables(env_vars):
    runtime = {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONPATH", "DJANGO_SETTINGS_MODULE"}
    names: set[str] = set()
    for keyword, args in _dockerfile():
        if keyword == "ENV":
            names |= {pair.split("=", 1)[0] for pair in shlex.split(args)}
    unknown = {n for n in names - env_vars - runtime if not n.startswith("PIP_")}
    assert not unknown, f"the Dockerfile sets variables nothing reads: {sorted(unknown)}"
    assert "DJANGO_SETTINGS_MODULE" in names


def test_prepared_statements_can_be_turned_off_for_a_transaction_pooler(camhub_env, data_dir):
    env = {
        **camhub_env,
        "CAMHUB_DATA_DIR": str(data_dir / "data"),
        "STATIC_ROOT": str(data_dir / "static"),
        "DATABASE_PREPARE_THRESHOLD": "0",
    }
    assert _import_settings(env)["database_options"] == {}
