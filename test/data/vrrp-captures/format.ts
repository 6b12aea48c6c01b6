// The layout of a capture file (test/data/vrrp-captures/<case>.json) shared by its writer (capture.ts) and its
// reader (test/vrrp/golden.test.ts).

/** One VRRP instance as the capturing daemon was configured: every captured packet must match one. */
export interface CaptureExpected {
  family: 4 | 6;
  version: 2 | 3;
  vrid: number;
  priority: number;
  advertIntervalCs: number;
  authType: number;
  password?: string;
  addresses: string[];
  unicastPeers?: string[];
}
