import { describe, expect, it } from "vitest";
import type { HomeEntity } from "../src/api/types";
import {
  areaGroups,
  areaOptions,
  availability,
  bodyOf,
  canUnlock,
  domainLabel,
  domainOptions,
  draftOf,
  joinList,
  matchesFilter,
  optionsWithSaved,
  permissionSummary,
  replaceEntity,
  sameDraft,
  setEverything,
  statusSentence,
  toggle,
} from "../src/home/model";

function entity(entity_id: string, name: string, area: [string, string] | null, exposed = true): HomeEntity {
  return {
    entity_id,
    name,
    domain: entity_id.split(".")[0] ?? "",
    area_id: area?.[0] ?? null,
    area: area?.[1] ?? null,
    state: "off",
    exposed,
    needs_confirmation: entity_id.startsWith("lock."),
    chosen: false,
  };
}

const KITCHEN: [string, string] = ["kitchen", "Kitchen"];
const HALL: [string, string] = ["hall", "Hall"];
const BEDROOM: [string, string] = ["bedroom", "bedroom"]; // lower case: sorting ignores case

const HOUSE = [
  entity("switch.coffee", "Coffee Machine", KITCHEN),
  entity("sensor.outside", "Outside Temperature", null),
  entity("light.kitchen", "Kitchen Ceiling", KITCHEN),
  entity("camera.porch", "Porch Camera", HALL, false),
  entity("lock.front", "Front Door", HALL),
  entity("light.bed", "Bed Lamp", BEDROOM),
  entity("script.night", "Good Night", null, false),
];

describe("areaGroups", () => {
  it("groups by area, areas by name whatever their case, No area last, devices by name", () => {
    const groups = areaGroups(HOUSE);
    expect(groups.map((g) => g.name)).toEqual(["bedroom", "Hall", "Kitchen", "No area"]);
    expect(groups[2]?.shown.map((e) => e.name)).toEqual(["Coffee Machine", "Kitchen Ceiling"]);
    expect(groups[3]?.id).toBeNull();
    expect(groups[3]?.shown.map((e) => e.entity_id)).toEqual(["script.night", "sensor.outside"]);
  });

  it("counts what Butler may use in each area", () => {
    const hall = areaGroups(HOUSE).find((g) => g.id === "hall");
    expect(hall && availability(hall)).toBe("1 of 2 available to Butler");
  });

  it("keys areas by id: two areas with one name stay apart", () => {
    const groups = areaGroups([entity("light.a", "A", ["up", "Office"]), entity("light.b", "B", ["down", "Office"])]);
    expect(groups).toHaveLength(2);
  });

  it("filters by name, entity id or area, every word, and keeps the whole area's counts", () => {
    const hall = areaGroups(HOUSE, "hall");
    expect(hall.map((g) => g.name)).toEqual(["Hall"]);
    expect(hall[0]?.shown).toHaveLength(2);

    const porch = areaGroups(HOUSE, "  PORCH ");
    expect(porch.map((g) => g.shown.map((e) => e.entity_id))).toEqual([["camera.porch"]]);
    expect(porch[0]?.total).toBe(2);
    expect(porch[0]?.available).toBe(1);

    expect(areaGroups(HOUSE, "light.").flatMap((g) => g.shown.map((e) => e.name))).toEqual([
      "Bed Lamp",
      "Kitchen Ceiling",
    ]);
    expect(areaGroups(HOUSE, "kitchen coffee").flatMap((g) => g.shown.map((e) => e.name))).toEqual([
      "Coffee Machine",
    ]);
    expect(areaGroups(HOUSE, "no area").map((g) => g.name)).toEqual(["No area"]);
    expect(areaGroups(HOUSE, "garage")).toEqual([]);
  });
});

describe("matchesFilter and replaceEntity", () => {
  it("matches everything with an empty filter", () => {
    expect(HOUSE.every((e) => matchesFilter(e, "   "))).toBe(true);
  });

  it("replaces one device and leaves the list it came from alone", () => {
    const hidden = { ...HOUSE[0]!, exposed: false, chosen: true };
    const next = replaceEntity(HOUSE, hidden);
    expect(next[0]).toBe(hidden);
    expect(next.slice(1)).toEqual(HOUSE.slice(1));
    expect(HOUSE[0]?.exposed).toBe(true);
  });
});

