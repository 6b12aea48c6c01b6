// Ways of handing one nftables transaction (an `nft -f` script) to the kernel. Each run is atomic: the
// kernel applies the whole script or none of it. Two routes, chosen by measurement (see
// docs/decisions/lvs-programming-route.md):
//  - CLI: spawn `nft -f -` per transaction (a separate process: nothing it does can crash ours);
//  - libnftables: the library behind `nft`, loaded through koffi, in this process (≈200× cheaper).
import { spawn } from 'node:child_process';
import koffi from 'koffi';
/**
 * `nft -f -` per transaction. `netns` runs it inside a named network namespace (`ip netns exec`), which
 * the tests use; the daemon runs in its own namespace and leaves it unset.
 */
export function cliRunner(opts = {}) {
    const nft = opts.nft ?? 'nft';
    return {
        route: 'cli',
        run(script) {
            const [cmd, args] = opts.netns
                ? ['ip', ['netns', 'exec', opts.netns, nft, '-f', '-']]
                : [nft, ['-f', '-']];
            return new Promise((resolve) => {
                const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
                let err = '';
                child.stderr.setEncoding('utf8');
                child.stderr.on('data', (d) => {
                    err += d;
                });
                child.on('error', (e) => resolve({ ok: false, message: `cannot run ${nft}: ${e.message}` }));
                child.on('close', (code, signal) => {
                    if (code === 0)
                        resolve({ ok: true });
                    else
                        resolve({ ok: false, message: err.trim() || `${nft} exited ${code ?? signal}` });
                });
                child.stdin.on('error', () => {
                    /* reported through the exit status */
                });
                child.stdin.end(script);
            });
        },
        close() { },
    };
}
let lib;
function loadLib() {
    if (lib)
        return lib;
    const l = koffi.load('libnftables.so.1');
    lib = {
        ctxNew: l.func('void *nft_ctx_new(uint32_t)'),
        ctxFree: l.func('void nft_ctx_free(void *)'),
        bufferOutput: l.func('int nft_ctx_buffer_output(void *)'),
        bufferError: l.func('int nft_ctx_buffer_error(void *)'),
        getError: l.func('const char *nft_ctx_get_error_buffer(void *)'),
        runCmd: l.func('int nft_run_cmd_from_buffer(void *, const char *)'),
    };
    return lib;
}
/**
 * libnftables in this process. Safety rules (docs/decisions/lvs-programming-route.md): one context,
 * replaced by a fresh one after any failed transaction and freed at exit (a context left unfreed after
 * a failed command crashes the process at exit); scripts only add, delete and flush — never `list`,
 * which can crash libnftables 1.0.6 on some map declarations. Programs the namespace of the calling thread.
 */
export function libnftRunner() {
    const l = loadLib();
    let ctx = null;
    const free = () => {
        if (ctx)
            l.ctxFree(ctx);
        ctx = null;
    };
    process.on('exit', free);
    return {
        route: 'libnftables',
        run(script) {
            if (/^\s*list\b/m.test(script))
                return Promise.resolve({ ok: false, message: 'list commands are not sent through libnftables' });
            if (!ctx) {
                ctx = l.ctxNew(0);
                if (!ctx)
                    return Promise.resolve({ ok: false, message: 'nft_ctx_new failed' });
                l.bufferOutput(ctx);
                l.bufferError(ctx);
            }
            const rc = l.runCmd(ctx, script);
            if (rc === 0)
                return Promise.resolve({ ok: true });
            const message = (l.getError(ctx) ?? '').trim() || `libnftables rc ${rc}`;
            free();
            return Promise.resolve({ ok: false, message });
        },
        close() {
            free();
            process.removeListener('exit', free);
        },
    };
}
//# sourceMappingURL=nft-runner.js.map