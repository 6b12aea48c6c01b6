# The servers the checker data dump configuration checks (test/data/check-dump/README.md), all on 127.0.0.1:
# HTTP on 8080 (this file's directory listing) and 8081 (a directory holding index.html), HTTPS on 8443
# (certificate and key given as arguments), a line-based SMTP responder on 8025, a DNS responder on UDP 8053
# (echoes the query as an answer with no error) and a UDP echo on 8054. Standard library only.
import http.server
import os
import socket
import socketserver
import ssl
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
WWW, CERT, KEY = sys.argv[1], sys.argv[2], sys.argv[3]


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    # A checker that has read what it needs closes the connection mid-body: not worth a traceback.
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def http_on(port, root, tls=False):
    handler = lambda *a, **k: Quiet(*a, directory=root, **k)  # noqa: E731
    srv = QuietServer(('127.0.0.1', port), handler)
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(CERT, KEY)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()


class Smtp(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b'220 kats ESMTP\r\n')
        for line in self.rfile:
            word = line.split(b' ')[0].strip().upper()
            if word == b'QUIT':
                self.wfile.write(b'221 bye\r\n')
                return
            self.wfile.write(b'250 ok\r\n')


def udp_on(port, answer):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', port))

    def loop():
        while True:
            data, peer = s.recvfrom(2048)
            s.sendto(answer(data), peer)

    threading.Thread(target=loop, daemon=True).start()


def dns_answer(q):
    # Same id, QR set, RCODE 0.
    return q[:2] + bytes([q[2] | 0x80, q[3] & 0xF0]) + q[4:]


http_on(8080, HERE)
http_on(8081, WWW)
http_on(8443, WWW, tls=True)
socketserver.ThreadingTCPServer.allow_reuse_address = True
smtp = socketserver.ThreadingTCPServer(('127.0.0.1', 8025), Smtp)
threading.Thread(target=smtp.serve_forever, daemon=True).start()
udp_on(8053, dns_answer)
udp_on(8054, lambda d: d)
print('ready', flush=True)
threading.Event().wait()
