"""Two registrations racing for a subject's next version: the loser decides again."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError

from console.registry import errors, store
from console.registry.models import SubjectVersion
from tests.console.registry.conftest import avro_record

V1 = avro_record("User", {"name": "name", "type": "string"})


@pytest.mark.django_db
def test_a_version_number_taken_meanwhile_is_decided_again(monkeypatch) -> None:
    """The competing writer lands between our read of the newest version and our insert;
    the database's unique (subject, version) refuses ours and the store tries again."""
    real_create = SubjectVersion.objects.create
    attempts: list[int] = []

    def competing_then_ours(**fields: Any) -> SubjectVersion:
        attempts.append(fields["version"])
        if len(attempts) == 1:
            real_create(**fields)  # the other request's row, same subject and number
        return real_create(**fields)

    monkeypatch.setattr(SubjectVersion.objects, "create", competing_then_ours)
    row = store.register("users-value", store.candidate({"schema": V1}))
    assert len(attempts) == 2  # refused once by the constraint, then stored
    assert (row.subject, row.version) == ("users-value", 1)
    assert list(SubjectVersion.objects.filter(subject="users-value").values_list("version")) == [
        (1,)
    ]


@pytest.mark.django_db
def test_a_subject_that_never_settles_is_a_store_error(monkeypatch) -> None:
    def always_taken(**fields: Any) -> SubjectVersion:
        raise IntegrityError("UNIQUE constraint failed")

    monkeypatch.setattr(SubjectVersion.objects, "create", always_taken)
    with pytest.raises(errors.RegistryError) as refused:
        store.register("users-value", store.candidate({"schema": V1}))
    assert refused.value.code == 50001
