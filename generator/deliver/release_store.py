"""A release store on disk: the model's GitOps directory, read and written by promote / rollback
(generator/render/release.py decides what the files say)."""

from __future__ import annotations

from pathlib import Path

from generator.deliver.writer import write_atomically
from generator.frozen import frozen
from generator.render.release import HISTORY_FILE, Outcome


@frozen
class DirectoryStore:
    root: Path

    def read(self, path: str) -> bytes | None:
        try:
            return (self.root / path).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def environments(self) -> list[str]:
        overlays = self.root / "overlays"
        return sorted(p.name for p in overlays.glob("*") if (p / HISTORY_FILE).is_file()) if overlays.is_dir() else []

    def write(self, outcome: Outcome) -> None:
        for path, data in sorted(outcome.files.items()):
            write_atomically(self.root / path, data)
