FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY fleet fleet
COPY planners planners
COPY api api
COPY sim sim
COPY bench bench
RUN pip install --no-cache-dir . && useradd --system patrolfleet && mkdir /data && chown patrolfleet /data
USER patrolfleet
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
# Migrations run at start (patrolfleet db upgrade is also available as a prestart step).
CMD ["patrolfleet", "up", "--host", "0.0.0.0", "--port", "8000", "--data-dir", "/data"]
