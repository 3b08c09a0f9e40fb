/**
 * The Home page's logic, kept apart from React so that it can be tested: the link's state
 * as a sentence, devices grouped by area and filtered, and a person's permissions while an
 * admin edits them.
 */
import type { HomeEntity, HomePermissions, HomePermissionsBody, HomeStatus } from "../api/types";
import { countOf, joinList } from "../app/words";

// The pages of Home import these from here with the rest of its model.
export { countOf, joinList, messageOf } from "../app/words";

export type Tone = "ok" | "waiting" | "problem" | "off";

/**
 * The link to Home Assistant in one sentence. `editable`: whether a new token can be
 * entered on this page (not when the server's configuration sets it).
 */
export function statusSentence(status: HomeStatus, editable: boolean): { tone: Tone; text: string } {
  const at = status.url ? ` at ${status.url}` : "";
  switch (status.state) {
    case "not_configured":
      return { tone: "off", text: "Home Assistant is not connected." };
    case "connecting":
      return { tone: "waiting", text: `Connecting to Home Assistant${at}…` };
    case "connected": {
      const version = status.version ? ` ${status.version}` : "";
      const devices =
        typeof status.entities === "number" ? ` — ${countOf(status.entities, "device", "devices")}` : "";
      return { tone: "ok", text: `Connected to Home Assistant${version}${at}${devices}.` };
    }
    case "retrying": {
      const why = status.error ? `: ${status.error.replace(/\.$/, "")}` : "";
      return { tone: "problem", text: `Can't reach Home Assistant${at}${why}. Retrying.` };
    }
    case "unreadable": {
      const why = status.error ? ` (${status.error.replace(/\.$/, "")})` : "";
      return { tone: "problem", text: `Butler can't read the saved token${why}: enter it again.` };
    }
    case "refused":
      return {
        tone: "problem",
        text: editable
          ? "Home Assistant refused the token: enter a new one."
          : "Home Assistant refused the token: set a new one in the server's configuration.",
      };
    case "stopped":
      return { tone: "off", text: "The link to Home Assistant is stopped." };
    default:
      return { tone: "waiting", text: `Home Assistant: ${status.state}.` };
  }
}

// -- Devices ---------------------------------------------------------------------------

/** The devices as the page has them. */
export type Devices =
  | { phase: "loading" }
  | { phase: "not_configured" }
  | { phase: "ready"; entities: HomeEntity[] }
  | { phase: "failed"; message: string };

export type AreaGroup = {
  /** The area's id; null for devices in no area. */
  id: string | null;
  name: string;
  /** Every device of the area, and how many of them Butler may use. */
  total: number;
  available: number;
  /** The devices of the area that match the filter, by name. */
  shown: HomeEntity[];
};

export const NO_AREA = "No area";

/** Whether every word of `query` is in the device's name, entity id or area. */
export function matchesFilter(entity: HomeEntity, query: string): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const haystack = [entity.name, entity.entity_id, entity.area ?? NO_AREA].join(" ").toLowerCase();
  return words.every((word) => haystack.includes(word));
}

/**
 * Devices by area, areas by name with "No area" last; areas with no match for `query`
 * are left out. The counts are always of the whole area, whatever the filter.
 */
export function areaGroups(entities: readonly HomeEntity[], query = ""): AreaGroup[] {
  const groups = new Map<string, AreaGroup>();
  for (const entity of entities) {
    const key = entity.area_id ?? "";
    let group = groups.get(key);
    if (!group) {
      group = { id: entity.area_id, name: entity.area ?? NO_AREA, total: 0, available: 0, shown: [] };
      groups.set(key, group);
    }
    group.total += 1;
    if (entity.exposed) group.available += 1;
    if (matchesFilter(entity, query)) group.shown.push(entity);
  }
  const byName = (a: { name: string }, b: { name: string }) =>
    a.name.localeCompare(b.name, undefined, { sensitivity: "base" });
  return [...groups.values()]
    .filter((group) => group.shown.length > 0)
    .map((group) => ({ ...group, shown: [...group.shown].sort(byName) }))
    .sort((a, b) => (a.id === null) !== (b.id === null) ? (a.id === null ? 1 : -1) : byName(a, b));
}

export function availability(group: Pick<AreaGroup, "total" | "available">): string {
  return `${group.available} of ${group.total} available to Butler`;
}

/** The list with one device replaced by the server's answer. */
export function replaceEntity(entities: readonly HomeEntity[], updated: HomeEntity): HomeEntity[] {
  return entities.map((e) => (e.entity_id === updated.entity_id ? updated : e));
}

// -- Permissions -----------------------------------------------------------------------

export type Option = { id: string; label: string };

