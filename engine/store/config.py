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
    session_idle_minutes: int = 480     # an office day without a click logs out
    session_max_hours: int = 12         # and no session outlives a working day
    secure_cookies: bool = False        # set behind HTTPS: cookies only over TLS
    proxy_hops: int = 0                 # reverse proxies in front (X-Forwarded-For/-Proto trusted)

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
        session_idle_minutes=int(env.get("ZHIFA_SESSION_IDLE_MINUTES", "480")),
        session_max_hours=int(env.get("ZHIFA_SESSION_MAX_HOURS", "12")),
        secure_cookies=env.get("ZHIFA_SECURE_COOKIES", "").lower() in ("1", "true", "yes", "on"),
        proxy_hops=int(env.get("ZHIFA_PROXY_HOPS", "0")),
    )
