"""Runtime settings, read once from the environment (prefix ``AFTERSALES_``).

Every process (worker, API, the dev launcher) reads the same settings, so a value set in
the shell or in docker-compose reaches all of them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent
Role = Literal["agent", "supervisor", "manager", "technician", "admin"]
ROLES: tuple[str, ...] = ("agent", "supervisor", "manager", "technician", "admin")
STAFF_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")

# The SMS provider's request body: $phone, $text, $key (the idempotency key) and $sign.
DEFAULT_SMS_BODY = '{"to": "$phone", "sign": "$sign", "content": "$text", "request_id": "$key"}'

# Tokens that ship in the README and the Makefile for local runs; refused in production.
DEV_TOKEN_PREFIX = "dev-"
DEV_QUALITY_SEED = "aftersales-dev"  # likewise refused in production


@dataclass(frozen=True)
class Caller:
    """Who holds a token: a role, and for a technician the staff id whose work they see."""

    role: str
    staff_id: str | None = None

    def __str__(self) -> str:
        return f"{self.role}:{self.staff_id}" if self.staff_id else self.role

    def acting_as(self, claimed: str | None) -> str:
        """Whom an action is recorded under: the staff id the token names (nobody records a
        step in a colleague's name), else the ``by`` the body gives, else the role."""
        return self.staff_id or claimed or self.role


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AFTERSALES_", extra="ignore")

    environment: Literal["dev", "production"] = "dev"
    # Local state of `make run`: the SQLite case file and the dev server's workflows.
    data_dir: Path = ROOT / ".data"
    # Empty: a SQLite file in data_dir. PostgreSQL: postgresql+psycopg2://user:pass@host/db
    database_url: str = ""
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "aftersales"
    temporal_ui_port: int = 8233
    # Where the console links a case to its workflow; defaults to the embedded dev server's UI.
    temporal_ui_url: str | None = None
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    policy: Path = ROOT / "policies" / "default.toml"
    # "token=role,token=role:staff-id"; a technician's token names their staff id. Kept as
    # the raw string so pydantic-settings does not try JSON.
    api_tokens: str = ""
    timezone: str = "Asia/Shanghai"
    # Signs the customer's messages.
    company_name: str = "售后服务中心"
    # The number customers are given to call back (the revisit message).
    company_phone: str = ""
    # Keys the quality-check draw (domain.discipline): set it in production, so that nobody
    # reading the code can tell which work orders will be checked.
    quality_sample_seed: str = Field(default=DEV_QUALITY_SEED, min_length=8)
    # Prefix of case numbers: AS20261122-0001.
    case_prefix: str = Field(default="AS", pattern=r"^[A-Z]{1,4}$")
    # The largest request body the API takes (api/middleware.py): a larger one is refused
    # with 413 before it is read. Our largest bodies are a few KB; the console's forms are
    # held to 64 KB on their own, so the limit may not go below that.
    max_body_bytes: int = Field(default=1024 * 1024, ge=64 * 1024, le=64 * 1024 * 1024)

    # -- channels: each is on when its address is set (README: "Notifications") ------------
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: Literal["none", "starttls", "ssl"] = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_sender: str = "service@example.com"
    smtp_sender_name: str = ""  # defaults to the company name
    smtp_ca_file: Path | None = None  # a private CA's certificate
    sms_url: str = ""
    sms_token: str = ""
    sms_auth_header: str = "Authorization"
    sms_auth_prefix: str = "Bearer "
    sms_sign: str = ""  # the SMS signature (签名); defaults to the company name
    sms_body_template: str = DEFAULT_SMS_BODY
    sms_id_field: str = "message_id"
    wecom_webhook_url: str = ""
    dingtalk_webhook_url: str = ""
    dingtalk_secret: str = ""
    webhook_url: str = ""
    webhook_secret: str = ""
    # Staff reached by email: "supervisor=desk-lead@example.com,manager=…"
    staff_email: str = ""

    @field_validator("sms_body_template")
    @classmethod
    def _sms_body_is_json(cls, value: str) -> str:
        try:
            body = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"AFTERSALES_SMS_BODY_TEMPLATE is not JSON: {exc}") from None
        if "$text" not in json.dumps(body) or "$phone" not in json.dumps(body):
            raise ValueError("AFTERSALES_SMS_BODY_TEMPLATE must place $phone and $text")
        return value

    @model_validator(mode="after")
    def _webhook_is_signed(self) -> Settings:
        if self.webhook_url and len(self.webhook_secret) < 16:
            raise ValueError("AFTERSALES_WEBHOOK_SECRET must be set (16+ characters) when AFTERSALES_WEBHOOK_URL is")
        return self

    def staff_emails(self) -> dict[str, str]:
        """Parse ``staff_email`` into {role: address}."""
        result: dict[str, str] = {}
        for pair in filter(None, (p.strip() for p in self.staff_email.split(","))):
            role, sep, address = (part.strip() for part in pair.partition("="))
            if not sep or "@" not in address:
                raise ValueError(f"AFTERSALES_STAFF_EMAIL: expected role=address, got {pair!r}")
            result[role] = address
        return result

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Asia/Shanghai)")
        return value

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'aftersales.db'}"
        return self

    @field_validator("policy", "data_dir")
    @classmethod
    def _relative_to_root(cls, value: Path) -> Path:
        return value if value.is_absolute() else (Path.cwd() / value)

    @model_validator(mode="after")
    def _tokens_are_valid(self) -> Settings:
        tokens = self.tokens()  # raises ValueError naming the bad pair
        if self.environment == "production":
            if not tokens:
                raise ValueError("AFTERSALES_API_TOKENS must be set in production")
            weak = [t for t in tokens if t.startswith(DEV_TOKEN_PREFIX) or len(t) < 16]
            if weak:
                raise ValueError(
                    "AFTERSALES_API_TOKENS: production tokens must be at least 16 characters "
                    f"and must not start with {DEV_TOKEN_PREFIX!r}"
                )
            if self.quality_sample_seed == DEV_QUALITY_SEED:
                raise ValueError("AFTERSALES_QUALITY_SAMPLE_SEED must be set in production: a secret of your own")
        return self

    def tokens(self) -> dict[str, Caller]:
        """Parse ``api_tokens`` into {token: caller}: ``token=role`` or ``token=role:staff-id``."""
        result: dict[str, Caller] = {}
        for pair in filter(None, (p.strip() for p in self.api_tokens.split(","))):
            token, sep, holder = pair.partition("=")
            token = token.strip()
            role, _, staff_id = (part.strip() for part in holder.partition(":"))
            if not sep or not token:
                raise ValueError(f"AFTERSALES_API_TOKENS: expected token=role, got {pair.split('=')[0][:4]}…")
            if role not in ROLES:
                raise ValueError(f"AFTERSALES_API_TOKENS: unknown role {role!r} (roles: {', '.join(ROLES)})")
            if staff_id and not STAFF_ID.fullmatch(staff_id):
                raise ValueError(f"AFTERSALES_API_TOKENS: {staff_id!r} is not a staff id (letters, digits, - and _)")
            if role == "technician" and not staff_id:
                # A technician sees only their own work: the token must say whose.
                raise ValueError("AFTERSALES_API_TOKENS: a technician's token names their staff id: token=technician:tech-017")
            result[token] = Caller(role, staff_id or None)
        return result

    @model_validator(mode="after")
    def _staff_email_parses(self) -> Settings:
        self.staff_emails()  # raises ValueError naming the bad pair
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def ui_url(self) -> str:
        host = self.temporal_address.rsplit(":", 1)[0]
        return self.temporal_ui_url or f"http://{host}:{self.temporal_ui_port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
