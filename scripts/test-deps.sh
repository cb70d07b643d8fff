#!/usr/bin/env bash
# Installs what the test suite needs beyond the virtualenv: Debian's kcat (a real C client),
# chromium + chromium-driver (Playwright drives them), redis-server (the live tail's Redis
# channel layer; the tests start their own on a unix socket), fuse3 (libfuse for
# tests/faultfs.py, a filesystem whose fsyncs fail on command), the reference Apache Kafka
# jars (Maven Central) and kafkajs (npm). Idempotent; fails loudly when something cannot
# be had.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v kcat >/dev/null || need+=(kcat)
command -v redis-server >/dev/null || need+=(redis-server)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
command -v npm >/dev/null || need+=(nodejs npm)
command -v fusermount3 >/dev/null || need+=(fuse3)
if ((${#need[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "test-deps: installing Debian packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "test-deps: missing ${need[*]}; install them with: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
fi

# The reference Apache Kafka broker and tools (Maven Central), into .cache/kafka/libs.
reference/fetch_kafka.sh

# kafkajs, a real Node.js client under test (exact versions from package-lock.json).
if [[ ! -d tests/clients/js/node_modules/kafkajs ]] || [[ tests/clients/js/package-lock.json -nt tests/clients/js/node_modules ]]; then
  npm ci --prefix tests/clients/js --no-audit --no-fund --loglevel=error
  touch tests/clients/js/node_modules
fi