describe("statusSentence", () => {
  const base = { configured: true, source: "app" as const, url: "http://ha.local:8123", version: "2026.11.3", error: null, entities: 212 };

  it("names the version, the address and the number of devices when connected", () => {
    expect(statusSentence({ ...base, state: "connected" }, true)).toEqual({
      tone: "ok",
      text: "Connected to Home Assistant 2026.11.3 at http://ha.local:8123 — 212 devices.",
    });
    expect(statusSentence({ ...base, state: "connected", entities: 1 }, true).text).toContain("— 1 device.");
  });

  it("gives the reason it cannot reach Home Assistant, and that it keeps trying", () => {
    const sentence = statusSentence({ ...base, state: "retrying", error: "Connection refused." }, true);
    expect(sentence).toEqual({
      tone: "problem",
      text: "Can't reach Home Assistant at http://ha.local:8123: Connection refused. Retrying.",
    });
  });

  it("asks for the token again when the saved one cannot be read", () => {
    const error = "It was sealed with another BUTLER_AUTH__ENCRYPTION_KEY.";
    const sentence = statusSentence({ ...base, configured: false, state: "unreadable", error }, true);
    expect(sentence.tone).toBe("problem");
    expect(sentence.text).toBe(
      "Butler can't read the saved token (It was sealed with another BUTLER_AUTH__ENCRYPTION_KEY): enter it again.",
    );
  });

  it("says where a refused token must be replaced", () => {
    expect(statusSentence({ ...base, state: "refused" }, true).text).toBe(
      "Home Assistant refused the token: enter a new one.",
    );
    expect(statusSentence({ ...base, state: "refused" }, false).text).toContain("server's configuration");
  });

  it("says when nothing is set up, and survives a state it does not know", () => {
    expect(statusSentence({ configured: false, source: "none", state: "not_configured" }, true).tone).toBe("off");
    expect(statusSentence({ ...base, state: "dreaming" }, true).text).toBe("Home Assistant: dreaming.");
  });
});

describe("permissions", () => {
  const areas = areaOptions(HOUSE);
  const domains = domainOptions(HOUSE);

  it("offers the house's areas by name and its kinds of device", () => {
    expect(areas).toEqual([
      { id: "bedroom", label: "bedroom" },
      { id: "hall", label: "Hall" },
      { id: "kitchen", label: "Kitchen" },
    ]);
    expect(domains.map((d) => d.id).sort()).toEqual(["camera", "light", "lock", "script", "sensor", "switch"]);
    expect(domainLabel("media_player")).toBe("TVs and speakers");
    expect(domainLabel("remote_control")).toBe("Remote control");
  });

  it("sends null for everything and sorted ids for a choice", () => {
    const draft = draftOf({ areas: null, domains: ["switch", "light"] });
    expect(draft.areas.everything).toBe(true);
    expect(bodyOf(draft)).toEqual({ areas: null, domains: ["light", "switch"] });
    expect(bodyOf(draftOf({ areas: [], domains: null }))).toEqual({ areas: [], domains: null });
  });

  it("starts a new choice from every option, so leaving out locks is one click", () => {
    const everything = draftOf({ areas: null, domains: null });
    const restricted = setEverything(everything.domains, false, domains);
    expect([...restricted.chosen].sort()).toEqual(domains.map((d) => d.id).sort());
    const noLocks = { ...everything, domains: toggle(restricted, "lock", false) };
    expect(canUnlock(everything)).toBe(true);
    expect(canUnlock(noLocks)).toBe(false);
    expect(bodyOf(noLocks).domains).toEqual(["camera", "light", "script", "sensor", "switch"]);
  });

  it("keeps an earlier choice when Everything is turned on and off again", () => {
    const chosen = draftOf({ areas: ["hall"], domains: null }).areas;
    const back = setEverything(setEverything(chosen, true, areas), false, areas);
    expect([...back.chosen]).toEqual(["hall"]);
    expect(bodyOf({ areas: setEverything(chosen, true, areas), domains: chosen }).areas).toBeNull();
  });

  it("shows saved ids the house no longer has, so that they can be taken out", () => {
    const choice = draftOf({ areas: ["attic", "hall"], domains: null }).areas;
    const shown = optionsWithSaved(areas, choice);
    expect(shown.map((o) => o.id)).toEqual(["bedroom", "hall", "kitchen", "attic"]);
    expect(shown[3]?.label).toContain("not in Home Assistant now");
  });

  it("compares drafts by what would be saved", () => {
    const a = draftOf({ areas: ["hall", "kitchen"], domains: null });
    const b = draftOf({ areas: ["kitchen", "hall"], domains: null });
    expect(sameDraft(a, b)).toBe(true);
    expect(sameDraft(a, { ...a, areas: toggle(a.areas, "hall", false) })).toBe(false);
  });

  it("says plainly whether the person can unlock doors", () => {
    expect(permissionSummary(draftOf({ areas: null, domains: null }), areas, domains)).toBe(
      "Everything Butler may use, in every area. Can unlock doors.",
    );
    const some = draftOf({ areas: ["kitchen", "hall"], domains: ["light", "switch"] });
    expect(permissionSummary(some, areas, domains)).toBe(
      "Lights and Switches, in Hall and Kitchen. Cannot lock or unlock doors.",
    );
    expect(permissionSummary(draftOf({ areas: [], domains: [] }), areas, domains)).toBe(
      "Nothing, in no area. Cannot lock or unlock doors.",
    );
    // A house with no locks: nothing to say about doors.
    const noLocks = domainOptions(HOUSE.filter((e) => e.domain !== "lock"));
    expect(permissionSummary(draftOf({ areas: null, domains: ["light"] }), areas, noLocks)).toBe(
      "Lights, in every area.",
    );
  });

  it("joins lists as a sentence does", () => {
    expect(joinList([])).toBe("");
    expect(joinList(["a"])).toBe("a");
    expect(joinList(["a", "b", "c"])).toBe("a, b and c");
  });
});
