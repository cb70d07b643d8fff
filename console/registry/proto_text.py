"""`.proto` source text, as Java's Protobuf serializer registers it, read into the
FileDescriptorProto the rest of the registry works with.

Owns the translation from proto-schema-parser's syntax tree (messages, nested types,
enums, scalar and named fields, maps, oneofs, proto3 `optional`, imports). It must never
resolve names across files (the descriptor pool does when decoding) nor judge schemas.
"""

from __future__ import annotations

from typing import Any

from antlr4.error.ErrorListener import ErrorListener
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor_pb2 import FieldDescriptorProto as Field
from proto_schema_parser import ast
from proto_schema_parser.parser import Parser

SCALARS = {
    name: getattr(Field, f"TYPE_{name.upper()}")
    for name in (
        "double",
        "float",
        "int64",
        "uint64",
        "int32",
        "fixed64",
        "fixed32",
        "bool",
        "string",
        "bytes",
        "uint32",
        "sfixed32",
        "sfixed64",
        "sint32",
        "sint64",
    )
}
LABELS = {
    ast.FieldCardinality.REPEATED: Field.LABEL_REPEATED,
    ast.FieldCardinality.REQUIRED: Field.LABEL_REQUIRED,
}
FILE_NAME = "schema.proto"


def _typed(field: Field, type_name: str) -> None:
    if type_name in SCALARS:
        field.type = SCALARS[type_name]
    else:
        # Left for the descriptor pool to resolve as a message or an enum, as protoc does.
        field.type_name = type_name


def _field(out: descriptor_pb2.DescriptorProto, node: Any, proto3: bool) -> Field:
    field = out.field.add(name=node.name, number=node.number)
    _typed(field, node.type)
    field.label = LABELS.get(node.cardinality, Field.LABEL_OPTIONAL)
    if proto3 and node.cardinality == ast.FieldCardinality.OPTIONAL:
        field.proto3_optional = True
    return field


def _map(out: descriptor_pb2.DescriptorProto, node: ast.MapField) -> None:
    entry = out.nested_type.add(name="".join(p.title() for p in node.name.split("_")) + "Entry")
    entry.options.map_entry = True
    _typed(entry.field.add(name="key", number=1, label=Field.LABEL_OPTIONAL), node.key_type)
    _typed(entry.field.add(name="value", number=2, label=Field.LABEL_OPTIONAL), node.value_type)
    out.field.add(
        name=node.name, number=node.number, label=Field.LABEL_REPEATED, type_name=entry.name
    )


def _enum(out: descriptor_pb2.EnumDescriptorProto, node: ast.Enum) -> None:
    out.name = node.name
    for value in node.elements:
        if isinstance(value, ast.EnumValue):
            out.value.add(name=value.name, number=value.number)


def _message(out: descriptor_pb2.DescriptorProto, node: ast.Message, proto3: bool) -> None:
    out.name = node.name
    for element in node.elements:
        if isinstance(element, ast.Field):
            _field(out, element, proto3)
        elif isinstance(element, ast.MapField):
            _map(out, element)
        elif isinstance(element, ast.OneOf):
            index = len(out.oneof_decl)
            out.oneof_decl.add(name=element.name)
            for member in element.elements:
                if isinstance(member, ast.Field):
                    _field(out, member, proto3).oneof_index = index
        elif isinstance(element, ast.Message):
            _message(out.nested_type.add(), element, proto3)
        elif isinstance(element, ast.Enum):
            _enum(out.enum_type.add(), element)
    # proto3 `optional` is a oneof of one, placed after the declared oneofs as protoc does.
    for field in out.field:
        if field.proto3_optional:
            field.oneof_index = len(out.oneof_decl)
            out.oneof_decl.add(name=f"_{field.name}")


class _Strict(ErrorListener):
    """Stop at the first syntax error: the parser would otherwise recover and guess."""

    def syntaxError(
        self, recognizer: Any, offending: Any, line: int, column: int, msg: str, e: Any
    ) -> None:
        raise ValueError(f"line {line}:{column} {msg}")


def _strict(recognizer: Any) -> None:
    recognizer.removeErrorListeners()
    recognizer.addErrorListener(_Strict())


def parse(text: str) -> descriptor_pb2.FileDescriptorProto:
    """The file described by `text`; ValueError with the parser's reason when it is not one."""
    try:
        tree = Parser(setup_lexer=_strict, setup_parser=_strict).parse(text)
    except Exception as exc:  # the parser raises its own and ANTLR's errors
        raise ValueError(f"not a .proto file: {exc}") from exc
    proto3 = tree.syntax == "proto3"
    out = descriptor_pb2.FileDescriptorProto(name=FILE_NAME, syntax=tree.syntax or "proto2")
    for element in tree.file_elements:
        if isinstance(element, ast.Package):
            out.package = element.name
        elif isinstance(element, ast.Import):
            out.dependency.append(element.name)
        elif isinstance(element, ast.Message):
            _message(out.message_type.add(), element, proto3)
        elif isinstance(element, ast.Enum):
            _enum(out.enum_type.add(), element)
    if not out.message_type and not out.enum_type:
        raise ValueError("not a .proto file: it declares no message")
    return out
