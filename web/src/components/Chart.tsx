import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'preact/hooks';

export interface ChartProps {
  /** What the chart shows, for screen readers. */
  label: string;
  data: uPlot.AlignedData;
  series: uPlot.Series[];
  scales?: uPlot.Scales;
  axes?: uPlot.Axis[];
  /** Filled bands between two series; the fill defaults to the theme's `--band-fill`. */
  bands?: uPlot.Band[];
  height?: number;
  /** Text for the hover tooltip at a data index; null hides it. */
  tooltip?: (idx: number) => string | null;
  /** Shaded x ranges (e.g. labelled segments). */
  ranges?: [number, number][];
  /** Dragging across the chart selects an x range instead of zooming. */
  onSelectRange?: (from: number, to: number) => void;
  /** Changes whenever data changed in place. */
  version?: number;
  testId?: string;
}

export const css = (name: string, fallback: string) =>
  getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

/** A uPlot canvas chart that resizes with its container and follows the colour scheme. */
export function Chart(p: ChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const tip = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const props = useRef(p);
  props.current = p;

  useEffect(() => {
    const el = host.current!;
    let u: uPlot | null = null;
    const build = () => {
      u?.destroy();
      const fg = css('--muted', '#555');
      const grid = css('--grid', 'rgba(128,128,128,.2)');
      const axes: uPlot.Axis[] = (props.current.axes ?? [{}, {}]).map((a) => ({
        stroke: fg,
        grid: { stroke: grid, width: 1 },
        ticks: { stroke: grid },
        ...a,
      }));
      const opts: uPlot.Options = {
        width: Math.max(200, el.clientWidth),
        height: props.current.height ?? 260,
        series: [{}, ...props.current.series],
        scales: { x: { time: true }, ...props.current.scales },
        axes,
        bands: (props.current.bands ?? []).map((b) => ({
          fill: css('--band-fill', 'rgba(11,122,117,.12)'),
          ...b,
        })),
        legend: { show: true, live: false },
        cursor: {
          drag: props.current.onSelectRange ? { x: true, y: false, setScale: false } : { x: true, y: false },
          points: { size: 6 },
        },
        hooks: {
          setCursor: [
            (uu) => {
              const t = tip.current;
              if (!t) return;
              const idx = uu.cursor.idx;
              const text = idx == null ? null : (props.current.tooltip?.(idx) ?? null);
              if (!text || uu.cursor.left == null || uu.cursor.left < 0) {
                t.hidden = true;
                return;
              }
              t.hidden = false;
              t.textContent = text;
              const left = Math.min(uu.cursor.left + 12, uu.over.clientWidth - 180);
              t.style.transform = `translate(${left}px, ${(uu.cursor.top ?? 0) + 12}px)`;
            },
          ],
          setSelect: [
            (uu) => {
              const cb = props.current.onSelectRange;
              if (!cb || uu.select.width < 2) return;
              const a = uu.posToVal(uu.select.left, 'x');
              const b = uu.posToVal(uu.select.left + uu.select.width, 'x');
              uu.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
              cb(a, b);
            },
          ],
          draw: [
            (uu) => {
              const ranges = props.current.ranges;
              if (!ranges?.length) return;
              const ctx = uu.ctx;
              ctx.save();
              ctx.fillStyle = css('--label-fill', 'rgba(220,120,0,.18)');
              for (const [a, b] of ranges) {
                const x0 = uu.valToPos(a, 'x', true);
                const x1 = uu.valToPos(b, 'x', true);
                ctx.fillRect(x0, uu.bbox.top, Math.max(2, x1 - x0), uu.bbox.height);
              }
              ctx.restore();
            },
          ],
        },
      };
      u = new uPlot(opts, props.current.data, el.querySelector('.plot') as HTMLElement);
      plot.current = u;
    };
    build();
    const ro = new ResizeObserver(() =>
      u?.setSize({ width: Math.max(200, el.clientWidth), height: props.current.height ?? 260 }),
    );
    ro.observe(el);
    const mq = matchMedia('(prefers-color-scheme: dark)');
    mq.addEventListener('change', build);
    return () => {
      ro.disconnect();
      mq.removeEventListener('change', build);
      u?.destroy();
      plot.current = null;
    };
    // The chart is rebuilt only when its shape changes; data flows through setData below.
  }, [p.series.length, p.onSelectRange ? 1 : 0]);

  useEffect(() => {
    plot.current?.setData(p.data);
  }, [p.data, p.version, p.ranges]);

  return (
    <div class="chart" ref={host} role="img" aria-label={p.label} data-testid={p.testId}>
      <div class="plot" />
      <div class="chart-tip" ref={tip} hidden role="tooltip" />
    </div>
  );
}
