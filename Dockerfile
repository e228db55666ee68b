# watcher as a container: `watcher run` with /healthz, /metrics, the page and the feeds on port 8080.
#   docker build -t watcher .
#   docker run -d -v $PWD/config:/app/config -v watcher-state:/app/state -p 127.0.0.1:8080:8080 watcher
#   docker run --rm -p 127.0.0.1:8080:8080 watcher demo --serve 0.0.0.0:8080    # the offline demo, no config
#   docker build --build-arg BROWSER=chromium -t watcher:browser .   # for sources with `fetch: browser|auto`
# compose.yaml (SQLite) and compose.postgres.yaml (PostgreSQL) run it with secrets; README "In a container".
# No sources are baked in: without a mounted /app/config/sources.yaml `watcher run` refuses to start and
# says where it looked (it would otherwise poll real sites nobody chose).
# tests/test_container.py builds this same environment in a fresh venv and runs the command below in it.

# Build stage: the full image has compilers, in case a dependency has no wheel for the platform.
FROM python:3.11 AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY watcher ./watcher
RUN python -m venv /opt/watcher && /opt/watcher/bin/pip install --no-cache-dir .

# Run stage: slim, no build tools, not root (uid 10001: a bind-mounted state/ must be writable by it).
FROM python:3.11-slim
# Debian's headless-capable Chromium for sources that need a browser (about 300 MB more); without it such a
# source fails alone with "no Chromium here" and every plain-HTTP source runs as before.
ARG BROWSER=""
RUN if [ -n "$BROWSER" ]; then apt-get update && apt-get install -y --no-install-recommends "$BROWSER" \
      fonts-noto-cjk && rm -rf /var/lib/apt/lists/*; fi
RUN useradd --system --uid 10001 --create-home --home-dir /app watcher
COPY --from=build /opt/watcher /opt/watcher
WORKDIR /app
RUN mkdir -p /app/state /app/config && chown watcher /app/state /app/config
ENV PATH=/opt/watcher/bin:$PATH WATCHER_CONFIG=/app/config/sources.yaml WATCHER_STATE=/app/state PYTHONUNBUFFERED=1
VOLUME ["/app/state"]
USER watcher
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["watcher"]
CMD ["run", "--http", "0.0.0.0:8080", "--log-format", "json"]
