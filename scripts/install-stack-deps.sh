#!/usr/bin/env bash
# Installs what the stack test and the bundle checks need, from Debian's packages: Prometheus (with promtool),
# Alertmanager 0.25 (its amtool loads the native receivers example; alertmanager.yml's url_file needs the 0.28
# below), docker-compose (only to validate docker-compose.yml; no engine is needed),
# openssl (the stack test makes its TLS certificates with it), systemd-analyze (the systemd unit's check) and
# chromium (the landing page's screenshot tests).
set -euo pipefail
need=()
command -v promtool >/dev/null || need+=(prometheus)
command -v amtool >/dev/null || need+=(prometheus-alertmanager)
command -v docker-compose >/dev/null || need+=(docker-compose)
# The stack test makes its CA and server certificate with the openssl CLI.
command -v openssl >/dev/null || need+=(openssl)
# test/kubernetes.test.ts renders deploy/kubernetes with `kubectl kustomize` (built into Debian's kubectl).
command -v kubectl >/dev/null || need+=(kubernetes-client)
# test/systemd-unit.test.ts checks deploy/systemd/mlwatch.service offline with `systemd-analyze verify`.
command -v systemd-analyze >/dev/null || need+=(systemd)
# test/landing-screenshots.test.ts draws the landing page in headless Chromium at desktop and phone widths.
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# The packages start system services on install; the stack test runs its own copies on other ports.
for svc in prometheus prometheus-alertmanager; do
  if pgrep -x "${svc#prometheus-}" >/dev/null 2>&1 && [ -x "/etc/init.d/$svc" ]; then "/etc/init.d/$svc" stop >/dev/null 2>&1 || true; fi
done
promtool --version | head -1
amtool --version 2>&1 | head -1
docker-compose version --short
openssl version
chromium --version 2>/dev/null | head -1
# promtool 3.x and Alertmanager >= 0.28, server and amtool (Debian 12 has 2.42/0.25), unpacked from Debian
# sid/trixie under .cache/prometheus-current/ without installing anything: test/prometheus3-bundle.test.ts, and
# trixie's Alertmanager for test/alertmanager.test.ts and the live stack (alertmanager.yml's url_file).
bash "$(dirname "$0")/install-prometheus3.sh"
