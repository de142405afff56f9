"""/readyz answers 503 when the database cannot be reached (a real unreachable server)."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import django, json
django.setup()
from django.test import Client
r = Client().get('/readyz')
print(json.dumps({'status': r.status_code, 'body': r.json()}))
"""


def run_probe(**env_overrides) -> dict:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings", **env_overrides)
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_readyz_is_503_when_database_is_down(tmp_path):
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    result = run_probe(DATABASE_URL="postgres://nobody@127.0.0.1:1/none", CAMHUB_DATA_DIR=str(tmp_path))
    assert result["status"] == 503
    assert result["body"]["checks"]["database"]["ok"] is False
    assert "database" in result["body"]["message"]


def test_readyz_is_503_when_broker_is_down(tmp_path):
    result = run_probe(CELERY_BROKER_URL="redis://127.0.0.1:1/0", CAMHUB_DATA_DIR=str(tmp_path))
    assert result["status"] == 503
    assert result["body"]["checks"]["broker"]["ok"] is False
