# The aftersales image: the API by default; the worker and the migrations use the same image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY workflows ./workflows
COPY activities ./activities
COPY adapters ./adapters
COPY api ./api
COPY migrations ./migrations
COPY policies ./policies
COPY alembic.ini settings.py worker.py run.py ./
RUN pip install . && useradd --system --uid 10001 --home /app aftersales
USER aftersales

ENV AFTERSALES_ENVIRONMENT=production \
    AFTERSALES_POLICY=/app/policies/default.toml \
    AFTERSALES_API_HOST=0.0.0.0 \
    AFTERSALES_API_PORT=8000
EXPOSE 8000
# No access log: a search URL can carry a customer's phone or name (GET /cases?text=…).
# X-Forwarded-For and -Proto are believed only from FORWARDED_ALLOW_IPS: here nobody but the
# container itself; docker-compose.yml sets it to the TLS proxy's fixed address. Never "*":
# with the port reachable, anyone could claim https or another client address.
ENV FORWARDED_ALLOW_IPS="127.0.0.1"
CMD ["uvicorn", "--factory", "api.app:create_app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers", "--no-access-log"]
