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
    shared = SERVICES["migrate"]["environment"]
    fields = set(Settings.model_fields)
    for name in ("api", "worker", "migrate"):
        environment = SERVICES[name]["environment"]
        assert shared.items() <= environment.items(), name  # one shared block, then each its own
        for key in environment:
            if key == "FORWARDED_ALLOW_IPS":
                continue  # uvicorn's, not ours
            assert key.startswith("AFTERSALES_") and key.removeprefix("AFTERSALES_").lower() in fields, (name, key)
    assert shared["AFTERSALES_ENVIRONMENT"] == "production"
    assert ":?" in shared["AFTERSALES_API_TOKENS"]  # compose refuses to start without tokens
    assert ":?" in shared["AFTERSALES_QUALITY_SAMPLE_SEED"]  # nor without a secret quality-check seed
    assert "@postgres:5432/" in shared["AFTERSALES_DATABASE_URL"]
    assert (ROOT / shared["AFTERSALES_POLICY"].removeprefix("/app/")).is_file()


def test_each_process_gets_the_secrets_it_needs_only():
    api, worker = SERVICES["api"]["environment"], SERVICES["worker"]["environment"]
    sending_only = {"AFTERSALES_SMTP_PASSWORD", "AFTERSALES_SMS_TOKEN", "AFTERSALES_DINGTALK_SECRET"}
    assert sending_only <= worker.keys() and not sending_only & api.keys()
    channel_addresses = {"AFTERSALES_SMTP_HOST", "AFTERSALES_SMS_URL", "AFTERSALES_WECOM_WEBHOOK_URL",
                         "AFTERSALES_DINGTALK_WEBHOOK_URL", "AFTERSALES_WEBHOOK_URL", "AFTERSALES_STAFF_EMAIL"}
    assert channel_addresses <= api.keys() and channel_addresses <= worker.keys()  # both route by them
    assert not any("SMTP" in key or "SMS" in key for key in SERVICES["migrate"]["environment"])


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


# -- what the outside reaches (security review A2, A3, P2) ----------------------------------

LOOPBACK = ("127.0.0.1", "::1", "[::1]", "localhost")


def published(service: dict) -> list[tuple[str, str, str]]:
    """(host address, host port, container port/protocol) of every port a service publishes;
    an address of "" means every interface."""
    result = []
    for port in service.get("ports", []):
        if isinstance(port, dict):  # the long syntax
            result.append((port.get("host_ip", ""), str(port.get("published", "")),
                           f"{port['target']}/{port.get('protocol', 'tcp')}"))
            continue
        spec, _, protocol = str(port).partition("/")
        parts = spec.rsplit(":", 2)
        host_ip, host_port = (parts[0], parts[1]) if len(parts) == 3 else ("", parts[0] if len(parts) == 2 else "")
        result.append((host_ip, host_port, f"{parts[-1]}/{protocol or 'tcp'}"))
    return result


def public_ports(service: dict) -> list[tuple[str, str, str]]:
    return [p for p in published(service) if p[0] not in LOOPBACK]


def test_A2_temporal_ui_and_frontend_not_public():
    assert not any(s.get("network_mode") == "host" for s in SERVICES.values())  # that publishes everything
    ui = SERVICES["temporal-ui"]
    assert public_ports(ui) == [], "the Temporal UI has no sign-in: never on a public interface"
    if published(ui):  # on the host's loopback, for an SSH tunnel: read-only even so
        assert str(ui["environment"]["TEMPORAL_DISABLE_WRITE_ACTIONS"]).lower() == "true"
    assert "ports" not in SERVICES["temporal"], "the frontend (7233) has no authorization"
    for name, service in SERVICES.items():
        assert not any(container.startswith("7233/") for _, _, container in published(service)), name
        assert not any(host == "7233" for _, host, _ in published(service)), name