/** The areas of the house (by id, named), from the devices. */
export function areaOptions(entities: readonly HomeEntity[]): Option[] {
  const found = new Map<string, string>();
  for (const e of entities) if (e.area_id) found.set(e.area_id, e.area ?? e.area_id);
  return [...found].map(([id, label]) => ({ id, label })).sort((a, b) => a.label.localeCompare(b.label));
}

const DOMAINS: Record<string, string> = {
  light: "Lights",
  switch: "Switches",
  fan: "Fans",
  climate: "Heating and cooling",
  water_heater: "Water heaters",
  humidifier: "Humidifiers",
  lock: "Locks",
  cover: "Blinds, garage doors and gates",
  media_player: "TVs and speakers",
  scene: "Scenes",
  script: "Scripts",
  automation: "Automations",
  sensor: "Sensors",
  binary_sensor: "Open/closed and motion sensors",
  alarm_control_panel: "Alarm panels",
  camera: "Cameras",
  vacuum: "Vacuum cleaners",
  valve: "Valves",
  button: "Buttons",
  input_boolean: "Toggle helpers",
};

export function domainLabel(domain: string): string {
  const known = DOMAINS[domain];
  if (known) return known;
  const words = domain.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The kinds of device in the house (Home Assistant's domains), by label. */
export function domainOptions(entities: readonly HomeEntity[]): Option[] {
  return [...new Set(entities.map((e) => e.domain))]
    .map((id) => ({ id, label: domainLabel(id) }))
    .sort((a, b) => a.label.localeCompare(b.label));
}

/** One dimension of a person's permissions: everything, or only the chosen ids. */
export type Choice = { everything: boolean; chosen: ReadonlySet<string> };
export type Draft = { areas: Choice; domains: Choice };

function choiceOf(ids: readonly string[] | null | undefined): Choice {
  return ids == null ? { everything: true, chosen: new Set() } : { everything: false, chosen: new Set(ids) };
}

export function draftOf(saved: HomePermissions): Draft {
  return { areas: choiceOf(saved.areas), domains: choiceOf(saved.domains) };
}

/**
 * "Everything" on or off. Turning it off with nothing chosen yet starts from every
 * option, so that leaving one out is a single click.
 */
export function setEverything(choice: Choice, everything: boolean, options: readonly Option[]): Choice {
  if (everything) return { ...choice, everything: true };
  const chosen = choice.chosen.size > 0 ? choice.chosen : new Set(options.map((o) => o.id));
  return { everything: false, chosen };
}

export function toggle(choice: Choice, id: string, on: boolean): Choice {
  const chosen = new Set(choice.chosen);
  if (on) chosen.add(id);
  else chosen.delete(id);
  return { ...choice, chosen };
}

/** The options to show: the house's, and any saved id the house no longer has. */
export function optionsWithSaved(options: readonly Option[], choice: Choice): Option[] {
  const known = new Set(options.map((o) => o.id));
  const gone = [...choice.chosen].filter((id) => !known.has(id)).sort();
  return [...options, ...gone.map((id) => ({ id, label: `${id} (not in Home Assistant now)` }))];
}

export function bodyOf(draft: Draft): HomePermissionsBody {
  const ids = (choice: Choice) => (choice.everything ? null : [...choice.chosen].sort());
  return { areas: ids(draft.areas), domains: ids(draft.domains) };
}

export function sameDraft(a: Draft, b: Draft): boolean {
  return JSON.stringify(bodyOf(a)) === JSON.stringify(bodyOf(b));
}

export function canUnlock(draft: Draft): boolean {
  return draft.domains.everything || draft.domains.chosen.has("lock");
}

/** What the person may do, in words; the doors said plainly when the house has locks. */
export function permissionSummary(draft: Draft, areas: readonly Option[], domains: readonly Option[]): string {
  const named = (choice: Choice, options: readonly Option[]) => {
    const labels = new Map(options.map((o) => [o.id, o.label]));
    return [...choice.chosen].map((id) => labels.get(id) ?? id).sort();
  };
  const what = draft.domains.everything
    ? "Everything Butler may use"
    : draft.domains.chosen.size === 0
      ? "Nothing"
      : joinList(named(draft.domains, domains));
  const where = draft.areas.everything
    ? "in every area"
    : draft.areas.chosen.size === 0
      ? "in no area"
      : `in ${joinList(named(draft.areas, areas))}`;
  const summary = `${what}, ${where}.`;
  if (!domains.some((o) => o.id === "lock") && !draft.domains.chosen.has("lock")) return summary;
  return `${summary} ${canUnlock(draft) ? "Can unlock doors." : "Cannot lock or unlock doors."}`;
}
