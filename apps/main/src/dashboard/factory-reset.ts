/**
 * Reset to factory defaults: what Berth keeps under $BERTH_HOME, and deleting
 * it. Only the home's entries (HOME_ENTRIES in util/berth-home.ts, which names
 * every path Berth writes there) are touched, each checked to be inside the
 * home (a symlink is removed as a link, never followed); anything else the
 * user put there stays. The caller stops the engine first.
 */
import { lstat, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, relative, resolve, isAbsolute } from 'node:path';
import type { ResetPlan } from '@berth/api';
import { HOME_ENTRIES } from '../util/berth-home.js';

/** What a reset would delete now (the entries that exist). */
export async function resetPlan(home: string): Promise<ResetPlan> {
  const root = checkedHome(home);
  const entries: ResetPlan['entries'] = [];
  for (const e of Object.values(HOME_ENTRIES)) {
    const path = inside(root, e.name);
    const st = await lstat(path).catch(() => undefined);
    if (st) entries.push({ path, what: e.what, kind: st.isDirectory() ? 'dir' : 'file' });
  }
  return { home: root, entries };
}

/** Deletes the plan's entries; answers what was deleted. */
export async function factoryReset(home: string): Promise<string[]> {
  const plan = await resetPlan(home);
  const deleted: string[] = [];
  for (const e of plan.entries) {
    await rm(inside(plan.home, relative(plan.home, e.path)), { recursive: true, force: true });
    deleted.push(e.path);
  }
  return deleted;
}

/** Refuses a home that is a filesystem root or the user's own home folder: a mistyped BERTH_HOME must not wipe either. */
function checkedHome(home: string): string {
  const root = resolve(home);
  if (!isAbsolute(root) || root === resolve('/') || root === resolve(homedir())) {
    throw Object.assign(new Error(`refusing to reset ${root}: BERTH_HOME must be Berth's own folder, not / or your home folder`), { status: 409 });
  }
  return root;
}

function inside(root: string, name: string): string {
  const path = join(root, name);
  const rel = relative(root, path);
  if (!rel || rel.startsWith('..') || isAbsolute(rel)) throw new Error(`${path} is not inside ${root}`);
  return path;
}
