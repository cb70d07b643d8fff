"""`manage.py ensure_admin`: make sure a superuser `admin` exists.

Owns first-run credentials: uses `ODRADEK_ADMIN_PASSWORD` when set, otherwise generates a
password and prints it once. It must never reset an existing admin's password unless that
variable is set.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the `admin` superuser if missing (password from ODRADEK_ADMIN_PASSWORD or generated)."

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        wanted = os.environ.get("ODRADEK_ADMIN_PASSWORD")
        user = user_model.objects.filter(username="admin").first()
        if user is not None:
            if wanted and not user.check_password(wanted):
                user.set_password(wanted)
                user.save(update_fields=["password"])
                self.stdout.write("admin: password set from ODRADEK_ADMIN_PASSWORD")
            return
        password = wanted or secrets.token_urlsafe(12)
        user_model.objects.create_superuser("admin", "", password)
        if wanted:
            self.stdout.write("admin: created with the password from ODRADEK_ADMIN_PASSWORD")
        else:
            self.stdout.write(
                self.style.SUCCESS(f"admin: created. Log in as admin / {password} (shown once)")
            )
