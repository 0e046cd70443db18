"""Settings: the one place environment variables and `.env` are read."""

from __future__ import annotations

import difflib
import logging
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from dotenv import dotenv_values
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

log = logging.getLogger("app.config")

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Values people paste from examples; production refuses them as secrets.
_PLACEHOLDER_SECRETS = {
    "changeme",
    "change-me",
    "changethis",
    "secret",
    "your-secret-key",
    "your_secret_key",
    "sua_chave_secreta",
    "replace-me",
}

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful, concise assistant. Answer in the language the user writes in. "
    "Use Markdown for structure and code."
)


# An email domain of the sign-up allow-list: "example.com", "mail.example.co.uk".
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normalize_domain(value: str) -> str:
    """A domain as the allow-list keeps it: lower case, without a leading "@"; ValueError
    if it is not a domain name."""
    domain = value.strip().lower().removeprefix("@")
    if not _DOMAIN_RE.fullmatch(domain):
        raise ValueError(f"not an email domain: {value.strip()[:60]!r}")
    return domain


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        # A refused setting must not print the others (API keys) into the journal.
        hide_input_in_errors=True,
    )

    app_env: Literal["development", "production"] = "development"
    secret_key: SecretStr | None = None
    data_dir: Path = PROJECT_ROOT / "data"
    database_url: str | None = None
    # PostgreSQL connections per worker process: kept open (pool size) and opened on top in a
    # burst (max overflow). Hosts × workers × (both) must stay under the server's
    # max_connections; docs/scaling.md sizes them. SQLite ignores them.
    database_pool_size: int = Field(default=5, ge=1, le=100)
    database_max_overflow: int = Field(default=10, ge=0, le=100)

    # The model. With no key, development runs the offline demo model; production refuses
    # unless MODEL_PROVIDER=demo is chosen explicitly.
    model_provider: Literal["auto", "gemini", "demo"] = "auto"
    gemini_api_key: SecretStr | None = None
    google_api_key: SecretStr | None = None
    gemini_model: str = "gemini-2.5-flash"
    gemini_base_url: str | None = None
    gemini_timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    # Attempts in total (the client counts the first call): 2 = one retry.
    gemini_max_retries: int = Field(default=2, ge=1, le=6)
    gemini_temperature: float | None = Field(default=None, ge=0, le=2)
    default_system_prompt: str = DEFAULT_SYSTEM_PROMPT

    # Memory: a turn sends the newest messages that fit this many (estimated) tokens, and
    # never more than history_max_messages of them (the SDK's per-message CPU cost).
    history_token_budget: int = Field(default=6000, ge=100, le=1_000_000)
    history_max_messages: int = Field(default=24, ge=2, le=1000)
    # Long memory (app/chat/summary.py): the verbatim window the summariser keeps; older
    # messages of the branch are folded into a running summary, at most every
    # summary_every_turns turns (0 turns it off). Until they are folded they are still sent,
    # within the two limits above (see summary_keep_messages).
    history_window_messages: int = Field(default=6, ge=2, le=1000)
    summary_every_turns: int = Field(default=4, ge=0, le=100)
    summary_max_tokens: int = Field(default=800, ge=50, le=20_000)
    # Retries after a failed summary call (each call also gets the client's own attempts),
    # waiting summary_retry_seconds, then twice that, ...
    summary_retries: int = Field(default=2, ge=0, le=5)
    summary_retry_seconds: float = Field(default=2.0, ge=0, le=300)

    # Answers in progress. A turn's lease lives this long unless renewed; the running turn
    # renews it every third of that, so a dead worker frees its conversation within it.
    turn_lease_seconds: float = Field(default=30.0, ge=1, le=600)
    # On shutdown, answers being written get this long to finish; the rest are saved as
    # interrupted. Below gunicorn's graceful_timeout and systemd's TimeoutStopSec.
    shutdown_grace_seconds: float = Field(default=25.0, ge=0, le=600)

    # Tokens.
    access_token_ttl_seconds: int = Field(default=900, ge=2, le=86_400)
    refresh_token_ttl_days: int = Field(default=30, ge=1, le=365)
    cookie_secure: bool | None = None  # None: secure in production

    # Limits.
    max_message_chars: int = Field(default=8000, ge=1, le=200_000)
    # 8,000 characters of emoji sent by a client that \u-escapes them (12 bytes each) fit.
    max_body_bytes: int = Field(default=128 * 1024, ge=1024)
    chat_rate_per_minute: int = Field(default=20, ge=1)
    daily_message_quota: int = Field(default=500, ge=1)
    # Failed password (or two-factor code) attempts per minute, per account and per client
    # IP; a correct sign-in costs only its account's budget, so an office behind one
    # address isn't throttled by its own colleagues.
    login_rate_per_minute: int = Field(default=10, ge=1)
    register_rate_per_hour: int = Field(default=20, ge=1)  # per client IP
    max_concurrent_hashes: int = Field(default=4, ge=1, le=64)
    # Model tokens (in + out, as the model reports them). Checked before a turn starts, so
    # turns already running can overshoot by their own tokens (docs/operations.md). An
    # admin's value in site_settings wins over these; 0 = no limit.
    daily_token_budget: int = Field(default=0, ge=0)  # the whole site, per UTC day
    monthly_token_quota: int = Field(default=0, ge=0)  # per account, per UTC month
    # Admins must turn on two-factor sign-in (TOTP) before /admin/* answers them.
    require_admin_totp: bool = False

    # Sign-ups (app/admin/settings.py): open, invite (an admin's invite link needed) or
    # closed; unset = open in development, invite in production. An admin overrides both
    # at run time (PATCH /admin/settings). Email domains: comma list, empty = any.
    signup_policy: Literal["open", "invite", "closed"] | None = None
    signup_email_domains: Annotated[list[str], NoDecode] = []
    # Audit events older than this are deleted (daily by each worker, and manage audit-expire).
    audit_retention_days: int = Field(default=90, ge=1, le=36_500)

    # Web.
    cors_origins: Annotated[list[str], NoDecode] = []
    serve_frontend: bool = True
    frontend_dir: Path = PROJECT_ROOT / "frontend"
    trust_proxy_headers: bool = False
    log_level: str = "INFO"

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @field_validator("signup_email_domains", mode="before")
    @classmethod
    def _split_domains(cls, value: object) -> object:
        if isinstance(value, str):
            value = [d for d in value.split(",") if d.strip()]
        if isinstance(value, list):
            return [normalize_domain(str(d)) for d in value]
        return value

    @model_validator(mode="after")
    def _check_production(self) -> Settings:
        if "*" in self.cors_origins:
            raise ValueError(
                "CORS_ORIGINS=* would let any site use visitors' sign-ins: list the origins"
            )
        if self.model_provider == "gemini" and self.api_key is None:
            raise ValueError("MODEL_PROVIDER=gemini needs GEMINI_API_KEY (or GOOGLE_API_KEY)")
        if self.app_env == "production":
            key = self.secret_key.get_secret_value() if self.secret_key else ""
            if len(key) < 32 or key.strip().lower() in _PLACEHOLDER_SECRETS:
                raise ValueError(
                    "SECRET_KEY must be set to a random value of at least 32 characters in "
                    "production (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)"
                )
            if self.model_mode == "gemini" and self.api_key is None:
                raise ValueError(
                    "GEMINI_API_KEY (or GOOGLE_API_KEY) is required in production; "
                    "set MODEL_PROVIDER=demo to run the offline demo model on purpose"
                )
        return self

    @property
    def summary_keep_messages(self) -> int:
        """The verbatim window the summariser keeps. Between two summaries up to
        2 x summary_every_turns more messages wait to be folded and are still sent, so the
        window shrinks if history_max_messages would not leave room for them."""
        room = self.history_max_messages - 2 * self.summary_every_turns
        return max(2, min(self.history_window_messages, room))

    @property
    def default_signup_policy(self) -> Literal["open", "invite", "closed"]:
        if self.signup_policy is not None:
            return self.signup_policy
        return "invite" if self.is_production else "open"

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def api_key(self) -> SecretStr | None:
        for key in (self.gemini_api_key, self.google_api_key):
            if key is not None and key.get_secret_value().strip():
                return key
        return None

    @property
    def model_mode(self) -> Literal["gemini", "demo"]:
        if self.model_provider == "auto":
            if self.is_production:
                return "gemini"
            return "gemini" if self.api_key is not None else "demo"
        return self.model_provider

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Accept the URLs hosting providers hand out; psycopg 3 is the driver we ship.
            for prefix in ("postgres://", "postgresql://"):
                if url.startswith(prefix):
                    return "postgresql+psycopg://" + url[len(prefix) :]
            return url
        return f"sqlite:///{self.data_dir / 'chatbot.db'}"

    @property
    def drain_file(self) -> Path:
        """While this file exists /ready answers 503, so a load balancer stops sending new
        requests here (a rolling deploy's drain). A file, not a flag in memory, so that every
        worker process sees it and it outlives a restart; `python -m app.manage drain` and
        the Ansible role set and clear it."""
        return self.data_dir / "draining"

    @property
    def secure_cookies(self) -> bool:
        return self.is_production if self.cookie_secure is None else self.cookie_secure


