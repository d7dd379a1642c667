/**
 * Durations and states as the docker CLI and dockerd print them
 * (go-units HumanDuration): "Up 2 seconds", "Exited (0) 3 minutes ago".
 */
import { type ContainerRecord, timeMs } from './container-types.js';

export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const minutes = Math.floor(ms / 60_000);
  const hours = Math.round(ms / 3_600_000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

/** The `Status` column of `docker ps`. */
export function statusText(c: ContainerRecord, now = Date.now()): string {
  const s = c.State;
  switch (s.Status) {
    case 'running':
      return `Up ${humanDuration(now - timeMs(s.StartedAt))}`;
    case 'paused':
      return `Up ${humanDuration(now - timeMs(s.StartedAt))} (Paused)`;
    case 'restarting':
      return `Restarting (${s.ExitCode}) ${humanDuration(now - timeMs(s.FinishedAt))} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    case 'exited':
      if (timeMs(s.FinishedAt) === 0) return 'Created';
      return `Exited (${s.ExitCode}) ${humanDuration(now - timeMs(s.FinishedAt))} ago`;
    default:
      return 'Created';
  }
}
