#!/usr/bin/env python3
# A minimal SCTP peer over raw IPv4 sockets, for kernels without SCTP sockets (CONFIG_IP_SCTP off, as here:
# socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP) fails with EPROTONOSUPPORT) whose netfilter still tracks,
# NATs and matches SCTP. It speaks only the first two packets of an association — INIT and INIT ACK (RFC 9260
# §3.3.2, §3.3.3) — which is what an LVS data plane acts on: the INIT is scheduled, the INIT ACK comes back.
#
#   python3 sctp-peer.py serve NAME
#       Answers every INIT reaching this namespace with an INIT ACK sent from the INIT's destination address
#       (a DR real server answers from the VIP it holds on lo), carrying "NAME:<dport it saw>" as its State
#       Cookie. Prints "ready" once listening.
#   python3 sctp-peer.py init TARGET DPORT SPORT [TIMEOUT_S]
#       Sends one INIT from SPORT to TARGET:DPORT, waits for the INIT ACK answering it, prints one JSON line
#       {"from": <source address of the answer>, "cookie": "NAME:port"} or {"error": "timeout"}.
#
# Packets carry a correct CRC32c (conntrack verifies it in prerouting) and the verification tags conntrack
# checks (INIT: tag 0 in the common header; INIT ACK: the INIT's Initiate Tag).
import json
import os
import socket
import struct
import sys
import time

IPPROTO_SCTP = 132


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_T = _crc32c_table()


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c = _T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def packet(sport: int, dport: int, vtag: int, chunk: bytes) -> bytes:
    # The checksum field holds the CRC32c in little-endian byte order (as Linux writes it).
    head = struct.pack("!HHII", sport, dport, vtag, 0)
    crc = crc32c(head + chunk)
    return struct.pack("!HHI", sport, dport, vtag) + struct.pack("<I", crc) + chunk


def init_chunk(kind: int, tag: int, tsn: int, params: bytes = b"") -> bytes:
    # INIT (1) / INIT ACK (2): Initiate Tag, a_rwnd, outbound streams, inbound streams, initial TSN.
    body = struct.pack("!IIHHI", tag, 65535, 1, 1, tsn) + params
    return struct.pack("!BBH", kind, 0, 4 + len(body)) + body


def parse(raw: bytes):
    """(src, dst, sport, dport, vtag, chunk type, chunk body) of an IPv4 SCTP packet, or None."""
    ihl = (raw[0] & 0x0F) * 4
    if len(raw) < ihl + 16:
        return None
    src = socket.inet_ntoa(raw[12:16])
    dst = socket.inet_ntoa(raw[16:20])
    sport, dport, vtag = struct.unpack("!HHI", raw[ihl : ihl + 8])
    ctype, _flags, clen = struct.unpack("!BBH", raw[ihl + 12 : ihl + 16])
    return src, dst, sport, dport, vtag, ctype, raw[ihl + 16 : ihl + 12 + clen]


def serve(name: str) -> None:
    rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_SCTP)
    print("ready", flush=True)
    while True:
        raw = rx.recv(65535)
        p = parse(raw)
        if p is None or p[5] != 1:
            continue
        src, dst, sport, dport, _vtag, _ctype, body = p
        peer_tag = struct.unpack("!I", body[0:4])[0]
        cookie = f"{name}:{dport}".encode()
        param = struct.pack("!HH", 7, 4 + len(cookie)) + cookie
        param += b"\0" * (-len(param) % 4)
        chunk = init_chunk(2, int.from_bytes(os.urandom(4), "big") | 1, 1, param)
        tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_SCTP)
        tx.bind((dst, 0))  # answer from the address the INIT was sent to
        tx.sendto(packet(dport, sport, peer_tag, chunk), (src, 0))
        tx.close()


def init(target: str, dport: int, sport: int, timeout_s: float) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_SCTP)
    tag = int.from_bytes(os.urandom(4), "big") | 1
    s.sendto(packet(sport, dport, 0, init_chunk(1, tag, 1)), (target, 0))
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            print(json.dumps({"error": "timeout"}))
            return
        s.settimeout(left)
        try:
            raw = s.recv(65535)
        except socket.timeout:
            continue
        p = parse(raw)
        if p is None:
            continue
        src, _dst, psport, pdport, vtag, ctype, body = p
        if ctype != 2 or pdport != sport or psport != dport or vtag != tag:
            continue
        ptype, plen = struct.unpack("!HH", body[16:20])
        cookie = body[20 : 16 + plen].decode() if ptype == 7 else ""
        print(json.dumps({"from": src, "cookie": cookie}))
        return


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    else:
        init(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]) if len(sys.argv) > 5 else 2.0)
