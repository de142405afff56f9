"""config.settings with the benchmark URLs (``/bench/bare``) added; nothing else differs."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bare_urls"
