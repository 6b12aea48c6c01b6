#!/bin/sh
# Re-captures the golden VRRP adverts in test/data/vrrp-captures/ from the real keepalived 2.2.7 and FRR 8.4
# vrrpd, each run inside throw-away network namespaces (see test/data/vrrp-captures/README.md).
# Needs root, tcpdump, keepalived and frr. Usage: scripts/capture-vrrp.sh [case-name ...]
set -eu
cd "$(dirname "$0")/.."
exec node --import tsx test/data/vrrp-captures/capture.ts "$@"
