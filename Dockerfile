# The char-rnn service: `docker build -t char-rnn-service .` then
# `docker run --rm -p 127.0.0.1:8000:8000 --stop-timeout 40 char-rnn-service` (docker stop's
# default 10 s is shorter than GRACEFUL_SHUTDOWN_SECONDS, 30).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Pinned dependencies first (requirements.lock, written by `make lock`), then the code, then
# the artifact: a change to the code or the artifact alone does not reinstall the others.
COPY requirements.lock ./
RUN pip install --no-deps --requirement requirements.lock
COPY pyproject.toml README.md ./
# The service imports model/ and service/ only (tests/test_architecture.py): no training code.
COPY model/ model/
COPY service/ service/
# --no-deps keeps the lock's versions; pip check fails the build if the lock misses one.
RUN pip install --no-deps . && pip check

# Baked in; every directory under /app/artifacts is served (CHAR_RNN_ARTIFACTS defaults to
# artifacts, relative to the WORKDIR). To serve another artifact alone, mount it and set
# CHAR_RNN_ARTIFACT (see docker-compose.yml); CHAR_RNN_ARTIFACTS stays unset here so that works.
COPY artifacts/ artifacts/

# Files stay root-owned and read-only to the service, which runs as an unprivileged user.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
USER 10001:10001

# One OpenBLAS kernel family on every x86-64 machine with AVX2: the same bits as `make serve`.
ENV HOST=0.0.0.0 \
    PORT=8000 \
    OPENBLAS_CORETYPE=Haswell
EXPOSE 8000

# python:3.11-slim has no curl: ask /health/ready with the standard library (non-2xx raises,
# exit 1), so the container is healthy once the model is warmed up and until it drains. Every
# 5 s, so it turns healthy about 5 s after the start; each check costs about 40 ms of CPU.
HEALTHCHECK --interval=5s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/health/ready', timeout=4)"]

# The one serve command, the same as `make serve` and the tests run.
CMD ["python", "-m", "service"]
