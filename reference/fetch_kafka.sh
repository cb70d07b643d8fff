#!/bin/sh
# Assemble Apache Kafka's classpath into .cache/kafka/libs from Maven Central.
# Idempotent: a stamp holding the pom's checksum skips Maven when nothing changed, so
# `make test` can call this every time. Usage: reference/fetch_kafka.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
pom="$root/reference/kafka/pom.xml"
cache="$root/.cache/kafka"
stamp="$cache/libs.stamp"
want=$(sha256sum "$pom" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d "$cache/libs" ]; then
    exit 0
fi
rm -rf "$cache/libs"
mkdir -p "$cache"
mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies
echo "$want" >"$stamp"
