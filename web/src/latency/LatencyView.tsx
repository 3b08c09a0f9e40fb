import { useEffect, useState } from "react";
import { api } from "../api/client";
import type { components } from "../api/schema";
import { messageOf } from "../app/words";
import { percentOf, STAGES, shownMs, waterfall } from "./model";

type Report = components["schemas"]["LatencyReport"];
type Turn = components["schemas"]["LatencyTurn"];

const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });
const timeFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });

function Waterfall({ turn }: { turn: Turn }) {
  const { bars, totalMs } = waterfall(turn);
  const scale = Math.max(totalMs ?? 0, ...bars.map((bar) => bar.startMs + bar.ms), 1);
  return (
    <figure className="waterfall" aria-label="Stages of this turn">
      {bars.map((bar) => (
        <div key={bar.label} className="waterfall-row">
          <span className="waterfall-label">{bar.label}</span>
          <span className="waterfall-track">
            <span
              className="waterfall-bar"
              style={{ marginLeft: `${percentOf(bar.startMs, scale)}%`, width: `${percentOf(bar.ms, scale)}%` }}
            />
          </span>
          <span className="waterfall-ms">{shownMs(bar.ms)}</span>
        </div>
      ))}
      <div className="waterfall-row total">
        <span className="waterfall-label">End of speech → first audio</span>
        <span className="waterfall-track">
          <span className="waterfall-bar" style={{ width: `${percentOf(totalMs, scale)}%` }} />
        </span>
        <span className="waterfall-ms">{shownMs(totalMs)}</span>
      </div>
      <figcaption className="hint">
        Stages overlap (speech is transcribed while Butler waits for the end of the turn), so the last line is
        measured, not added up.
      </figcaption>
    </figure>
  );
}

export function LatencyView() {
  const [report, setReport] = useState<Report | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [chosen, setChosen] = useState(0);

  useEffect(() => {
    api
      .json<Report>("/api/admin/voice/latency?days=14&turns=20")
      .then(setReport)
      .catch((caught: unknown) => setError(messageOf(caught)));
  }, []);

  if (error) return <p className="error" role="alert">{error}</p>;
  if (!report) return <p className="hint">Loading…</p>;
  if (report.recent.length === 0) {
    return (
      <section className="latency" aria-label="Latency">
        <p className="empty">No voice turns yet. Talk to Butler on the Voice page, then come back.</p>
      </section>
    );
  }
  const scale = Math.max(...report.days.map((day) => day.first_audio_ms.p95 ?? 0), 1);
  const turn = report.recent[Math.min(chosen, report.recent.length - 1)];
  return (
    <section className="latency" aria-label="Latency">
      <h2>End of speech → first audio, per day</h2>
      <ul className="latency-days" aria-label="Days">
        {report.days.map((day) => (
          <li key={day.day}>
            <span className="latency-day">{dayFormat.format(new Date(`${day.day}T12:00:00`))}</span>
            <span className="latency-track" aria-hidden="true">
              <span className="latency-p50" style={{ width: `${percentOf(day.first_audio_ms.p50, scale)}%` }} />
              <span className="latency-p95" style={{ left: `${percentOf(day.first_audio_ms.p95, scale)}%` }} />
            </span>
            <span className="latency-numbers">
              p50 {shownMs(day.first_audio_ms.p50)} · p95 {shownMs(day.first_audio_ms.p95)} · {day.turns}{" "}
              {day.turns === 1 ? "turn" : "turns"}
            </span>
          </li>
        ))}
      </ul>
      <div className="table-scroll">
        <table>
          <caption>Each stage per day (p50 / p95)</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              {STAGES.map((stage) => (
                <th key={stage.key} scope="col">
                  {stage.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {report.days.map((day) => (
              <tr key={day.day}>
                <th scope="row">{dayFormat.format(new Date(`${day.day}T12:00:00`))}</th>
                {STAGES.map((stage) => (
                  <td key={stage.key}>
                    {shownMs(day[stage.key].p50)} / {shownMs(day[stage.key].p95)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>One turn, stage by stage</h2>
      <label>
        Turn
        <select value={chosen} onChange={(event) => setChosen(Number(event.target.value))}>
          {report.recent.map((item, index) => (
            <option key={item.id} value={index}>
              {timeFormat.format(new Date(item.created_at))} · {item.display_name} · {shownMs(item.first_audio_ms)}
              {item.interrupted ? " · interrupted" : ""}
            </option>
          ))}
        </select>
      </label>
      {turn && <Waterfall turn={turn} />}
    </section>
  );
}
