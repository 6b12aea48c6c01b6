// The /proc scans of vrrp_track_process, on a worker thread: reading a few hundred small files costs the
// thread that does it milliseconds, and on the VRRP thread that would be jitter in the adverts. The worker
// scans every `intervalMs` and posts the count of matching processes per tracker; the VRRP thread only
// receives a short array.
import { parentPort, workerData } from 'node:worker_threads';
import type { TrackProcess } from '../config/model.js';
import { scanProc } from './proc-scan.js';
import { countMatching } from './process-match.js';

interface ScanJob {
  moduleUrl: string;
  defs: TrackProcess[];
  procDir: string;
  intervalMs: number;
  needArgv: boolean;
}

const job = workerData as ScanJob;
const scan = () => {
  const procs = scanProc(job.procDir, job.needArgv);
  parentPort?.postMessage(job.defs.map((d) => countMatching(d, procs)));
};
setInterval(scan, job.intervalMs);
scan();
