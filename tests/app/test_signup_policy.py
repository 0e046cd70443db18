"""Sign-up policy (open / invite / closed), the email-domain allow-list, and the run-time
settings admins change (GET/PATCH /admin/settings)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app
from tests.helpers.accounts import Account, registration

SETTING_KEYS = {
    "signup_policy",
    "signup_email_domains",
    "daily_token_budget",
    "monthly_token_quota",
    "require_admin_totp",
}


def test_the_env_default_is_open_in_development_and_invite_in_production() -> None:
    assert Settings(_env_file=None).default_signup_policy == "open"
    prod = Settings(
        _env_file=None, app_env="production", secret_key="k" * 40, model_provider="demo"
    )
    assert prod.default_signup_policy == "invite"
    assert Settings(_env_file=None, signup_policy="closed").default_signup_policy == "closed"


def test_env_domains_are_normalised_and_checked() -> None:
    s = Settings(_env_file=None, signup_email_domains=" Corp.Example , @b.org")
    assert s.signup_email_domains == ["corp.example", "b.org"]
    with pytest.raises(ValueError, match="not an email domain"):
        Settings(_env_file=None, signup_email_domains="nodot")


def test_config_shows_the_policy(client: TestClient) -> None:
    assert client.get("/config").json()["signup"] == {"policy": "open", "email_domains": []}


def test_settings_show_all_five_keys(client: TestClient, admin: Account) -> None:
    r = client.get("/admin/settings", headers=admin.headers)
    assert r.status_code == 200
    assert r.json() == {
        "signup_policy": "open",
        "signup_email_domains": [],
        "daily_token_budget": 0,
        "monthly_token_quota": 0,
        "require_admin_totp": False,
    }


def test_closed_policy_refuses_everyone(settings_factory, fake) -> None:
    with TestClient(create_app(settings_factory(signup_policy="closed"))) as client:
        r = client.post("/register", json=registration("bob"))
        assert r.status_code == 403 and r.json() == {"detail": "Sign-ups are closed"}
        assert client.get("/config").json()["signup"]["policy"] == "closed"


def test_invite_policy_needs_an_invite(settings_factory, fake) -> None:
    with TestClient(create_app(settings_factory(signup_policy="invite"))) as client:
        r = client.post("/register", json=registration("bob"))
        assert r.status_code == 403
        assert r.json() == {"detail": "An invite is required to sign up"}
        r = client.post("/register", json={**registration("bob"), "invite": "made-up"})
        assert r.status_code == 403
        assert r.json() == {"detail": "This invite is invalid, expired or used up"}


def test_the_domain_allow_list(settings_factory, fake) -> None:
    settings = settings_factory(signup_email_domains="a.com,b.org")
    with TestClient(create_app(settings)) as client:
        r = client.post("/register", json=registration("bob", email="bob@c.net"))
        assert r.status_code == 422
        assert r.json() == {
            "detail": [
                {
                    "loc": ["body", "email"],
                    "msg": "Sign-ups are limited to these email domains: a.com, b.org",
                    "type": "value_error",
                }
            ]
        }
        # A subdomain is another domain; case doesn't matter.
        r = client.post("/register", json=registration("bob", email="bob@x.a.com"))
        assert r.status_code == 422
        assert (
            client.post("/register", json=registration("bob", email="Bob@B.ORG")).status_code == 201
        )
        assert client.get("/config").json()["signup"]["email_domains"] == ["a.com", "b.org"]


def test_patch_changes_and_resets(client: TestClient, admin: Account) -> None:
    r = client.patch(
        "/admin/settings",
        json={"signup_policy": "closed", "signup_email_domains": ["@Corp.Example", "corp.example"]},
        headers=admin.headers,
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == SETTING_KEYS
    assert body["signup_policy"] == "closed" and body["signup_email_domains"] == ["corp.example"]
    assert client.post("/register", json=registration("bob")).status_code == 403
    r = client.patch(
        "/admin/settings",
        json={"daily_token_budget": 1000, "monthly_token_quota": 50, "require_admin_totp": True},
        headers=admin.headers,
    )
    assert r.json() == {
        "signup_policy": "closed",
        "signup_email_domains": ["corp.example"],
        "daily_token_budget": 1000,
        "monthly_token_quota": 50,
        "require_admin_totp": True,
    }
    # null: back to the env's value.
    r = client.patch(
        "/admin/settings",
        json={"signup_policy": None, "signup_email_domains": None, "require_admin_totp": None},
        headers=admin.headers,
    )
    assert r.json()["signup_policy"] == "open" and r.json()["signup_email_domains"] == []
    assert r.json()["require_admin_totp"] is False and r.json()["daily_token_budget"] == 1000
    assert client.post("/register", json=registration("bob")).status_code == 201
    events = client.get(
        "/admin/audit", params={"event": "admin.settings_changed"}, headers=admin.headers
    ).json()["items"]
    assert len(events) == 3 and events[-1]["details"] == {
        "signup_policy": "closed",
        "signup_email_domains": ["corp.example"],
    }
    assert events[-1]["actor"] == "root"


@pytest.mark.parametrize(
    "body",
    [
        {"signup_policy": "sometimes"},
        {"signup_email_domains": "a.com"},
        {"signup_email_domains": ["not a domain"]},
        {"signup_email_domains": [f"d{i}.com" for i in range(51)]},
        {"daily_token_budget": -1},
        {"daily_token_budget": "10"},
        {"monthly_token_quota": True},
        {"monthly_token_quota": 1.5},
        {"require_admin_totp": "yes"},
        {"unknown_key": 1},
    ],
)
def test_patch_validates_each_key(client: TestClient, admin: Account, body: dict) -> None:
    r = client.patch("/admin/settings", json=body, headers=admin.headers)
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], list)
    assert client.get("/admin/settings", headers=admin.headers).json()["signup_policy"] == "open"


def test_a_change_is_seen_by_another_app_on_the_same_database(
    client: TestClient, admin: Account, settings: Settings
) -> None:
    """Two app instances (two hosts) on one database: a policy set on one applies on the
    other at once."""
    with TestClient(create_app(settings)) as other:
        assert other.get("/config").json()["signup"]["policy"] == "open"
        r = client.patch("/admin/settings", json={"signup_policy": "invite"}, headers=admin.headers)
        assert r.status_code == 200
        assert other.get("/config").json()["signup"]["policy"] == "invite"
        r = other.post("/register", json=registration("bob"))
        assert r.status_code == 403 and r.json()["detail"] == "An invite is required to sign up"
        client.patch(
            "/admin/settings",
            json={"signup_policy": "open", "signup_email_domains": ["a.com"]},
            headers=admin.headers,
        )
        r = other.post("/register", json=registration("bob"))
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "email"]
        assert (
            other.post("/register", json=registration("bob", email="bob@a.com")).status_code == 201
        )
