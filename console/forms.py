"""Forms and input parsing: clusters, teams, topic creation, retention and config edits
(a cluster-wide default broker config among them).

Owns validating what people type (Kafka's topic-name rules, durations like "7 days",
sizes like "500 MB") and turning it into values for the admin wrapper. It must never call
a cluster; policy decisions live in `console.permissions`.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from console.inputs import InputError, parse_config, parse_duration, parse_size
from console.models import Cluster, Team

TOPIC_MAX_LENGTH = 249
_LEGAL_TOPIC = re.compile(r"^[a-zA-Z0-9._-]+$")


def topic_name_problems(name: str, existing: set[str] | None = None) -> tuple[list[str], list[str]]:
    """(errors, warnings) for a proposed topic name under Kafka's rules."""
    errors: list[str] = []
    warnings: list[str] = []
    if not name:
        return ["A topic needs a name."], []
    if name in {".", ".."}:
        errors.append('A topic cannot be called "." or "..".')
    if len(name) > TOPIC_MAX_LENGTH:
        errors.append(
            f"Names are at most {TOPIC_MAX_LENGTH} characters (this one has {len(name)})."
        )
    if not _LEGAL_TOPIC.match(name):
        bad = sorted({c for c in name if not re.match(r"[a-zA-Z0-9._-]", c)})
        shown = " ".join(repr(c) for c in bad)
        errors.append(f"Only letters, digits, '.', '_' and '-' are allowed; remove {shown}.")
    if existing is not None:
        if name in existing:
            errors.append(f"A topic called {name} already exists.")
        elif "." in name or "_" in name:
            # Kafka's metric names turn '.' into '_', so these two would collide.
            folded = name.replace(".", "_")
            clash = [t for t in existing if t.replace(".", "_") == folded]
            if clash:
                errors.append(
                    f"{clash[0]} already exists; names that differ only in '.' and '_' collide."
                )
    if ("." in name and "_" in name) and not errors:
        warnings.append(
            "Mixing '.' and '_' in names invites collisions (Kafka treats them alike in metrics)."
        )
    if name.startswith("__") and not errors:
        warnings.append("Names starting with '__' are for internal topics.")
    return errors, warnings


def parse_duration_ms(text: str) -> int:
    """ "7 days", "12h", "90 min", "forever" -> milliseconds (-1 means forever)."""
    return parse_duration(text, config=True)


def parse_size_bytes(text: str) -> int:
    """ "500 MB", "2GiB", "none" -> bytes (-1 means no size limit)."""
    return parse_size(text)


