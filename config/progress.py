"""A progress bar for management commands: redrawn in place on a terminal, a line per tenth
(and the last) when the output is a file or a pipe, so logs stay readable."""

from __future__ import annotations

from typing import TextIO


class ProgressBar:
    """``bar = ProgressBar(stream, "label")``; call ``bar(done, total)`` as work proceeds, then
    ``bar.close()``."""

    WIDTH = 30

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self.interactive = bool(getattr(stream, "isatty", lambda: False)())
        self._last_tenth = -1
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        fraction = done / total if total else 1.0
        filled = round(self.WIDTH * fraction)
        line = f"{self.label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total} ({fraction:.0%})"
        if self.interactive:
            self.stream.write(f"\r{line}")
            self.stream.flush()
            self._drawn = True
            return
        tenth = int(fraction * 10)
        if tenth != self._last_tenth or done == total:
            self._last_tenth = tenth
            self.stream.write(f"{line}\n")
            self.stream.flush()

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
