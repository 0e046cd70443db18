"""Settings: safe production defaults, refused placeholders, errors that never echo secrets."""

from __future__ import annotations

import secrets

import pytest
from pydantic import ValidationError

from app.core.config import Settings


def prod(**values: object) -> Settings:
    return Settings(_env_file=None, app_env="production", **values)


@pytest.mark.parametrize("key", [None, "", "short", "changeme", "sua_chave_secreta" + " " * 0])
def test_production_refuses_missing_short_or_placeholder_secret(key) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        prod(secret_key=key, gemini_api_key="k")


def test_production_refuses_running_without_a_model_key() -> None:
    with pytest.raises(ValidationError, match="GEMINI_API_KEY"):
        prod(secret_key=secrets.token_hex(32))
    ok = prod(secret_key=secrets.token_hex(32), model_provider="demo")
    assert ok.model_mode == "demo"
    assert prod(secret_key=secrets.token_hex(32), google_api_key="g").model_mode == "gemini"


def test_production_defaults_are_safe() -> None:
    key = secrets.token_hex(32)
    s = prod(secret_key=key, gemini_api_key="AIza-not-a-real-key")
    assert s.secure_cookies is True
    assert s.cors_origins == []
    for secret in (key, "AIza-not-a-real-key"):
        assert secret not in repr(s)  # SecretStr: never printed or logged by accident


def test_development_without_key_uses_demo_and_a_persistent_dev_secret(tmp_path) -> None:
    from app.core.config import signing_key

    s = Settings(_env_file=None, data_dir=tmp_path)
    assert s.model_mode == "demo"
    first = signing_key(s)
    assert len(first) == 64 and signing_key(s) == first
    assert (tmp_path / ".dev-secret-key").stat().st_mode & 0o777 == 0o600


def test_cors_origins_from_a_comma_list(monkeypatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings(_env_file=None).cors_origins == ["https://a.example", "https://b.example"]


def test_settings_errors_do_not_echo_secrets() -> None:
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None, app_env="production", secret_key="short", gemini_api_key="AIzaXYZ")
    assert "AIzaXYZ" not in str(err.value)


def test_gemini_mode_without_a_key_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="MODEL_PROVIDER=gemini"):
        Settings(_env_file=None, model_provider="gemini")


def test_wildcard_cors_is_refused() -> None:
    with pytest.raises(ValidationError, match="CORS_ORIGINS"):
        Settings(_env_file=None, cors_origins="*")
