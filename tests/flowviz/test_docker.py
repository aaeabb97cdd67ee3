"""The Docker Compose stack, the Dockerfile and nginx.conf, checked as files (no Docker engine here)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.flowviz.deploy_files import DOCKER, ROOT, compose, env_example, interpolated_names

APP_SERVICES = ("migrate", "api", "worker", "beat")
SERVING_SERVICES = ("postgres", "valkey", "api", "worker", "nginx")


@pytest.fixture(scope="module")
def services() -> dict:
    return compose()["services"]


def test_compose_defines_the_whole_stack(services):
    assert set(services) == {"postgres", "valkey", "migrate", "api", "worker", "beat", "nginx"}


def test_every_service_has_an_image_or_a_build(services):
    for name, service in services.items():
        assert service.get("image") or service.get("build"), name


def test_every_serving_service_has_a_healthcheck(services):
    for name in SERVING_SERVICES:
        assert services[name]["healthcheck"]["test"], name


def test_postgres_17_keeps_its_data_in_a_volume(services):
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:17"
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in postgres["volumes"])
    assert {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"} <= set(postgres["environment"])
    assert "pg_isready" in str(postgres["healthcheck"]["test"])


def test_valkey_8_1_answers_ping(services):
    assert services["valkey"]["image"] == "valkey/valkey:8.1"
    assert "ping" in services["valkey"]["healthcheck"]["test"]


def test_app_services_get_database_cache_broker_and_secret(services):
    for name in APP_SERVICES:
        service = services[name]
        assert service["env_file"] == [".env"], name
        environment = service["environment"]
        assert {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY"} <= set(environment), name
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert "@postgres:5432/" in environment["DATABASE_URL"]
        # Celery and django-redis talk to Valkey with the redis:// scheme.
        assert environment["REDIS_URL"].startswith("redis://valkey:6379/")
        assert environment["CELERY_BROKER_URL"].startswith("redis://valkey:6379/")
        assert environment["REDIS_URL"] != environment["CELERY_BROKER_URL"]


def test_migrate_is_one_shot_and_the_app_waits_for_it(services):
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_api_runs_gunicorn_with_uvicorn_workers_and_multiprocess_metrics(services):
    api = services["api"]
    assert api["command"] == ["gunicorn", "-c", "flowviz/ops/gunicorn_conf.py", "flowviz.asgi:application"]
    assert "WEB_CONCURRENCY" in api["environment"]
    metrics_dir = api["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    assert any(mount.split(":")[0] == metrics_dir for mount in api["tmpfs"])
    config = (ROOT / "flowviz" / "ops" / "gunicorn_conf.py").read_text()
    assert 'worker_class = "flowviz.ops.uvicorn_worker.FlowVizUvicornWorker"' in config
    assert "WEB_CONCURRENCY" in config
    assert "mark_process_dead" in config


def test_worker_and_beat_run_the_celery_app(services):
    assert "celery -A flowviz.celery worker" in " ".join(services["worker"]["command"])
    assert services["beat"]["command"][:4] == ["celery", "-A", "flowviz.celery", "beat"]


def test_the_worker_consumes_both_the_jobs_and_the_refresh_queue(services):
    from django.conf import settings

    assert f"-Q {settings.JOBS_QUEUE},{settings.REFRESH_QUEUE} " in " ".join(services["worker"]["command"])


def test_every_task_and_beat_entry_goes_to_a_queue_the_worker_consumes(services):
    from flowviz.celery import app

    consumed = set(re.search(r"-Q (\S+)", " ".join(services["worker"]["command"])).group(1).split(","))
    app.loader.import_default_modules()
    ours = {name for name in app.tasks if not name.startswith("celery.")}
    # Beat adds the result cleanup itself (CELERY_RESULT_EXPIRES); the rest is configured.
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()} | {"celery.backend_cleanup"}
    assert {"lots.compute_genealogy", "lots.refresh_genealogy"} <= ours
    routed = {name: app.amqp.router.route({}, name)["queue"].name for name in ours | scheduled}
    assert {name: queue for name, queue in routed.items() if queue not in consumed} == {}


def test_nginx_is_the_only_published_service(services):
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"nginx"}
    assert services["nginx"]["depends_on"]["api"]["condition"] == "service_healthy"


def test_every_compose_variable_is_in_env_example():
    text = (DOCKER / "docker-compose.yml").read_text()
    assert interpolated_names(text) <= set(env_example())


def _names_read_from_environment(path) -> set[str]:
    text = path.read_text()
    reader = r"(?:os\.environ\.get|env\.(?:str|bool|int|float|list))"
    return set(re.findall(reader + r'\(\s*"([A-Z][A-Z0-9_]*)"', text))


def test_env_example_lists_every_variable_the_app_reads():
    names = _names_read_from_environment(ROOT / "flowviz" / "settings.py")
    names |= _names_read_from_environment(ROOT / "flowviz" / "ops" / "gunicorn_conf.py")
    assert "SECRET_KEY" in names and "WEB_CONCURRENCY" in names
    missing = names - set(env_example(include_commented=True))
    assert not missing, f"add to docker/.env.example: {sorted(missing)}"


def test_env_example_leaves_the_secrets_empty():
    values = env_example()
    assert values["SECRET_KEY"] == ""
    assert values["POSTGRES_PASSWORD"] == ""


def test_dockerfile_runs_as_non_root_with_healthcheck_and_collectstatic():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)
    app_stage = stages[-1]  # the default target
    assert app_stage.startswith("python:3.11-slim AS app")
    users = re.findall(r"^USER (\S+)", app_stage, flags=re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    assert "HEALTHCHECK" in app_stage and "/api/health" in app_stage
    assert "manage.py collectstatic --noinput" in dockerfile
    assert "COPY pyproject.toml" in dockerfile and "pip install ." in dockerfile


def test_nginx_serves_static_and_proxies_api_admin_metrics_and_the_root_openapi_document():
    conf = (DOCKER / "nginx.conf").read_text()
    active = "\n".join(line for line in conf.splitlines() if not line.lstrip().startswith("#"))
    assert re.search(r"location /static/ \{\s*alias /usr/share/nginx/static/;", active)
    for location in ("location /api/", "location /admin/", "location = /metrics", "location = /openapi.json"):
        block = active.split(location, 1)[1].split("}", 1)[0]
        assert "proxy_pass http://flowviz_api;" in block, location
    proxy = (DOCKER / "flowviz-proxy.inc").read_text()
    assert "X-Forwarded-Proto $scheme" in proxy and "X-Forwarded-For" in proxy


def test_nginx_documents_the_strangler_route_to_the_legacy_server():
    conf = (DOCKER / "nginx.conf").read_text()
    assert "# location = /api/traceability {" in conf
    assert "#     proxy_pass http://legacy;" in conf


def test_gunicorn_loads_its_config_and_the_asgi_app():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "flowviz.settings", "WEB_CONCURRENCY": "3"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--check-config",
            "--print-config",
            "-c",
            "flowviz/ops/gunicorn_conf.py",
            "flowviz.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"^workers\s+= 3$", result.stdout, flags=re.MULTILINE)
    assert "flowviz.ops.uvicorn_worker.FlowVizUvicornWorker" in result.stdout
