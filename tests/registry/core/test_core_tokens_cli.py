"""`iotmark registry token create|list|revoke`: printed once, stored hashed, revoked tokens refused."""

from __future__ import annotations

from typer.testing import CliRunner

from iotmark.registry import services
from iotmark.registry.cli import registry_app
from iotmark.registry.models import ApiToken


def token_cli(*args: str):
    return CliRunner().invoke(registry_app, ["token", *args])


def test_create_prints_the_token_once_and_stores_only_its_hash(lab):
    result = token_cli("create", "assessor", "--name", "ci upload")
    assert result.exit_code == 0, result.output
    token = result.output.rsplit(": ", 1)[1].strip()
    assert services.user_for_token(token) == lab.user
    stored = ApiToken.objects.get(name="ci upload")
    assert token not in (stored.digest, stored.prefix) and token.startswith(stored.prefix)
    listing = token_cli("list", "assessor").output
    assert stored.prefix in listing and "ci upload" in listing and token not in listing


def test_revoke_by_prefix_stops_the_token_working(lab):
    prefix = ApiToken.objects.get(user=lab.user).prefix
    result = token_cli("revoke", prefix)
    assert (result.exit_code, result.output.strip()) == (0, f"revoked token {prefix}\u2026 of assessor")
    assert services.user_for_token(lab.token) is None
    assert "revoked" in token_cli("list", "assessor").output
    again = token_cli("revoke", prefix)
    assert again.exit_code == 1 and "already revoked" in again.output


def test_unknown_users_and_prefixes_fail_in_one_line(lab):
    assert token_cli("create", "nobody").output.strip() == (
        "error: no user 'nobody' (create one with `iotmark registry createuser`)")
    assert token_cli("revoke", "iotm_zzzzzzz").output.strip() == "error: no token starts with 'iotm_zzzzzzz'"
    assert token_cli("revoke", "iotm").output.strip() == "error: give at least the first 8 characters of the token"
