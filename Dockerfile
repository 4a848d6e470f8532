# One image for the web server, the Celery worker and Celery beat
# (docker-compose.yml picks the command).
FROM python:3.11-slim

# PYTHONPATH: run the code in /app, never the copy pip puts in site-packages, because
# settings find templates/ and static/ next to the helpdesk package.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    STATIC_ROOT=/app/staticfiles \
    HELPDESK_VAR_DIR=/app/var

WORKDIR /app

# Dependencies first, in their own layer, so a code change doesn't reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Named one by one so nothing local (.venv, var/, .git) ends up in the image.
COPY manage.py ./
COPY helpdesk/ helpdesk/
COPY tickets/ tickets/
COPY portal/ portal/
COPY agents/ agents/
COPY api/ api/
COPY templates/ templates/
COPY static/ static/
RUN pip install --no-deps .

# Settings refuse to load without a SECRET_KEY; this one exists only for this
# RUN line and is not left in the image's environment.
ARG BUILD_SECRET_KEY=collectstatic-only-not-a-real-secret
RUN SECRET_KEY="$BUILD_SECRET_KEY" DEBUG=0 python manage.py collectstatic --noinput

# The app runs unprivileged and may write only to var/ (uploads, beat's schedule).
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin helpdesk \
    && mkdir -p /app/var/media \
    && chown -R helpdesk:helpdesk /app/var
USER helpdesk

EXPOSE 8000
CMD ["gunicorn", "helpdesk.wsgi:application", "--bind", "0.0.0.0:8000"]
