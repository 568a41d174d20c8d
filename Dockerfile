# syntax=docker/dockerfile:1
#
# Endy's production image. Build: `docker build -t endy:0.1.0 .`   Run: `docker run --env-file .env endy:0.1.0`
#
# Why it looks like this (one line per choice; reviewed line by line, Docker cannot run on the dev machine):
# - Two stages on python:3.11-slim (the deployment guide's base): the builder creates a virtualenv in /opt/venv,
#   the runtime stage copies only that venv, so pip's caches and the build backend never reach the image.
# - Dependencies get their own layer: only pyproject.toml is copied first and its [project].dependencies are
#   installed; editing Endy's code reuses that (large: kiwipiepy's model, numpy) layer from the cache.
#   Every dependency ships manylinux wheels for x86_64, so no compiler is installed.
# - Endy itself is then installed non-editable (`pip install --no-deps .`). services/migrate.py finds the
#   SQL files at Path(services/migrate.py).parents[1] / "migrations", i.e. site-packages/migrations for an
#   installed package, so migrations/ is copied exactly there, and the runtime stage fails the build if
#   `load_migrations()` finds nothing (and `endy --version` proves the whole import graph loads).
# - Non-root: uid/gid 1000 (the guide's), owning nothing but /app/logs; the code in /opt/venv stays root-owned
#   and read-only to the process. Kubernetes runs it with readOnlyRootFilesystem: the only writable paths are
#   LOG_DIR=/app/logs and DATA_DIR=/tmp/endy (+ HOME=/tmp for any library cache), both emptyDir volumes there.
# - ENVIRONMENT=production by default: start-up refuses embedded PostgreSQL/Redis and weak secrets, so a
#   misconfigured container stops with every problem listed instead of quietly running on defaults.
# - No secrets baked in: .dockerignore is an allow-list (never .env, .endy/, logs/, .git); tokens, SECRET_KEY,
#   DATABASE_URL and REDIS_URL come from the environment (a Kubernetes Secret) at run time.
# - HEALTHCHECK every 30 s (timeout 3 s, start period 5 s, 3 retries), as the guide asks, on /liveness
#   (no dependency checks: a dead database must not mark every container unhealthy). requests is not
#   installed, so it uses the stdlib's urllib; a non-2xx answer or no answer raises and exits 1.
#   Kubernetes ignores HEALTHCHECK and uses the chart's probes; this one is for docker / docker compose.
# - EXPOSE 8000 (sidecar: /health /readiness /liveness /metrics) and 3000 (Slack events, SLACK_MODE=http).
# - Exec-form ENTRYPOINT: `endy` is PID 1 and receives SIGTERM itself (it handles SIGTERM/SIGINT and drains
#   in-flight answers); it spawns no children in production, so no init process is needed.
#   `CMD ["serve"]` is the default; `docker run endy:… migrate` runs the migrations with the same image.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /src

# Layer 1: third-party dependencies only, read from pyproject.toml (invalidated only when it changes).
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; open('/tmp/requirements.txt', 'w').write('\n'.join(deps) + '\n')" \
 && pip install -r /tmp/requirements.txt

# Layer 2: Endy itself (README.md is the package's readme), then the SQL files where migrate.py looks.
COPY README.md ./
COPY config ./config
COPY endy_bot ./endy_bot
COPY handlers ./handlers
COPY services ./services
COPY migrations ./migrations
RUN pip install --no-deps . \
 && cp -r migrations "$(python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/migrations"

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="endy" \
      org.opencontainers.image.description="Endy (엔디): the Korean employee copilot in Slack"
RUN groupadd --gid 1000 endy \
 && useradd --uid 1000 --gid 1000 --home-dir /app --no-create-home --shell /usr/sbin/nologin endy
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    ENVIRONMENT=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    LOG_DIR=/app/logs \
    DATA_DIR=/tmp/endy
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# cwd /app holds no source, so these imports resolve to the installed package, exactly as at run time.
RUN install -d -o 1000 -g 1000 -m 0750 /app/logs \
 && python -c "from services.migrate import MIGRATIONS_DIR, load_migrations; assert load_migrations(), MIGRATIONS_DIR" \
 && endy --version
USER 1000:1000
EXPOSE 8000 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/liveness', timeout=2)"]
ENTRYPOINT ["endy"]
CMD ["serve"]
