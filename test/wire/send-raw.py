#!/usr/bin/env python3
# Sends hand-built VRRP packets from inside a test namespace: `ip netns exec NS python3 send-raw.py IFNAME [STOP_PID]`.
# stdin: one JSON object per line:
#   {"family": 4, "hex": "<whole IPv4 packet>"}                    raw IP_HDRINCL send; destination from the header
#   {"family": 6, "hex": "<VRRP message>", "dst": "ff02::12", "hops": 255, "kernelChecksum": true}
# IPv6: the kernel builds the header; with kernelChecksum it computes the VRRP checksum (IPV6_CHECKSUM offset 6),
# without it the message goes out with whatever checksum the test wrote.
# STOP_PID: SIGSTOP that process right before the first send (so a test can freeze a peer and act within
# microseconds, whatever this interpreter's start-up costs).
# stdout: one JSON line {"sent": N, "stoppedAtMs": T|null, "firstSentAtMs": T} (epoch ms). Exits non-zero on
# the first error.
import json
import os
import signal
import socket
import sys
import time

IPPROTO_VRRP = 112
IPV6_CHECKSUM = 7
SO_BINDTODEVICE = 25
GAP_S = 0.005

ifname = sys.argv[1]
stop_pid = int(sys.argv[2]) if len(sys.argv) > 2 else None
ifindex = socket.if_nametoindex(ifname)

s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)  # IPPROTO_RAW implies IP_HDRINCL
s4.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, ifname.encode())
s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_VRRP)
s6.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, ifname.encode())

packets = [json.loads(line) for line in sys.stdin.read().splitlines() if line.strip()]

stopped_at = None
if stop_pid is not None:
    os.kill(stop_pid, signal.SIGSTOP)
    stopped_at = time.time() * 1000

first_sent_at = None
for p in packets:
    data = bytes.fromhex(p["hex"])
    if p["family"] == 4:
        dst = socket.inet_ntoa(data[16:20])
        s4.sendto(data, (dst, 0))
    else:
        hops = int(p.get("hops", 255))
        s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, hops)
        s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, hops)
        s6.setsockopt(socket.IPPROTO_IPV6, IPV6_CHECKSUM, 6 if p.get("kernelChecksum", True) else -1)
        s6.sendto(data, (p.get("dst", "ff02::12"), 0, 0, ifindex))
    if first_sent_at is None:
        first_sent_at = time.time() * 1000
    time.sleep(GAP_S)
print(json.dumps({"sent": len(packets), "stoppedAtMs": stopped_at, "firstSentAtMs": first_sent_at}))
