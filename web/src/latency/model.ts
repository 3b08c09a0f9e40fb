/** The latency page's arithmetic (pure, unit-tested). */

export const STAGES = [
  { key: "endpointing_ms", label: "Waiting for the end of the turn" },
  { key: "stt_ms", label: "Transcribing" },
  { key: "llm_first_token_ms", label: "Model's first words" },
  { key: "tts_first_byte_ms", label: "Voice's first sound" },
] as const;

export type StageKey = (typeof STAGES)[number]["key"];
export type TurnStages = { [K in StageKey]: number | null } & { first_audio_ms: number | null };

export interface Bar {
  label: string;
  startMs: number;
  ms: number;
}

/**
 * One turn's stages laid end to end, as a waterfall. The stages can overlap (speech is
 * transcribed while the end of the turn is awaited), so the measured end of speech →
 * first audio is shown as its own bar beside them.
 */
export function waterfall(turn: TurnStages): { bars: Bar[]; totalMs: number | null } {
  const bars: Bar[] = [];
  let at = 0;
  for (const { key, label } of STAGES) {
    const ms = turn[key];
    if (ms === null) continue;
    bars.push({ label, startMs: at, ms });
    at += ms;
  }
  return { bars, totalMs: turn.first_audio_ms };
}

/** Percent of `scaleMs` for a CSS width, clamped to 0–100. */
export function percentOf(ms: number | null, scaleMs: number): number {
  if (ms === null || scaleMs <= 0) return 0;
  return Math.min(100, Math.max(0, (ms / scaleMs) * 100));
}

export function shownMs(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? "–" : `${Math.round(ms)} ms`;
}
