"""The settings every process reads: tokens and who holds them, and what production refuses."""

import pytest
from pydantic import ValidationError

from settings import Caller, Settings

STRONG = "s3cret-token-for-the-desk"


def test_a_token_names_a_role_and_a_technicians_names_them():
    tokens = Settings(api_tokens=f"{STRONG}=agent:agent-007, t2-long-enough-token=technician:tech-017").tokens()
    assert tokens == {STRONG: Caller("agent", "agent-007"), "t2-long-enough-token": Caller("technician", "tech-017")}


@pytest.mark.parametrize(("pair", "says"), [
    ("tok=technician", "a technician's token names their staff id"),
    ("tok=chef", "unknown role 'chef'"),
    ("tok=agent:not an id!", "is not a staff id"),
    ("tok", "expected token=role"),
])
def test_a_bad_token_pair_is_refused_naming_what_is_wrong(pair, says):
    with pytest.raises(ValidationError, match=says):
        Settings(api_tokens=pair)


def test_production_refuses_development_tokens_and_the_development_quality_seed():
    with pytest.raises(ValidationError, match="at least 16 characters"):
        Settings(environment="production", api_tokens="dev-agent=agent", quality_sample_seed="our-own-secret-seed")
    with pytest.raises(ValidationError, match="AFTERSALES_QUALITY_SAMPLE_SEED must be set"):
        Settings(environment="production", api_tokens=f"{STRONG}=agent")
    assert Settings(environment="production", api_tokens=f"{STRONG}=agent", quality_sample_seed="our-own-secret-seed")


def test_an_action_is_recorded_under_the_tokens_staff_id_whatever_the_body_says():
    assert Caller("agent", "agent-007").acting_as("sup-li") == "agent-007"  # no step in a colleague's name
    assert Caller("agent").acting_as("agent-009") == "agent-009"  # a shared desk token: the body says who
    assert Caller("supervisor").acting_as(None) == "supervisor"
