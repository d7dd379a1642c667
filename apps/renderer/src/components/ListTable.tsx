import type { ReactNode } from 'react';
import { TableState } from './Notice.js';

export interface Column {
  title: string;
  className?: string;
}

/** The card every list page uses: a header row, the rows given, and the state line under them (down, loading, refused, empty). */
export function ListTable(props: {
  label: string;
  columns: Column[];
  children: ReactNode;
  running: boolean;
  query: { isLoading: boolean; error: unknown };
  count: number;
  emptyText: ReactNode;
  /** Put in the first column's header (a select-all checkbox). */
  headCheckbox?: ReactNode;
  /** Plural noun, translated, for the "not supported by this engine yet" state: `Volumes`. */
  what?: string;
}) {
  return (
    <div className="card">
      <table className="table" aria-label={props.label}>
        <thead>
          <tr>
            {props.columns.map((c, i) => (
              <th key={c.title || i} className={c.className}>
                {i === 0 && props.headCheckbox ? props.headCheckbox : c.title}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
      <TableState running={props.running} query={props.query} count={props.count} emptyText={props.emptyText} what={props.what} />
    </div>
  );
}
