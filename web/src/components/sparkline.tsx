/**
 * A small line of one figure over time (an SVG path, no chart library): the Quality page draws
 * each session's round trip with it, and any page with a `qoe` history can.
 */
/** The scale is the line's own maximum; fewer than two points say "collecting…". */
export function Sparkline({
  points,
  label,
  width = 120,
  height = 24,
}: {
  points: number[];
  label: string;
  width?: number;
  height?: number;
}) {
  if (points.length < 2) return <span className="muted small">collecting…</span>;
  const max = Math.max(...points, 1);
  const step = width / (points.length - 1);
  const d = points
    .map(
      (v, i) =>
        `${i ? "L" : "M"}${(i * step).toFixed(1)},${(height - (v / max) * (height - 2) - 1).toFixed(1)}`,
    )
    .join(" ");
  return (
    <svg
      className="sparkline"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={label}
    >
      <path d={d} />
    </svg>
  );
}
