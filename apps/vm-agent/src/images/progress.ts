/**
 * Progress lines as dockerd streams them for pull, push and load: the CLI
 * draws bars from `progressDetail`, and prints `progress` when it has no TTY.
 */
export interface ProgressMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  progress?: string;
  stream?: string;
  aux?: unknown;
}

export type ProgressSink = (m: ProgressMessage) => void;

export const noProgress: ProgressSink = () => {};

/** `[=====>      ]  1.2MB/3.4MB`, as dockerd renders it. */
export function renderBar(current: number, total?: number): string {
  if (!total || total <= 0) return humanSize(current);
  const width = 50;
  const filled = Math.min(width, Math.floor((current / total) * width));
  const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? (filled >= width ? '=' : '>') : '') + ' '.repeat(width - filled);
  return `[${bar}] ${humanSize(current).padStart(8)}/${humanSize(total)}`;
}

/** Decimal units as the docker CLI uses for image sizes: 1.2MB, 532kB, 13B. */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0
    ? `${v}${units[i]}`
    : `${v < 10 ? v.toFixed(3).replace(/\.?0+$/, '') : v < 100 ? v.toFixed(2).replace(/\.?0+$/, '') : v.toFixed(1).replace(/\.0$/, '')}${units[i]}`;
}

/**
 * Reports byte progress for one item at most every `intervalMs`, plus the
 * final figure, so a fast transfer does not flood the stream with lines.
 */
export function throttledProgress(sink: ProgressSink, id: string, status: string, total: number | undefined, intervalMs = 100) {
  let current = 0;
  let last = 0;
  const emit = () => sink({ status, id, progressDetail: total ? { current, total } : { current }, progress: renderBar(current, total) });
  return {
    add(n: number) {
      current += n;
      const now = Date.now();
      if (now - last >= intervalMs) {
        last = now;
        emit();
      }
    },
    done() {
      emit();
    },
  };
}
