"""Errors a user can act on: each names the file and line (or the option) at fault."""

from __future__ import annotations

from pathlib import Path


class GvsError(Exception):
    """A problem with the user's input or environment; the CLI prints it and exits 2."""


class InputFileError(GvsError):
    """A suite or locale file is malformed; carries the file and, where known, the line."""

    def __init__(self, path: Path | str, line: int | None, message: str):
        self.path = Path(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else str(self.path)
        super().__init__(f"{where}: {message}")
