"""Process-wide settings, read from MAMMOTH_* environment variables and a `.env` file."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MAMMOTH_", env_file=".env", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str = ""
    default_timezone: str = "Asia/Shanghai"
    default_locale: str = "zh"
    materials_dir: Path = Path(__file__).resolve().parent.parent / "materials"
    model_dir: Path = Path("var/models")

    # Run the nudge scheduler inside `mammoth run` (leader-elected; off for scripted sessions).
    scheduler: bool = True

    telegram_token: str = ""
    telegram_api_url: str = ""
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = ""
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = 8443

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'mammoth.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