def test_A3_only_the_tls_proxy_is_published():
    exposed = {name for name, service in SERVICES.items() if public_ports(service)}
    assert exposed == {"proxy"}, exposed
    proxy = SERVICES["proxy"]
    assert proxy["image"].split(":")[0] == "caddy" and proxy["image"].split(":")[1].startswith("2")
    assert {(host, container) for _, host, container in public_ports(proxy)} <= {
        ("80", "80/tcp"), ("443", "443/tcp"), ("443", "443/udp")}
    assert ("443", "443/tcp") in {(host, container) for _, host, container in public_ports(proxy)}
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    assert re.search(r"^\s*reverse_proxy api:8000\s*$", caddyfile, flags=re.M)
    assert re.search(r"^\s*tls \S+", caddyfile, flags=re.M)
    assert "ports" not in SERVICES["api"], "the API is reached through the proxy only"
    # uvicorn believes X-Forwarded-* from the proxy's address only, never from anyone
    trusted = SERVICES["api"]["environment"]["FORWARDED_ALLOW_IPS"]
    assert trusted == proxy["networks"]["edge"]["ipv4_address"] and "*" not in trusted
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r'^ENV FORWARDED_ALLOW_IPS="127\.0\.0\.1"$', dockerfile, flags=re.M)
    assert "--proxy-headers" in dockerfile
    # the proxy sits on the edge network alone with the API: it reaches no database
    assert set(proxy["networks"]) == {"edge"}
    assert {name for name, s in SERVICES.items() if "edge" in (s.get("networks") or [])} == {"api", "proxy"}


def _variable(text: str) -> str:
    """The environment variable a compose value interpolates: ${NAME:?…} or ${NAME:-…}."""
    found = re.fullmatch(r"\$\{(\w+)(?::[?-].*)?\}", text)
    assert found, text
    return found.group(1)


def test_P2_product_database_account_is_not_temporals():
    url = SERVICES["migrate"]["environment"]["AFTERSALES_DATABASE_URL"]
    found = re.fullmatch(r"postgresql\+psycopg2://(\w+):(\$\{[^}]+\})@postgres:5432/(\w+)", url)
    assert found, url
    app_user, app_password, app_database = found.groups()
    postgres = SERVICES["postgres"]["environment"]
    temporal = SERVICES["temporal"]["environment"]
    superuser = postgres.get("POSTGRES_USER", "postgres")
    assert app_user != temporal["POSTGRES_USER"]
    assert superuser not in (app_user, temporal["POSTGRES_USER"])
    passwords = {_variable(app_password), _variable(temporal["POSTGRES_PWD"]), _variable(postgres["POSTGRES_PASSWORD"])}
    assert len(passwords) == 3, passwords  # three accounts, three secrets
    for variable in passwords - {_variable(postgres["POSTGRES_PASSWORD"])}:
        assert _variable(postgres[variable]) == variable  # handed to the init script
    assert str(temporal["SKIP_DB_CREATE"]).lower() == "true"  # its account may not create databases

    mount = next(v for v in SERVICES["postgres"]["volumes"] if v.endswith(":/docker-entrypoint-initdb.d:ro"))
    scripts = sorted((ROOT / mount.split(":")[0].removeprefix("./")).glob("*.sh"))
    assert scripts, "no init script"
    script = "\n".join(path.read_text(encoding="utf-8") for path in scripts)
    for role, databases in ((app_user, [app_database]), (temporal["POSTGRES_USER"], ["temporal", "temporal_visibility"])):
        assert re.search(rf"ALTER ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE", script), role
        for database in databases:
            assert f"CREATE DATABASE {database} OWNER {role}" in script
            assert f"REVOKE ALL ON DATABASE {database} FROM PUBLIC" in script
    for path in scripts:
        # executable: the image runs it in a shell of its own (it would source it otherwise)
        assert path.stat().st_mode & 0o111, path.name


def test_the_namespace_retention_is_set_explicitly():
    # auto-setup's default is 24 h: a closed case's history gone the next day (review R8)
    retention = SERVICES["temporal"]["environment"]["DEFAULT_NAMESPACE_RETENTION"]
    hours = int(re.fullmatch(r"(\d+)h", retention).group(1))
    assert hours >= 7 * 24
