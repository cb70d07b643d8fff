#!/bin/sh
# Assemble Apache Kafka's classpath into .cache/kafka/libs from Maven Central, and
# MirrorMaker 2's into .cache/kafka/mirror-libs.
# Idempotent: a stamp holding each pom's checksum skips Maven when nothing changed, so
# `make test` can call this every time. Usage: reference/fetch_kafka.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
pom="$root/reference/kafka/pom.xml"
cache="$root/.cache/kafka"
stamp="$cache/libs.stamp"
want=$(sha256sum "$pom" | cut -d' ' -f1)
if ! { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d "$cache/libs" ]; }; then
    rm -rf "$cache/libs"
    mkdir -p "$cache"
    mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies
    echo "$want" >"$stamp"
fi

# MirrorMaker 2 on a classpath of its own (see reference/kafka/mirror/pom.xml).
mirror_pom="$root/reference/kafka/mirror/pom.xml"
mirror_stamp="$cache/mirror-libs.stamp"
want=$(sha256sum "$mirror_pom" | cut -d' ' -f1)
if [ -f "$mirror_stamp" ] && [ "$(cat "$mirror_stamp")" = "$want" ] && [ -d "$cache/mirror-libs" ]; then
    exit 0
fi
rm -rf "$cache/mirror-libs"
mvn -q -B -Dstyle.color=never -f "$mirror_pom" dependency:copy-dependencies
echo "$want" >"$mirror_stamp"
