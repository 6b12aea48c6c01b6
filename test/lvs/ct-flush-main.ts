// Runs the real conntrack flusher inside a namespace for the tests (which program namespaces from the
// root one): `ip netns exec NS node --import tsx test/lvs/ct-flush-main.ts MARK...`; prints the errors.
import { netlinkFlusher } from '../../src/lvs/ct-flush.js';

const f = netlinkFlusher();
const errors = await f.flush(process.argv.slice(2).map(Number));
f.close();
process.stdout.write(`${JSON.stringify(errors)}\n`);
