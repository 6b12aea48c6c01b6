// A real SMTP server for the mail tests (the smtp-server package), run inside a test's namespace:
//   node --import tsx smtp-sink.ts ADDRESS PORT MODE
// MODE accept: every message accepted; reject: every RCPT TO refused with 550; silent: connections accepted
// and never answered. One JSON line on stdout per event: {"ready":true}, then per message
// {"helo","from","to":[…],"data"} (data is the message as received, dot-unstuffed), per refused recipient
// {"rejected": address}, per silent connection {"connection": true}.
import { createServer } from 'node:net';
import { SMTPServer } from 'smtp-server';

const [address = '127.0.0.1', portText = '2525', mode = 'accept'] = process.argv.slice(2);
const port = Number(portText);
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

if (mode === 'silent') {
  const held: import('node:net').Socket[] = [];
  createServer((s) => {
    held.push(s);
    s.on('error', () => {});
    out({ connection: true });
  }).listen(port, address, () => out({ ready: true }));
} else {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    banner: 'kats test sink',
    onRcptTo(addr, _session, cb) {
      if (mode === 'reject') {
        out({ rejected: addr.address });
        const e = new Error('no such user') as Error & { responseCode: number };
        e.responseCode = 550;
        return cb(e);
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        out({
          helo: session.hostNameAppearsAs,
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks).toString('latin1'),
        });
        cb();
      });
    },
  });
  server.on('error', (e) => process.stderr.write(`sink: ${e.message}\n`));
  server.listen(port, address, () => out({ ready: true }));
}
process.on('SIGTERM', () => process.exit(0));
