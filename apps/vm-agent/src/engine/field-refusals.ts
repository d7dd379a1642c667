/**
 * The one way a field is refused by name: a table of fields, each with when
 * its value is refused and the words of the error, checked in the table's
 * order. The create rules (placement, log options), the confinement fields
 * Berth does not apply yet and `docker update`'s fixed fields all use it, so
 * "set" means the same everywhere.
 */
import { type EngineError, invalidParameter } from '../errors.js';

/**
 * A field counts as set when it differs from the zero value every client
 * sends (undefined, null, '', false, 0, an empty list or object) and from
 * `unset`, the field's own defaults (-1 for swappiness, 'host' for UsernsMode).
 */
export function isSet(v: unknown, unset: readonly unknown[] = []): boolean {
  if (v === undefined || v === null || v === '' || v === false || v === 0) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return !unset.includes(v);
}

export interface FieldRefusal {
  field: string;
  /** When the value is refused; without it, whenever it is set (isSet with `unset`). */
  refused?: (value: unknown) => boolean;
  unset?: readonly unknown[];
  message: (value: unknown) => string;
  /** The error when dockerd answers other than 400 (systemError: 500). */
  error?: (message: string) => EngineError;
}

/** Throws for the first row of `table` whose field `fields` holds in a refused form. */
export function refuseFields(fields: object, table: readonly FieldRefusal[]): void {
  const values = fields as Record<string, unknown>;
  for (const row of table) {
    const v = values[row.field];
    if (row.refused ? row.refused(v) : isSet(v, row.unset)) throw (row.error ?? invalidParameter)(row.message(v));
  }
}
