#!/usr/bin/env python3
# Sends hand-built VRRP packets from inside a test namespace (run with `ip netns exec NS python3 send-raw.py IFNAME`).
# stdin: one JSON object per line:
#   {"family": 4, "hex": "<whole IPv4 packet>"}                    raw IP_HDRINCL send; destination from the header
#   {"family": 6, "hex": "<VRRP message>", "dst": "ff02::12", "hops": 255, "kernelChecksum": true}
# IPv6: the kernel builds the header; with kernelChecksum it computes the VRRP checksum (IPV6_CHECKSUM offset 6),
# without it the message goes out with whatever checksum the test wrote. Exits non-zero on the first error.
import json
import socket
import sys
import time

IPPROTO_VRRP = 112
IPV6_CHECKSUM = 7
SO_BINDTODEVICE = 25

ifname = sys.argv[1]
ifindex = socket.if_nametoindex(ifname)
gap_s = float(sys.argv[2]) if len(sys.argv) > 2 else 0.005

s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)  # IPPROTO_RAW implies IP_HDRINCL
s4.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, ifname.encode())
s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_VRRP)
s6.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, ifname.encode())

sent = 0
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    p = json.loads(line)
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
    sent += 1
    time.sleep(gap_s)
print(sent)
