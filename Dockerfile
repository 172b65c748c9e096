# The CalAIM Care image: web (gunicorn), Celery worker and beat, one-off commands.
# Built and run by docker-compose.yml; see .env.example for the environment.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CALAIM_DATA_DIR=/data \
    STATIC_ROOT=/app/.staticfiles

WORKDIR /app

# A system user without a login shell; /data is its only writable place (the beat
# schedule, file e-mail), mounted as a volume by docker-compose.yml.
RUN groupadd --system calaim \
    && useradd --system --gid calaim --home-dir /app --shell /usr/sbin/nologin calaim \
    && mkdir -p /data \
    && chown calaim:calaim /data

# Dependencies first, so a code change does not reinstall them.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Static files are collected (and compressed, with hashed names) at build time.
# Settings refuse to load without production values, so these dummies stand in;
# nothing connects to them, and the real values come from .env at run time.
RUN DEBUG=false \
    SECRET_KEY=collectstatic-at-build-time-only-never-used-to-sign-anything \
    ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://build:build@localhost:5432/build \
    REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput \
    && python -m compileall -q calaim members community_supports care_plans referrals demo

USER calaim

EXPOSE 8000

CMD ["gunicorn", "calaim.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
