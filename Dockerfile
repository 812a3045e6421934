# IPW Board image: one image, two roles (web: gunicorn, worker: celery).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    IPWBOARD_DATA_DIR=/var/lib/ipwboard
WORKDIR /app

COPY pyproject.toml setup.py README.md ./
COPY data/catalog ./data/catalog
COPY evaluator ./evaluator
COPY submissions ./submissions
COPY ipwboard ./ipwboard
# The platform: `pip install ipwboard` alone is the submitter's client (engine and CLI).
RUN pip install '.[server]'

COPY . .
RUN useradd --system --home /var/lib/ipwboard ipwboard \
    && mkdir -p /var/lib/ipwboard && chown ipwboard /var/lib/ipwboard \
    && IPWBOARD_ENV=embedded python manage.py collectstatic --noinput
USER ipwboard
EXPOSE 8000
# Workers, threads and keep-alive: gunicorn.conf.py (read from this working directory).
CMD ["gunicorn", "ipwboard.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
