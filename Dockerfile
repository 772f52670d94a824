# syntax=docker/dockerfile:1
# Antre in a container: a builder stage makes wheels with the README's install step, and a slim
# runtime stage installs only those wheels and runs `antre serve` as an unprivileged user.
#
#   docker build -t antre .
#   docker run -d -p 8000:8000 -v antre-data:/data \
#     -e ANTRE_SECRET_KEY=<64 random hex> -e ANTRE_PUBLIC_URL=https://antre.example \
#     -e ANTRE_FACILITY=/data/facility.toml antre
#
# Every setting comes from the environment (web/settings.py); see docs/deploy.md. No secret is
# baked in: without ANTRE_SECRET_KEY sessions end at each restart.

ARG PYTHON_IMAGE=python:3.11-slim

# --------------------------------------------------------------------------- builder
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY queue_engine ./queue_engine
COPY web ./web
COPY display_board ./display_board
COPY modules ./modules
# The README's install (`pip install -e .`), built as wheels: the project and its dependencies.
RUN pip wheel --wheel-dir /wheels .

# --------------------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="Antre" \
      org.opencontainers.image.description="Real-time queue engine for Indonesian puskesmas" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
# Only the wheels, from the builder (bind-mounted: they do not stay in a layer); no compiler, no network.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels /wheels/antre-*.whl \
    && groupadd --system --gid 10001 antre \
    && useradd --system --uid 10001 --gid antre --home-dir /data --no-create-home --shell /usr/sbin/nologin antre \
    && mkdir -p /data \
    && chown antre:antre /data

# The SQLite event log and the modules' files (e-Lampid uploads) live in the volume.
ENV ANTRE_HOST=0.0.0.0 \
    ANTRE_PORT=8000 \
    ANTRE_LOG_URL=sqlite:////data/antre.db \
    ANTRE_DATA_DIR=/data
VOLUME ["/data"]
WORKDIR /data
USER 10001:10001
EXPOSE 8000

# slim has no curl: ask GET /healthz with the standard library (a non-2xx or no answer fails).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:' + os.environ.get('ANTRE_PORT', '8000') + '/healthz', timeout=4)"]

CMD ["antre", "serve"]