class DurationField(forms.CharField):
    def to_python(self, value: object) -> int | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        try:
            return parse_duration_ms(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc


class SizeField(forms.CharField):
    def to_python(self, value: object) -> int | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        try:
            return parse_size_bytes(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc


def _check_bootstrap(value: str) -> str:
    value = value.strip()
    for server in value.split(","):
        host, _, port = server.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise forms.ValidationError(
                f"{server.strip()!r} is not host:port; list brokers like 'kafka1:9092,kafka2:9092'."
            )
    return value


class ClusterForm(forms.ModelForm):
    class Meta:
        model = Cluster
        fields = [
            "name",
            "slug",
            "bootstrap_servers",
            "security_protocol",
            "sasl_mechanism",
            "sasl_username",
            "sasl_password",
            "ssl_ca_pem",
        ]
        widgets = {"sasl_password": forms.PasswordInput(render_value=False)}

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        if slug == "local":
            raise forms.ValidationError('"local" is the bundled broker; pick another slug.')
        return slug

    def clean_bootstrap_servers(self) -> str:
        return _check_bootstrap(self.cleaned_data["bootstrap_servers"])

    def clean_ssl_ca_pem(self) -> str:
        pem = self.cleaned_data.get("ssl_ca_pem", "").strip()
        if pem and "-----BEGIN CERTIFICATE-----" not in pem:
            raise forms.ValidationError(
                "Paste the CA certificate in PEM form, from -----BEGIN CERTIFICATE----- "
                "to -----END CERTIFICATE-----."
            )
        return pem + "\n" if pem else ""

    def clean(self) -> dict:
        data = super().clean() or {}
        protocol = str(data.get("security_protocol", ""))
        if data.get("sasl_mechanism") and not protocol.startswith("SASL"):
            self.add_error("security_protocol", "SASL credentials need SASL_PLAINTEXT or SASL_SSL.")
        if protocol.startswith("SASL") and not data.get("sasl_mechanism"):
            self.add_error("sasl_mechanism", f"{protocol} needs a SASL mechanism (e.g. PLAIN).")
        if data.get("sasl_mechanism") and not data.get("sasl_username"):
            self.add_error("sasl_username", "SASL needs a user name.")
        if data.get("ssl_ca_pem") and not protocol.endswith("SSL"):
            self.add_error("ssl_ca_pem", "A CA certificate is only used with SSL or SASL_SSL.")
        return data


class ClusterEditForm(ClusterForm):
    """Editing a cluster: the slug stays (links use it); an empty password keeps the
    stored one, and dropping SASL forgets the credentials."""

    class Meta(ClusterForm.Meta):
        fields = [f for f in ClusterForm.Meta.fields if f != "slug"]
        help_texts = {"sasl_password": "Leave empty to keep the stored password."}

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("sasl_mechanism"):
            data["sasl_username"] = ""
            data["sasl_password"] = ""
        elif not data.get("sasl_password"):
            if not self.instance.sasl_password:
                self.add_error("sasl_password", "SASL needs a password; none is stored yet.")
            data["sasl_password"] = self.instance.sasl_password
        return data


class TopicCreateForm(forms.Form):
    name = forms.CharField(max_length=TOPIC_MAX_LENGTH + 50)
    partitions = forms.IntegerField(min_value=1, max_value=10_000, initial=3)
    replication_factor = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=32,
        label="Copies of each partition (replication factor)",
        help_text="Each copy is on a different broker. Empty: the cluster's default.",
    )
    retention = DurationField(
        required=False, help_text="How long records stay, e.g. '7 days'. Empty: cluster default."
    )
    retention_size = SizeField(
        required=False,
        label="Size cap per partition",
        help_text="Oldest records go once a partition is this big, e.g. '1 GB'. Empty: none.",
    )
    cleanup_policy = forms.ChoiceField(
        choices=[
            ("delete", "delete (drop old records)"),
            ("compact", "compact (keep latest per key)"),
        ],
        initial="delete",
    )
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
    note = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Why (for a request)"
    )

    def __init__(self, *args: object, teams: list[Team] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        team_field = self.fields["team"]
        assert isinstance(team_field, forms.ModelChoiceField)
        team_field.queryset = Team.objects.filter(pk__in=[t.pk for t in teams or []])

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        errors, _ = topic_name_problems(name)
        if errors:
            raise forms.ValidationError(errors)
        return name

    def configs(self) -> dict[str, str]:
        data = self.cleaned_data
        configs = {"cleanup.policy": data["cleanup_policy"]}
        if data.get("retention") is not None:
            configs["retention.ms"] = str(data["retention"])
        if data.get("retention_size") is not None:
            configs["retention.bytes"] = str(data["retention_size"])
        return configs


class RetentionForm(forms.Form):
    retention = DurationField(label="Keep records for", help_text="e.g. '7 days' or 'forever'")
    retention_size = SizeField(
        required=False, label="Size cap per partition", help_text="e.g. '1 GB'; empty: none"
    )


class TeamForm(forms.ModelForm):
    members = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.order_by("username"), required=False
    )
    max_retention = DurationField(required=False, label="Max retention", help_text="e.g. '14 days'")
    max_total = SizeField(required=False, label="Max total bytes", help_text="e.g. '50 GB'")

    class Meta:
        model = Team
        fields = [
            "name",
            "topic_prefix",
            "max_partitions",
            "producer_byte_rate",
            "consumer_byte_rate",
        ]
        labels = {
            "producer_byte_rate": "Producer byte rate of each service account",
            "consumer_byte_rate": "Consumer byte rate of each service account",
        }

    def clean_topic_prefix(self) -> str:
        prefix = self.cleaned_data["topic_prefix"].strip()
        if not prefix or not _LEGAL_TOPIC.match(prefix):
            raise forms.ValidationError(
                "A prefix uses only letters, digits, '.', '_' and '-', e.g. 'payments.'."
            )
        return prefix


class BrokerDefaultForm(forms.Form):
    """One cluster-wide default broker config: any name, any value. The cluster judges
    both (its refusal comes back as the form's error, in Kafka's words); only what people
    type for durations and sizes ("7 days", "500 MB") is turned into Kafka's units here."""

    config = forms.CharField(label="Config name", help_text="e.g. log.retention.ms")
    value = forms.CharField(
        label="Value", help_text="as Kafka takes it; durations and sizes also in words"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        name, raw = data.get("config"), data.get("value")
        if name and raw:
            try:
                data["value"] = parse_config(name, raw)
            except InputError as exc:
                self.add_error("value", str(exc))
        return data