def signing_key(settings: Settings) -> str:
    """The JWT signing key.

    Development without SECRET_KEY keeps a generated key in the data directory, so sign-ins
    survive `--reload` and every worker of `make serve-prod` agrees on it. Production never
    gets here without a configured key (see Settings._check_production).
    """
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        return settings.secret_key.get_secret_value()
    path = settings.data_dir / ".dev-secret-key"
    if path.exists():
        return path.read_text().strip()
    log.warning("SECRET_KEY is not set: using a generated development key in %s", path)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Write aside, then link into place: link fails if another worker won the race, and
    # nobody ever reads a half-written file.
    tmp = path.with_name(f".dev-secret-key.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    try:
        os.link(tmp, path)
    except FileExistsError:
        key = path.read_text().strip()
    finally:
        tmp.unlink()
    return key


@lru_cache
def get_settings() -> Settings:
    return Settings()


# -- unknown settings ----------------------------------------------------------------------
# Settings ignore names they don't know (the environment holds PATH, HOME, …), so a typo or
# an invented name would silently do nothing. Names that are clearly meant for us are
# checked instead: every key of our env files, and any variable starting with CHATBOT_.
ENV_FILE_VARIABLE = "CHATBOT_ENV_FILE"  # the host's env file names itself with it
OUR_PREFIX = "CHATBOT_"
# Names of ours read by something other than Settings: gunicorn_conf.py, the host's
# chatbot-manage wrapper, the provisioning CLI (scripts/aws), and the env file's own path.
OTHER_KNOWN_KEYS = frozenset(
    {
        "WEB_CONCURRENCY",
        "CHATBOT_RELEASE",
        "CHATBOT_SSH_CIDR",
        "CHATBOT_ADMIN_PASSWORD",
        ENV_FILE_VARIABLE,
    }
)


def known_setting_names() -> frozenset[str]:
    return frozenset(name.upper() for name in Settings.model_fields) | OTHER_KNOWN_KEYS


def closest_setting(name: str, known: Iterable[str]) -> str | None:
    """The known name `name` was most likely meant to be: a near spelling, else the one
    sharing the most words (RATE_LIMIT_CHAT → CHAT_RATE_PER_MINUTE), at least two."""
    known = sorted(known)
    name = name.upper().removeprefix(OUR_PREFIX)
    near = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if near:
        return near[0]
    words = set(name.split("_"))
    shared = {k: len(words & set(k.split("_"))) for k in known}
    best = max(known, key=lambda k: shared[k], default=None)
    return best if best is not None and shared[best] >= 2 else None


# What systemd itself puts in a service's environment (systemd.exec(5), "Environment
# Variables in Spawned Processes"), the locale variables it passes on, and what gunicorn
# sets for itself. Under systemd,
# every other variable of the service came from its unit: Environment= or EnvironmentFile=.
SYSTEMD_SPAWN_VARIABLES = frozenset(
    {
        "PATH", "LANG", "LANGUAGE", "USER", "LOGNAME", "HOME", "SHELL", "TERM", "TZ",
        "INVOCATION_ID", "JOURNAL_STREAM", "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID",
        "LISTEN_FDNAMES", "WATCHDOG_PID", "WATCHDOG_USEC", "MAINPID", "MANAGERPID",
        "SYSTEMD_EXEC_PID", "RUNTIME_DIRECTORY", "STATE_DIRECTORY", "CACHE_DIRECTORY",
        "LOGS_DIRECTORY", "CONFIGURATION_DIRECTORY", "CREDENTIALS_DIRECTORY", "PIDFILE",
        "MEMORY_PRESSURE_WATCH", "MEMORY_PRESSURE_WRITE", "REMOTE_ADDR", "REMOTE_PORT",
        "SERVICE_RESULT", "EXIT_CODE", "EXIT_STATUS", "MONITOR_SERVICE_RESULT",
        "MONITOR_EXIT_CODE", "MONITOR_EXIT_STATUS", "MONITOR_INVOCATION_ID", "MONITOR_UNIT",
        "TRIGGER_UNIT", "TRIGGER_PATH", "TRIGGER_TIMER_REALTIME_USEC",
        "TRIGGER_TIMER_MONOTONIC_USEC", "PWD",
        # Set by gunicorn in its own process (its workers inherit it).
        "SERVER_SOFTWARE",
    }
)  # fmt: skip


def _env_file_keys_seen_by_systemd(environ: Mapping[str, str], path: Path) -> list[str]:
    """The host's env file is root's alone (0600): systemd reads it for the service, which
    can't. Its keys are still in our environment, beside what systemd adds: when systemd
    started us (INVOCATION_ID) with this file (it names itself), those are the rest."""
    if "INVOCATION_ID" not in environ or environ.get(ENV_FILE_VARIABLE) != str(path):
        return []
    return [
        key
        for key in environ
        if key.upper() not in SYSTEMD_SPAWN_VARIABLES and not key.upper().startswith("LC_")
    ]


def unknown_settings(environ: Mapping[str, str], env_files: Iterable[Path]) -> list[str]:
    """One message per name meant as a setting that no setting has: the keys of the given
    env files (read, or when unreadable seen through systemd) and CHATBOT_-prefixed
    variables of `environ`."""
    known = known_setting_names()
    found: dict[str, str] = {}
    for path in env_files:
        if path.is_file() and os.access(path, os.R_OK):
            keys = list(dotenv_values(path))
        else:
            keys = _env_file_keys_seen_by_systemd(environ, path)
        for key in keys:
            found.setdefault(key.upper(), str(path))
    for key in environ:
        if key.upper().startswith(OUR_PREFIX):
            found.setdefault(key.upper(), "the environment")
    messages = []
    for key, source in sorted(found.items()):
        if key in known:
            continue
        guess = closest_setting(key, known - OTHER_KNOWN_KEYS)
        hint = f"did you mean {guess}?" if guess else "see .env.example for the settings"
        messages.append(f"unknown setting {key} in {source} is ignored: {hint}")
    return messages


def warn_unknown_settings() -> None:
    """Log each unknown setting, once per process at startup: the `.env` Settings read,
    the file systemd loaded (it names itself in CHATBOT_ENV_FILE), CHATBOT_ variables."""
    files = [Path(str(Settings.model_config.get("env_file")))]
    if os.environ.get(ENV_FILE_VARIABLE):
        files.append(Path(os.environ[ENV_FILE_VARIABLE]))
    for message in unknown_settings(os.environ, files):
        log.warning("%s", message)
