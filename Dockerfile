# forefoot-triage container: a builder compiles the durable-rules wheel with gcc; the runtime
# stage has no compiler, runs as a non-root user and serves gunicorn on $PORT (8000).
# Keep the Python minor equal to the Makefile's (3.11; durable-rules does not import on 3.13).
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements.lock requirements-build.lock ./
# The same hashed locks as `make`: pinned setuptools first, then every wheel (durable-rules built here).
RUN python -m pip install --no-cache-dir --require-hashes -r requirements-build.lock \
 && python -m pip wheel --no-cache-dir --require-hashes --no-build-isolation \
      --wheel-dir /wheels -r requirements.lock

FROM ${PYTHON_IMAGE} AS runtime
# OCI image annotations (github.com/opencontainers/image-spec, annotations.md). VERSION is the
# pyproject version (a test keeps them equal); REVISION and SOURCE come from the build:
#   docker build --build-arg REVISION="$(git rev-parse HEAD)" --build-arg SOURCE=<repository URL> .
ARG PYTHON_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="forefoot-triage" \
      org.opencontainers.image.description="Stateless clinical triage rules service for ball-of-foot pain (decision support, not diagnosis)." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"
# Read-only-root friendly: the only writable path is /tmp (mount a tmpfs there): gunicorn's
# worker heartbeat files, the Prometheus multiprocess folder and the CDS Hooks replay database
# (the jti values every worker has seen) live in it. HEALTH_PORT: the
# probes' own port, answered within milliseconds even under a flood (docs/serving.md).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    HEALTH_PORT=8001 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/metrics \
    TRIAGE_CDS_REPLAY_DIR=/tmp/cds-replay
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin triage
WORKDIR /app
# The wheels were checked against the lock's hashes in the builder; install exactly those.
COPY --from=builder /wheels /wheels
RUN python -m pip install --no-cache-dir --no-index --no-deps /wheels/*.whl \
 && rm -rf /wheels
COPY gunicorn.conf.py openapi.yaml ./
COPY rules/ rules/
# The vignette suite, for the /safety page (the rest of tests/ stays out of the image).
COPY tests/vignettes/vignettes.yaml tests/vignettes/vignettes.yaml
COPY service/ service/
# Bytecode compiled now, as root: at run time nothing under /app is writable.
RUN python -m compileall -q service
USER 10001
EXPOSE 8000 8001
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + (os.environ.get('HEALTH_PORT') or os.environ.get('PORT', '8000')) + '/readyz', timeout=2)"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "service.wsgi:app"]
