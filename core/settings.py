"""Process configuration from environment variables, with embedded defaults that need nothing installed."""

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    """DATABASE_URL, TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE switch to external servers; BPO_* tune the rest."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    database_url: str | None = Field(None, validation_alias=_env("DATABASE_URL"))
    """Unset: an embedded PostgreSQL under ``var_dir/pg`` is started and used."""
    temporal_address: str | None = Field(None, validation_alias=_env("TEMPORAL_ADDRESS"))
    """Unset: the embedded Temporal dev server on localhost (started by ``bpo up``)."""
    temporal_namespace: str = Field("default", validation_alias=_env("TEMPORAL_NAMESPACE"))
    task_queue: str = Field("bpo", validation_alias=_env("BPO_TASK_QUEUE"))

    var_dir: Path = Field(PROJECT_ROOT / "var", validation_alias=_env("BPO_VAR_DIR"))
    outbox_dir: Path | None = Field(None, validation_alias=_env("BPO_OUTBOX_DIR"))
    """Drop folder of the outbound market-message transport; default ``var_dir/outbox``."""

    api_host: str = Field("127.0.0.1", validation_alias=_env("BPO_API_HOST"))
    api_port: int = Field(8000, validation_alias=_env("BPO_API_PORT"))
    temporal_port: int = Field(7233, validation_alias=_env("BPO_TEMPORAL_PORT"))
    temporal_ui_port: int = Field(8233, validation_alias=_env("BPO_TEMPORAL_UI_PORT"))

    log_json: bool | None = Field(None, validation_alias=_env("BPO_LOG_JSON"))
    """None: JSON when stderr is not a terminal."""
    log_level: str = Field("INFO", validation_alias=_env("BPO_LOG_LEVEL"))

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def embedded_temporal(self) -> bool:
        return self.temporal_address is None

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"localhost:{self.temporal_port}"

    @property
    def outbox_path(self) -> Path:
        return self.outbox_dir or self.var_dir / "outbox"

    @property
    def customer_outbox_path(self) -> Path:
        """Bills and letters for customers: ``email/`` for the mail server, ``print/`` for the print shop."""
        return self.var_dir / "customer-outbox"

    @property
    def client_outbox_path(self) -> Path:
        """Notifications for the client (the supplier): ``email/`` for the mail server."""
        return self.var_dir / "client-outbox"


@lru_cache
def get_settings() -> Settings:
    return Settings()
