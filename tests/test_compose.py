"""docker-compose.yml, checked statically (no Docker engine here): what a deployer relies on."""

import re

import yaml
from conftest import ROOT

from domain.search_attributes import cli_flags
from settings import Settings

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]


def test_every_dependency_is_a_service_and_ours_run_our_image():
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on", []):
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
    for name in ("api", "worker", "migrate"):
        assert SERVICES[name]["image"] == "aftersales:latest" and SERVICES[name]["build"] == "."
    assert SERVICES["worker"]["command"] == ["python", "worker.py"]
    assert SERVICES["migrate"]["command"] == ["alembic", "upgrade", "head"]
    for name in ("api", "worker"):
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert SERVICES[name]["depends_on"]["temporal-register"]["condition"] == "service_completed_successfully"


def test_the_search_attributes_registered_are_the_ones_in_the_code():
    script = SERVICES["temporal-register"]["command"][0]
    loop = re.search(r"for pair in (.+?); do", script).group(1).split()
    assert loop == cli_flags()
    assert "temporal operator search-attribute create" in script


def test_our_settings_are_real_settings_and_production_grade():
    environment = SERVICES["api"]["environment"]
    assert environment is SERVICES["worker"]["environment"]  # one shared block
    fields = set(Settings.model_fields)
    for key in environment:
        assert key.startswith("AFTERSALES_") and key.removeprefix("AFTERSALES_").lower() in fields, key
    assert environment["AFTERSALES_ENVIRONMENT"] == "production"
    assert ":?" in environment["AFTERSALES_API_TOKENS"]  # compose refuses to start without tokens
    assert ":?" in environment["AFTERSALES_QUALITY_SAMPLE_SEED"]  # nor without a secret quality-check seed
    assert "@postgres:5432/" in environment["AFTERSALES_DATABASE_URL"]
    assert (ROOT / environment["AFTERSALES_POLICY"].removeprefix("/app/")).is_file()


def test_no_development_tokens_ship():
    for name in ("docker-compose.yml", "Dockerfile"):
        assert "dev-" not in (ROOT / name).read_text(encoding="utf-8"), name


def test_the_image_copies_what_it_runs():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = set(re.findall(r"^COPY (\S+)", dockerfile, flags=re.M)) | set(
        " ".join(re.findall(r"^COPY (.+) \./$", dockerfile, flags=re.M)).split()
    )
    for needed in ("domain", "workflows", "activities", "adapters", "api", "migrations", "policies",
                   "alembic.ini", "settings.py", "worker.py"):
        assert needed in copied, needed
    assert '"api.app:create_app"' in dockerfile and "--factory" in dockerfile
    assert '"--no-access-log"' in dockerfile  # search URLs can carry personal data
