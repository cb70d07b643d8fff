"""The principal of a TLS client certificate, as Kafka's DefaultKafkaPrincipalBuilder names it.

Owns turning a peer certificate (DER bytes) into its subject's distinguished name in RFC 2253
form (Java's `X500Principal.getName()`: most specific RDN first, `CN=app1,OU=eng`, attribute
types Java has no keyword for as `OID=#hex` of the value's DER encoding), and Kafka's
`ssl.principal.mapping.rules` (`DEFAULT`, `RULE:pattern/replacement/[LU]`, first rule
whose pattern matches the whole name wins). It must never read files or sockets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

# The attribute types Java's RFC 2253 writer names by keyword; any other is written as its
# dotted OID with the value's DER bytes in hex.
_KEYWORDS = {
    NameOID.COMMON_NAME: "CN",
    NameOID.COUNTRY_NAME: "C",
    NameOID.LOCALITY_NAME: "L",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.STREET_ADDRESS: "STREET",
    NameOID.DOMAIN_COMPONENT: "DC",
    NameOID.USER_ID: "UID",
}
# Java escapes these anywhere in a value (RFC 2253's set plus `=` and `#`).
_SPECIAL = ',=+<>#;"\\'


def _escape(value: str) -> str:
    """A value as Java writes it: specials and NUL escaped, then leading and trailing
    whitespace."""
    out = "".join("\\" + c if c in _SPECIAL else "\\00" if c == "\0" else c for c in value)
    lead = len(out) - len(out.lstrip())
    end = len(out.rstrip()) if out.strip() else lead
    return "".join("\\" + c if i < lead or i >= end else c for i, c in enumerate(out))


def _der_hex(attribute: x509.NameAttribute[str]) -> str:
    raw = attribute.value.encode() if isinstance(attribute.value, str) else bytes(attribute.value)
    tag = attribute._type.value  # the value's ASN.1 string type, as the certificate holds it
    n = len(raw)
    length = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)])
    if n >= 0x80:
        length += n.to_bytes((n.bit_length() + 7) // 8, "big")
    return "#" + (bytes([tag]) + length + raw).hex()


def subject_name(der: bytes) -> str:
    """The certificate subject in RFC 2253 form, as Java's X500Principal.getName() gives it."""
    subject = x509.load_der_x509_certificate(der).subject
    rdns = []
    for rdn in reversed(subject.rdns):
        parts = []
        for attribute in rdn:
            keyword = _KEYWORDS.get(attribute.oid)
            if keyword is None:
                parts.append(f"{attribute.oid.dotted_string}={_der_hex(attribute)}")  # type: ignore[arg-type]
            else:
                parts.append(f"{keyword}={_escape(str(attribute.value))}")
        rdns.append("+".join(parts))
    return ",".join(rdns)


@dataclass(frozen=True)
class Rule:
    """One mapping rule; `pattern` None is DEFAULT (the name unchanged)."""

    pattern: re.Pattern[str] | None
    replacement: str = ""
    case: str = ""

    def apply(self, name: str) -> str | None:
        if self.pattern is None:
            return name
        if self.pattern.fullmatch(name) is None:
            return None
        mapped = self.pattern.sub(self.replacement, name)
        return (
            mapped.lower() if self.case == "L" else mapped.upper() if self.case == "U" else mapped
        )


_RULE = re.compile(r"\s*(?:(DEFAULT)|RULE:((?:\\.|[^\\/])*)/((?:\\.|[^\\/])*)/([LU]?))\s*(?:,|$)")


def _java_replacement(text: str) -> str:
    """Java's `$1` group references as Python's `\\g<1>`; other backslashes kept literal."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append(text[i + 1].replace("\\", "\\\\"))
            i += 2
        elif text[i] == "$" and i + 1 < len(text) and text[i + 1].isdigit():
            j = i + 1
            while j < len(text) and text[j].isdigit():
                j += 1
            out.append(f"\\g<{text[i + 1 : j]}>")
            i = j
        else:
            out.append(text[i].replace("\\", "\\\\"))
            i += 1
    return "".join(out)


def parse_rules(text: str) -> tuple[Rule, ...]:
    """Kafka's ssl.principal.mapping.rules; raises ValueError naming what is malformed."""
    rules: list[Rule] = []
    pos, text = 0, text.strip()
    while pos < len(text):
        match = _RULE.match(text, pos)
        if match is None or match.end() == pos:
            raise ValueError(f"Invalid rule: {text[pos:]}")
        if match.group(1):
            rules.append(Rule(None))
        else:
            try:
                pattern = re.compile(match.group(2))
            except re.error as exc:
                raise ValueError(f"Invalid rule pattern {match.group(2)}: {exc}") from None
            rules.append(Rule(pattern, _java_replacement(match.group(3)), match.group(4)))
        pos = match.end()
    if not rules:
        raise ValueError("at least one rule is required (DEFAULT keeps the name)")
    return tuple(rules)


def map_name(rules: tuple[Rule, ...], name: str) -> str:
    """The principal name for distinguished name `name`; ValueError when no rule applies
    (Kafka then fails the client's authentication)."""
    for rule in rules:
        mapped = rule.apply(name)
        if mapped is not None:
            return mapped
    raise ValueError(f"No rules apply to {name}")
