"""Settings read from ZHIFA_* environment variables, resolved once per process."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    secret_key: str | None
    max_upload_bytes: int

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    data_dir = Path(env.get("ZHIFA_DATA_DIR", "./var")).resolve()
    url = env.get("ZHIFA_DATABASE_URL") or f"sqlite:///{data_dir / 'zhifa.db'}"
    return Settings(
        data_dir=data_dir,
        database_url=url,
        secret_key=env.get("ZHIFA_SECRET_KEY"),
        # Body-camera video of a long inspection easily passes 4 GB.
        max_upload_bytes=int(env.get("ZHIFA_MAX_UPLOAD_MB", "8192")) * 1024 * 1024,
    )
