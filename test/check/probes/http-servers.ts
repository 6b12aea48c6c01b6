// Test servers and model builders shared by the HTTP_GET/SSL_GET probe tests.
import { readdirSync } from 'node:fs';
import net from 'node:net';
import type { ProbeTarget } from '../../../src/check/probe.js';
import type { Checker, HttpUrl } from '../../../src/config/model.js';

const pos = { file: 'test.conf', line: 1 } as unknown as HttpUrl['pos'];

export function url(
  path: string,
  extra: Partial<HttpUrl> & { other?: Record<string, string[]> } = {},
): HttpUrl {
  return { path, statusCodes: [], regexNoMatch: false, pos, ...extra } as HttpUrl;
}

export function checker(
  kind: 'HTTP_GET' | 'SSL_GET',
  urls: HttpUrl[],
  extra: Partial<Checker> = {},
): Checker {
  return { kind, pos, urls, other: {}, ...extra };
}

export function target(port: number, address = '127.0.0.1'): ProbeTarget {
  return { address, port, family: address.includes(':') ? 6 : 4 };
}

/** A TCP server that hands each connection and its request head (up to CRLFCRLF) to `onRequest`. */
export async function rawServer(
  onRequest: (sock: net.Socket, head: string) => void,
  host = '127.0.0.1',
): Promise<{ port: number; heads: string[]; peers: string[]; close: () => Promise<void> }> {
  const heads: string[] = [];
  const peers: string[] = [];
  const socks = new Set<net.Socket>();
  const srv = net.createServer((sock) => {
    socks.add(sock);
    peers.push(sock.remoteAddress ?? '');
    sock.on('close', () => socks.delete(sock));
    sock.on('error', () => {});
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('data', onData);
      const head = buf.slice(0, end + 4);
      heads.push(head);
      onRequest(sock, head);
    };
    sock.on('data', onData);
  });
  await new Promise<void>((r) => srv.listen(0, host, r));
  const port = (srv.address() as net.AddressInfo).port;
  return {
    port,
    heads,
    peers,
    close: () =>
      new Promise<void>((r) => {
        for (const s of socks) s.destroy();
        srv.close(() => r());
      }),
  };
}

/** Open file descriptors of this process. */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** libuv handles of the kinds a leaking probe would leave (sockets, timers). */
export function activeNetHandles(): number {
  return process
    .getActiveResourcesInfo()
    .filter((r) => r === 'TCPSocketWrap' || r === 'Timeout' || r === 'TLSWrap').length;
}
