/**
 * A small SVG line chart of the last samples: enough to see a trend, with
 * the current value printed beside it. Values are drawn from 0 to
 * max(values, floor), so a flat line at 0 sits on the axis.
 */
export function Sparkline({
  values,
  floor,
  label,
  current,
  testId,
}: {
  values: number[];
  floor: number;
  label: string;
  current: string;
  /** Stable across languages. */ testId: string;
}) {
  const w = 320;
  const h = 80;
  const max = Math.max(floor, ...values) * 1.1;
  const step = values.length > 1 ? w / (values.length - 1) : w;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(h - (v / max) * h).toFixed(1)}`).join(' ');
  return (
    <figure className="chart">
      <figcaption>
        <span>{label}</span>
        <strong data-testid={`chart-${testId}`}>{current}</strong>
      </figcaption>
      <svg viewBox={`0 0 ${w} ${h}`} preserveAspectRatio="none" role="img" aria-label={`${label}: ${current}`}>
        <line x1="0" y1={h - 0.5} x2={w} y2={h - 0.5} className="chart-axis" />
        {values.length > 1 && <polygon points={`0,${h} ${points} ${((values.length - 1) * step).toFixed(1)},${h}`} className="chart-area" />}
        {values.length > 1 && <polyline points={points} className="chart-line" />}
      </svg>
    </figure>
  );
}
