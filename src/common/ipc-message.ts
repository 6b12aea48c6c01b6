// The type guard of a process channel's messages (Node's IPC pipe): an object whose `type` is one of the
// channel's. The payload is ours on both ends, so the type names the message.
export function isMessage<T extends { type: string }>(types: readonly T['type'][]): (m: unknown) => m is T {
  const known = new Set<string>(types);
  return (m: unknown): m is T =>
    typeof m === 'object' && m !== null && known.has((m as { type?: unknown }).type as string);
}
