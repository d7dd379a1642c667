/**
 * The logs Berth writes under $BERTH_HOME, for the Troubleshoot page: the
 * guest console (vm/console.log) and every `logs/*.log` (the VM daemon, the
 * native engine). Only the tail of each is read, so a huge log costs little.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { HostLog } from '@berth/api';
import { homeLayout } from '../util/berth-home.js';

/** Bytes read from a log's end: enough for a few thousand lines. */
const TAIL_BYTES = 256 * 1024;

export async function readHostLogs(home: string, lines: number): Promise<HostLog[]> {
  const { consoleLog, logsDir, daemonLog } = homeLayout(home);
  const files: { name: string; path: string }[] = [{ name: 'VM console', path: consoleLog }];
  const names = await readdir(logsDir).catch(() => [] as string[]);
  for (const f of names.filter((n) => n.endsWith('.log')).sort()) files.push({ name: f.replace(/\.log$/, ''), path: join(logsDir, f) });
  if (!names.includes(basename(daemonLog))) files.splice(1, 0, { name: 'vm-daemon', path: daemonLog });
  return Promise.all(files.map(async (f) => ({ ...f, ...(await tail(f.path, lines)) })));
}

async function tail(path: string, lines: number): Promise<{ exists: boolean; lines: string[]; size?: number }> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) return { exists: false, lines: [] };
  const fh = await open(path, 'r');
  try {
    const length = Math.min(st.size, TAIL_BYTES);
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, st.size - length);
    const all = buf.toString('utf8').split(/\r?\n/);
    if (length < st.size) all.shift(); // cut mid-line
    if (all.at(-1) === '') all.pop();
    return { exists: true, lines: all.slice(-lines), size: st.size };
  } finally {
    await fh.close();
  }
}
