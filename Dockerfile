# Stage 1: the browser console bundle (npm: leaflet + esbuild), built from the lock file.
FROM node:20-slim AS console
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --omit=optional
COPY api/console api/console
RUN npm run build

# Stage 2: the service, with the bundle from stage 1 (so no Node.js in the runtime image).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATROLFLEET_SKIP_CONSOLE_BUILD=1
WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY fleet fleet
COPY planners planners
COPY api api
COPY sim sim
COPY bench bench
COPY --from=console /app/api/static/console api/static/console
RUN pip install --no-cache-dir . && useradd --system patrolfleet && mkdir /data && chown patrolfleet /data
USER patrolfleet
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
# Migrations run at start (patrolfleet db upgrade is also available as a prestart step).
CMD ["patrolfleet", "up", "--host", "0.0.0.0", "--port", "8000", "--data-dir", "/data"]
