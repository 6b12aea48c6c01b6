// Checker kind → probe. The HTTP_GET / SSL_GET probes live in './http.js' (built separately); that module is
// imported once, lazily, by loadProbeFactory(): when it is not part of the build, those two kinds get a
// clear "not built" error and every other kind works (docs/probes.md, "Factory").

import type { UserRef } from '../../common/script-identity.js';
import { ScriptRunner } from '../../common/script-runner.js';
import type { Checker, SslConfig, TrackFile } from '../../config/model.js';
import type { Probe, ProbeFactory, ProbeTarget } from '../probe.js';
import { DnsProbe } from './dns.js';
import { FileProbe } from './file.js';
import { MiscProbe, miscOptionsOf } from './misc.js';
import { PingProbe } from './ping.js';
import { SmtpProbe } from './smtp.js';
import { TcpProbe } from './tcp.js';
import { replySpecOf, UdpProbe } from './udp.js';

/** What the HTTP module exports. */
export interface HttpProbeModule {
  createHttpProbe(
    checker: Checker,
    target: ProbeTarget,
    ctx?: { ssl?: SslConfig },
  ): { ok: true; probe: Probe } | { ok: false; message: string };
}

/** Where the HTTP probes are; a variable, so that a build without that module still compiles. */
const HTTP_PROBE_MODULE: string = './http.js';
export const HTTP_NOT_BUILT = 'HTTP_GET/SSL_GET probes are not built in this branch';

/** Configuration the probes need beyond their checker block. */
export interface ProbeContext {
  /** Root-level track_file blocks (FILE_CHECK names one). */
  trackFiles: TrackFile[];
  /** global_defs script_user (MISC_CHECK's default identity). */
  scriptUser?: UserRef;
  /** The root SSL block, for SSL_GET. */
  ssl?: SslConfig;
}

type Made = ReturnType<ProbeFactory>;

function made(probe: Probe): Made {
  return { ok: true, probe };
}

/** The factory for every kind; `http` is the loaded HTTP module, if any. */
export function createProbeFactory(ctx: ProbeContext, http?: HttpProbeModule): ProbeFactory {
  const scripts = new ScriptRunner(ctx.scriptUser);
  return (checker, target) => {
    switch (checker.kind) {
      case 'TCP_CHECK':
        return made(new TcpProbe(target));
      case 'SMTP_CHECK':
        return made(new SmtpProbe(target, checker.heloName));
      case 'DNS_CHECK':
        return made(new DnsProbe(target, checker.dnsType ?? 'SOA', checker.dnsName ?? ''));
      case 'UDP_CHECK': {
        const payload = checker.payloadHex
          ? Uint8Array.from(Buffer.from(checker.payloadHex, 'hex'))
          : undefined;
        return made(new UdpProbe(target, payload, replySpecOf(checker)));
      }
      case 'PING_CHECK':
        return made(new PingProbe(target));
      case 'MISC_CHECK': {
        const o = miscOptionsOf(checker, scripts);
        if (!o) return { ok: false, message: 'MISC_CHECK has no misc_path' };
        return made(new MiscProbe(o));
      }
      case 'FILE_CHECK': {
        if (!checker.trackFile) return { ok: false, message: 'FILE_CHECK has no track_file specified' };
        const tf = ctx.trackFiles.find((f) => f.name === checker.trackFile);
        if (!tf) return { ok: false, message: `track_file ${checker.trackFile} not found` };
        if (!tf.file) return { ok: false, message: `track_file ${tf.name} has no file` };
        // Without its own weight the FILE_CHECK takes the track_file's weight and reverse (keepalived).
        const own = checker.weight !== undefined;
        return made(
          new FileProbe(
            tf.name,
            tf.file,
            own ? checker.weight! : tf.weight,
            own ? checker.reverse === true : tf.reverse,
          ),
        );
      }
      case 'HTTP_GET':
      case 'SSL_GET':
        if (!http) return { ok: false, message: HTTP_NOT_BUILT };
        // The core has already given the checker its inherited virtualhost (url > checker > real > virtual).
        return http.createHttpProbe(checker, target, ctx.ssl === undefined ? {} : { ssl: ctx.ssl });
      // Never polled: its results are the BFD process's session states, pushed (CheckerRuntime.bfdState).
      case 'BFD_CHECK':
        return { ok: false, message: 'BFD_CHECK is not polled: its results come from the BFD process' };
    }
  };
}

/** Whether an import failed because the module itself is absent (not one it imports). */
function isMissing(e: unknown, specifier: string): boolean {
  const err = e as { code?: string; message?: string; url?: string };
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') return false;
  const file = specifier.replace(/^\.\//, '').replace(/\.js$/, '');
  return (err.url ?? err.message ?? '').includes(`/probes/${file}`);
}

/** Loads the HTTP module if this build has it, then the factory. Any other import failure is thrown. */
export async function loadProbeFactory(ctx: ProbeContext): Promise<ProbeFactory> {
  let http: HttpProbeModule | undefined;
  try {
    http = (await import(HTTP_PROBE_MODULE)) as HttpProbeModule;
  } catch (e) {
    if (!isMissing(e, HTTP_PROBE_MODULE)) throw e;
  }
  return createProbeFactory(ctx, http);
}
