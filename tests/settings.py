"""Settings for the test suite: the real settings, with a test key and fast hashing."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-" + "x" * 50)
os.environ.setdefault("HELPDESK_VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "var", "test"))

from helpdesk.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
SECURE_SSL_REDIRECT = False
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405

# WhiteNoise serves from STATIC_ROOT; the suite needs the folder, not its contents.
os.makedirs(STATIC_ROOT, exist_ok=True)  # noqa: F405

# The file cache (no CACHE_URL) in a folder of this run's own: two runs at once never clear
# or count in each other's throttles.
if CACHES["default"]["BACKEND"] == "helpdesk.cache.FileCache":  # noqa: F405
    CACHES["default"]["LOCATION"] = tempfile.mkdtemp(prefix="helpdesk-tests-cache-")  # noqa: F405
    atexit.register(shutil.rmtree, CACHES["default"]["LOCATION"], ignore_errors=True)  # noqa: F405
