"""Forms of the Users, ACLs and Client quotas pages (a new SCRAM user, a new ACL, the ACL
list's filters, setting or removing one client quota) and of teams' service accounts (a new
account, more rights for one).

Owns validating what an administrator types, with the checks of `console.acl_terms`. It
must never call a cluster nor decide who may submit it (`console.permissions` does).
"""

from __future__ import annotations

from typing import Any

from django import forms

from console import acl_terms, client_quota_terms
from console.kafka.client_quotas import Entity
from console.kafka.scram import DEFAULT_ITERATIONS, MAX_ITERATIONS, MIN_ITERATIONS
from console.models import ServiceAccount


class ScramUserForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="the user name clients log in with")
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="leave empty to have one generated (shown once)",
    )
    mechanisms = forms.MultipleChoiceField(
        choices=acl_terms.MECHANISM_CHOICES,
        initial=[m for m, _ in acl_terms.MECHANISM_CHOICES],
        widget=forms.CheckboxSelectMultiple,
    )
    iterations = forms.IntegerField(
        min_value=MIN_ITERATIONS, max_value=MAX_ITERATIONS, initial=DEFAULT_ITERATIONS
    )

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        problem = acl_terms.user_name_problem(name)
        if problem:
            raise forms.ValidationError(problem)
        return name

    def clean_password(self) -> str:
        password: str = self.cleaned_data.get("password") or ""
        if password and len(password) < 8:
            raise forms.ValidationError("Use at least 8 characters, or leave it empty.")
        return password


def checked_resource(form: forms.Form) -> dict[str, Any]:
    """The form's cleaned data with its resource name stripped and checked for its type
    and pattern (the error goes on the name's field)."""
    data: dict[str, Any] = forms.Form.clean(form) or {}
    name = (data.get("resource_name") or "").strip()
    problem = acl_terms.resource_name_problem(
        data.get("resource_type", ""), data.get("pattern_type", ""), name
    )
    if problem:
        form.add_error("resource_name", problem)
    data["resource_name"] = name
    return data


class AclForm(forms.Form):
    principal = forms.CharField(max_length=300, initial="User:")
    resource_type = forms.ChoiceField(choices=acl_terms.RESOURCE_TYPE_CHOICES)
    pattern_type = forms.ChoiceField(choices=acl_terms.PATTERN_TYPE_CHOICES)
    resource_name = forms.CharField(max_length=300)
    operation = forms.ChoiceField(choices=acl_terms.OPERATION_CHOICES)
    permission = forms.ChoiceField(choices=acl_terms.PERMISSION_CHOICES)
    host = forms.CharField(max_length=100, initial="*")

    def clean_principal(self) -> str:
        principal: str = self.cleaned_data["principal"].strip()
        problem = acl_terms.principal_problem(principal)
        if problem:
            raise forms.ValidationError(problem)
        return principal

    def clean(self) -> dict[str, Any]:
        data = checked_resource(self)
        data["host"] = (data.get("host") or "*").strip() or "*"
        return data


class AclFilterForm(forms.Form):
    resource_type = forms.ChoiceField(
        choices=[("", "every type"), *acl_terms.RESOURCE_TYPE_CHOICES], required=False
    )
    resource_name = forms.CharField(required=False)
    principal = forms.CharField(required=False)


class ServiceAccountForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="the application's name; the account is called PREFIX + name"
    )
    access = forms.ChoiceField(choices=ServiceAccount.ACCESS, initial=ServiceAccount.BOTH)

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        problem = acl_terms.user_name_problem(name)
        if problem:
            raise forms.ValidationError(problem)
        return name


class AccessForm(forms.Form):
    """More rights for an account: inside the team's prefix granted at once, else asked."""

    resource_type = forms.ChoiceField(choices=[("TOPIC", "topics"), ("GROUP", "consumer groups")])
    pattern_type = forms.ChoiceField(choices=acl_terms.PATTERN_TYPE_CHOICES)
    resource_name = forms.CharField(max_length=249)
    access = forms.ChoiceField(choices=ServiceAccount.ACCESS, initial=ServiceAccount.READ)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self) -> dict[str, Any]:
        return checked_resource(self)


class QuotaEntityForm(forms.Form):
    """The entity a quota is for: its kind, then for each entity type of that kind a name
    or the default (fields of the other types are ignored)."""

    # Names are taken as given (a quota another tool set on " x" must stay removable);
    # the form that sets quotas strips what a person typed.
    strip_names = False

    kind = forms.ChoiceField(choices=client_quota_terms.KIND_CHOICES, label="Quota for")
    user = forms.CharField(required=False, strip=False, help_text="the principal's name")
    user_default = forms.BooleanField(
        required=False,
        label="Default user",
        help_text="instead of a name: each user without a quota of its own",
    )
    client_id = forms.CharField(
        required=False, strip=False, label="Client id", help_text="the client.id clients set"
    )
    client_id_default = forms.BooleanField(
        required=False,
        label="Default client id",
        help_text="instead of a name: each client id without a quota of its own",
    )
    ip = forms.CharField(
        required=False,
        strip=False,
        label="IP",
        help_text="an address, or a host name that resolves",
    )
    ip_default = forms.BooleanField(
        required=False,
        label="Default ip",
        help_text="instead of an address: each address without a quota of its own",
    )

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        kind = data.get("kind")
        if not kind:
            return data
        parts: list[tuple[str, str | None]] = []
        for entity_type in client_quota_terms.KINDS[kind]:
            field = client_quota_terms.FIELDS[entity_type]
            label = client_quota_terms.TYPE_LABELS[entity_type]
            name = data.get(field) or ""
            if self.strip_names:
                name = name.strip()
            if data.get(f"{field}_default"):
                if name:
                    self.add_error(field, f"Name the {label} or tick the default one, not both.")
                parts.append((entity_type, None))
            elif name:
                parts.append((entity_type, name))
            else:
                self.add_error(field, f"Name the {label}, or tick the default one.")
        data["entity"] = tuple(parts)
        return data

    def entity(self) -> Entity:
        entity: Entity = self.cleaned_data["entity"]
        return entity


class ClientQuotaForm(QuotaEntityForm):
    """One key of one entity set to a value; which values are acceptable is the cluster's
    to say (Kafka's messages come back as form errors)."""

    strip_names = True

    key = forms.ChoiceField(choices=client_quota_terms.KEY_CHOICES)
    value = forms.CharField(help_text="bytes per second, a percentage or a rate, by key")

    def clean_value(self) -> float:
        raw: str = self.cleaned_data["value"].strip()
        try:
            return float(raw)
        except ValueError:
            raise forms.ValidationError("Give a number, for example 1048576.") from None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind, key = data.get("kind"), data.get("key")
        if kind and key and key not in client_quota_terms.keys_for(kind):
            allowed = ", ".join(client_quota_terms.keys_for(kind))
            self.add_error("key", f"{key} is not for this kind of entity; it takes {allowed}.")
        return data


class QuotaRemoveForm(QuotaEntityForm):
    """One key to remove from one entity: any key the cluster lists, known here or not."""

    key = forms.CharField()
