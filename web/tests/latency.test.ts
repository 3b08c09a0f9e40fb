import { describe, expect, it } from "vitest";
import { percentOf, shownMs, waterfall } from "../src/latency/model";

describe("a turn's waterfall", () => {
  it("lays the measured stages end to end and keeps the measured total apart", () => {
    const { bars, totalMs } = waterfall({
      endpointing_ms: 300,
      stt_ms: 80,
      llm_first_token_ms: 200,
      tts_first_byte_ms: 90,
      first_audio_ms: 610,
    });
    expect(bars.map((b) => [b.startMs, b.ms])).toEqual([
      [0, 300],
      [300, 80],
      [380, 200],
      [580, 90],
    ]);
    expect(totalMs).toBe(610);
  });

  it("skips a stage that was not measured", () => {
    const { bars } = waterfall({ endpointing_ms: 300, stt_ms: null, llm_first_token_ms: 150, tts_first_byte_ms: null, first_audio_ms: null });
    expect(bars.map((b) => b.label)).toEqual(["Waiting for the end of the turn", "Model's first words"]);
    expect(bars[1]?.startMs).toBe(300);
  });
});

describe("bar widths and numbers", () => {
  it("clamp to the scale and show a dash for nothing", () => {
    expect(percentOf(250, 1000)).toBe(25);
    expect(percentOf(2000, 1000)).toBe(100);
    expect(percentOf(null, 1000)).toBe(0);
    expect(percentOf(5, 0)).toBe(0);
    expect(shownMs(632.4)).toBe("632 ms");
    expect(shownMs(null)).toBe("–");
  });
});
