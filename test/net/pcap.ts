// Minimal reader for classic pcap files (tcpdump -w): the frames, nothing else.
import { readFileSync } from 'node:fs';

export function readPcapFrames(path: string): Buffer[] {
  const b = readFileSync(path);
  if (b.length < 24) return [];
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && b.readUInt32BE(0) !== 0xa1b2c3d4 && b.readUInt32BE(0) !== 0xa1b23c4d) {
    throw new Error('not a pcap file');
  }
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const frames: Buffer[] = [];
  for (let off = 24; off + 16 <= b.length; ) {
    const capLen = u32(off + 8);
    frames.push(b.subarray(off + 16, off + 16 + capLen));
    off += 16 + capLen;
  }
  return frames;
}
