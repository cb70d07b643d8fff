"""Kafka's security vocabulary in one line each, and the checks on what people type into
the Users and ACLs forms.

Owns the explanations the pages show (principal, resource type, pattern type, operation,
permission, host), the choices the forms offer, and validating a principal, a SCRAM user
name and a resource name. Pure: it must never call a cluster nor touch the database.
"""

from __future__ import annotations

import re
import secrets

TERMS = [
    (
        "Principal",
        "who the rule is about: User:NAME for a SASL user (User:ANONYMOUS on a plaintext "
        "listener), User:* for everyone.",
    ),
    (
        "Resource type",
        "what kind of thing it protects: a topic, a consumer group, the cluster itself, "
        "or a transactional id.",
    ),
    (
        "Pattern type",
        "literal: the resource whose name is exactly this (* means every one); prefixed: "
        "every resource whose name starts with this.",
    ),
    (
        "Operation",
        "what may be done: READ (consume, and commit in a group), WRITE (produce), CREATE, "
        "DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE; ALL is "
        "every one. READ, WRITE, DELETE and ALTER imply DESCRIBE.",
    ),
    (
        "Permission",
        "ALLOW grants the operation; DENY refuses it and wins over any ALLOW that matches.",
    ),
    ("Host", "the client address the rule applies to; * means from anywhere."),
]

SCRAM_TERMS = [
    (
        "SCRAM user",
        "a name and password a client logs in with over SASL (mechanism SCRAM-SHA-256 or "
        "SCRAM-SHA-512); the cluster stores only a salted hash.",
    ),
    (
        "Iterations",
        "how many times the password is hashed (4096 to 16384): more is slower to guess.",
    ),
]

RESOURCE_TYPE_CHOICES = [
    ("TOPIC", "topic"),
    ("GROUP", "consumer group"),
    ("CLUSTER", "cluster"),
    ("TRANSACTIONAL_ID", "transactional id"),
]
PATTERN_TYPE_CHOICES = [("LITERAL", "literal"), ("PREFIXED", "prefixed")]
OPERATION_CHOICES = [
    (op, op)
    for op in (
        "ALL",
        "READ",
        "WRITE",
        "CREATE",
        "DELETE",
        "ALTER",
        "DESCRIBE",
        "CLUSTER_ACTION",
        "DESCRIBE_CONFIGS",
        "ALTER_CONFIGS",
        "IDEMPOTENT_WRITE",
    )
]
PERMISSION_CHOICES = [("ALLOW", "allow"), ("DENY", "deny")]
MECHANISM_CHOICES = [("SCRAM-SHA-256", "SCRAM-SHA-256"), ("SCRAM-SHA-512", "SCRAM-SHA-512")]
CLUSTER_NAME = "kafka-cluster"

# Kafka puts a SCRAM user name into the SASL exchange as-is; ',' and '=' are escaped there
# and nothing stops other characters, but these keep names readable in principals and URLs.
_USER_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,200}$")


def user_name_problem(name: str) -> str:
    """Why `name` is no acceptable SCRAM user name; "" when it is."""
    if not name:
        return "A user needs a name."
    if not _USER_NAME.match(name):
        return "Use letters, digits, '.', '_', '-' and '@' only (at most 200 characters)."
    return ""


def principal_problem(principal: str) -> str:
    """Why `principal` is not Kafka's TYPE:NAME form; "" when it is."""
    kind, sep, name = principal.partition(":")
    if not sep or not kind or not name:
        return "Write a principal as TYPE:NAME, for example User:alice (or User:* for everyone)."
    if kind != "User":
        return f"Kafka's authorizer knows User principals only, not {kind}."
    return ""


def resource_name_problem(resource_type: str, pattern_type: str, name: str) -> str:
    """Why `name` cannot name a resource of this type and pattern; "" when it can."""
    if not name:
        return "Name the resource (* for every one of this type)."
    if resource_type == "CLUSTER" and name != CLUSTER_NAME:
        return f"The cluster resource is always called {CLUSTER_NAME}."
    if pattern_type == "PREFIXED" and name == "*":
        return "A prefixed rule needs a real prefix; use literal * for every resource."
    return ""


def generated_password() -> str:
    """A fresh password of 32 URL-safe characters (192 bits)."""
    return secrets.token_urlsafe(24)
