# watcher as a container: `watcher run` with /healthz, /metrics, the page and the feeds on port 8080.
#   docker build -t watcher .
#   docker run -d -v watcher-state:/app/state -v $PWD/sources.yaml:/app/sources.yaml:ro -p 8080:8080 watcher
# tests/test_container.py builds this same environment in a fresh venv and runs the CMD below in it.

# Build stage: the full image has compilers, in case a dependency has no wheel for the platform.
FROM python:3.11 AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY watcher ./watcher
RUN python -m venv /opt/watcher && /opt/watcher/bin/pip install --no-cache-dir .

# Run stage: slim, no build tools, not root.
FROM python:3.11-slim
RUN useradd --system --uid 10001 --create-home --home-dir /app watcher
COPY --from=build /opt/watcher /opt/watcher
WORKDIR /app
COPY sources.yaml /app/sources.yaml
RUN mkdir -p /app/state && chown watcher /app/state
ENV PATH=/opt/watcher/bin:$PATH WATCHER_CONFIG=/app/sources.yaml WATCHER_STATE=/app/state PYTHONUNBUFFERED=1
VOLUME ["/app/state"]
USER watcher
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]
CMD ["watcher", "run", "--http", "0.0.0.0:8080", "--log-format", "json"]
