"""`manage.py registry_key <team>`: a new schema-registry API key for a team.

Owns making keys from the command line: prints the key and its secret once (only a hash
is stored). It must never print or change an existing key's secret.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from console.models import Team
from console.registry.auth import new_key


class Command(BaseCommand):
    help = "Create a schema-registry API key for a team; prints key and secret once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("team", help="the team's name")

    def handle(self, *args: Any, **options: Any) -> None:
        team = Team.objects.filter(name=options["team"]).first()
        if team is None:
            names = ", ".join(Team.objects.values_list("name", flat=True)) or "none yet"
            raise CommandError(f"no team named {options['team']!r} (teams: {names})", returncode=2)
        key, secret = new_key(team)
        self.stdout.write(f"key: {key.key}\nsecret: {secret}\n")
        self.stdout.write(
            f"Clients use basic.auth.user.info={key.key}:<secret>; "
            f"the team may register subjects of topics starting with {team.topic_prefix!r}."
        )
