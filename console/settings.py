"""Django settings, driven by environment variables with embedded defaults.

Owns configuration only. Defaults need nothing installed: SQLite and the data directory
live under `ODRADEK_HOME` (default `./var`), the channel layer is in-memory. PostgreSQL via
`DATABASE_URL`, Redis via `REDIS_URL`. It must never perform network I/O at import time.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
ODRADEK_HOME = Path(os.environ.get("ODRADEK_HOME", BASE_DIR / "var")).resolve()
ODRADEK_HOME.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    # A stable per-install key without asking the user: generated once, kept beside the data.
    if key := os.environ.get("ODRADEK_SECRET_KEY"):
        return key
    path = ODRADEK_HOME / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("ODRADEK_DEBUG", "0") == "1"
ALLOWED_HOSTS = [
    h for h in os.environ.get("ODRADEK_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("ODRADEK_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "channels",
    "axes",
    "console",
    "console.lag",
    "console.registry",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "console.registry.middleware.ClusterRegistryMiddleware",
    # Last, as django-axes asks: turns a lockout into the "too many attempts" page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "console.urls"
ASGI_APPLICATION = "console.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "console.context.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{ODRADEK_HOME / 'console.sqlite3'}",
        conn_max_age=0,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if redis_url := os.environ.get("REDIS_URL"):
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# Login throttling (django-axes): after ODRADEK_LOGIN_FAILURES wrong passwords for one
# username from one address, that pair is locked out for ODRADEK_LOGIN_LOCKOUT_MINUTES.
# Admins unlock early in Django's admin (Axes) or with `manage.py axes_reset`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("ODRADEK_LOGIN_FAILURES", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("ODRADEK_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Mail is used for password resets only, and the reset pages exist only when it is set up.
if smtp_host := os.environ.get("ODRADEK_SMTP_HOST", ""):
    EMAIL_HOST = smtp_host
    EMAIL_PORT = int(os.environ.get("ODRADEK_SMTP_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("ODRADEK_SMTP_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("ODRADEK_SMTP_PASSWORD", "")
    EMAIL_USE_TLS = os.environ.get("ODRADEK_SMTP_TLS", "1") == "1"
    DEFAULT_FROM_EMAIL = os.environ.get("ODRADEK_MAIL_FROM", f"odradek@{smtp_host}")
ODRADEK_PASSWORD_RESET = bool(smtp_host)

# Served over TLS, directly or behind a proxy: cookies only over https, HSTS, and plain
# http redirected (the health check stays reachable for load balancers).
ODRADEK_HTTPS = os.environ.get("ODRADEK_HTTPS", "0") == "1"
if ODRADEK_HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("ODRADEK_HSTS_SECONDS", str(365 * 86_400)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = os.environ.get("ODRADEK_HSTS_INCLUDE_SUBDOMAINS", "1") == "1"
    SECURE_HSTS_PRELOAD = os.environ.get("ODRADEK_HSTS_PRELOAD", "0") == "1"
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a promise to browser vendors only the domain's owner can make; a
        # console that sent "preload" unasked would let anyone submit its domain.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Only behind a proxy that sets (and strips from clients) X-Forwarded-Proto.
ODRADEK_BEHIND_TLS_PROXY = os.environ.get("ODRADEK_BEHIND_TLS_PROXY", "0") == "1"
if ODRADEK_BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Every login would come from the proxy's address: throttle by the client's instead.
    AXES_CLIENT_IP_CALLABLE = "console.client_address.client_address"

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = ODRADEK_HOME / "static"
# daphne serves only the ASGI app: whitenoise serves static files from the app's own
# finders, so `make run` needs no collectstatic step and no separate web server.
WHITENOISE_USE_FINDERS = True

# The bundled broker: cluster slug `local`. Other clusters are added in the UI.
ODRADEK_LOCAL_BOOTSTRAP = os.environ.get("ODRADEK_BOOTSTRAP", "127.0.0.1:9092")
ODRADEK_DATA_DIR = Path(os.environ.get("ODRADEK_DATA_DIR", ODRADEK_HOME / "data")).resolve()
ODRADEK_BROKER_LISTEN = os.environ.get("ODRADEK_BROKER_LISTEN", "127.0.0.1:9092")
ODRADEK_CONSOLE_LISTEN = os.environ.get("ODRADEK_CONSOLE_LISTEN", "127.0.0.1:8000")
# Background workers `make run` supervises beside the broker and console: (name, argv).
ODRADEK_EXTRA_PROCESSES: list[tuple[str, list[str]]] = [
    ("lag-sampler", [sys.executable, str(BASE_DIR / "manage.py"), "sample_lag"]),
]
# `/metrics` asks for this bearer token; unset, it answers loopback clients only.
ODRADEK_METRICS_TOKEN = os.environ.get("ODRADEK_METRICS_TOKEN", "")
# Seconds a cluster call may take before a page shows the "unreachable" banner instead.
ODRADEK_CLUSTER_TIMEOUT = float(os.environ.get("ODRADEK_CLUSTER_TIMEOUT", "3"))

# Lag-alert webhooks reach only public addresses unless an admin allows internal ones:
# all of them (`ODRADEK_WEBHOOK_ALLOW_PRIVATE=1`) or listed networks (comma-separated CIDRs).
ODRADEK_WEBHOOK_ALLOW_PRIVATE = os.environ.get("ODRADEK_WEBHOOK_ALLOW_PRIVATE", "0") == "1"
# Parsed here so a typo stops the console at start, not the sampler at its first alert.
ODRADEK_WEBHOOK_ALLOW_NETWORKS = [
    str(ipaddress.ip_network(n.strip(), strict=False))
    for n in os.environ.get("ODRADEK_WEBHOOK_ALLOW_NETWORKS", "").split(",")
    if n.strip()
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ODRADEK_LOG_LEVEL", "INFO")},
    # django-axes logs every login at INFO; failures and lockouts are its warnings.
    "loggers": {"axes": {"level": "WARNING"}},
}
