import { netlinkFlowReader } from './src/lvs/nft-flows.js';
const r = netlinkFlowReader();
console.log(await r.list(4));
r.close();
