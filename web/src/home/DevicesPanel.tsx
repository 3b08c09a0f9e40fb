import { useMemo, useState } from "react";
import { api } from "../api/client";
import type { HomeEntity, HomeEntityChoice } from "../api/types";
import { type AreaGroup, availability, countOf, type Devices, areaGroups, messageOf, replaceEntity } from "./model";

type Update = (change: (entities: HomeEntity[]) => HomeEntity[]) => void;

const switchId = (entity: HomeEntity) => `home-use-${entity.entity_id}`;
const entityPath = (entityId: string) => `/api/admin/home/entities/${encodeURIComponent(entityId)}`;

/** Every device Home Assistant has, by area, with whether Butler may use it. */
export function DevicesPanel({ devices, onUpdate }: { devices: Devices; onUpdate: Update }) {
  const [query, setQuery] = useState("");
  const [pending, setPending] = useState<ReadonlySet<string>>(new Set());
  const [problem, setProblem] = useState<string | null>(null);
  const entities = devices.phase === "ready" ? devices.entities : [];
  const groups = useMemo(() => areaGroups(entities, query), [entities, query]);

  const busy = (entityId: string, on: boolean) =>
    setPending((current) => {
      const next = new Set(current);
      if (on) next.add(entityId);
      else next.delete(entityId);
      return next;
    });

  // Controls stay enabled while a change is on its way (disabling one would drop the
  // keyboard's focus); a second change to the same device waits for the first.
  const choose = async (entity: HomeEntity, change: Partial<HomeEntityChoice>) => {
    if (pending.has(entity.entity_id)) return;
    const choice: HomeEntityChoice = {
      exposed: change.exposed ?? entity.exposed,
      needs_confirmation: change.needs_confirmation ?? entity.needs_confirmation,
    };
    setProblem(null);
    onUpdate((all) => replaceEntity(all, { ...entity, ...choice }));
    busy(entity.entity_id, true);
    try {
      const saved = await api.json<HomeEntity>(entityPath(entity.entity_id), {
        method: "PUT",
        body: JSON.stringify(choice),
      });
      onUpdate((all) => replaceEntity(all, saved));
    } catch (error) {
      onUpdate((all) => replaceEntity(all, entity));
      setProblem(`Couldn't change ${entity.name}: ${messageOf(error)}`);
    } finally {
      busy(entity.entity_id, false);
    }
  };

  const backToDefault = async (entity: HomeEntity) => {
    if (pending.has(entity.entity_id)) return;
    setProblem(null);
    // The button goes away: the keyboard's focus goes to the device's switch.
    document.getElementById(switchId(entity))?.focus();
    busy(entity.entity_id, true);
    try {
      await api.json<void>(entityPath(entity.entity_id), { method: "DELETE" });
      const all = await api.json<HomeEntity[]>("/api/admin/home/entities");
      const fresh = all.find((e) => e.entity_id === entity.entity_id);
      if (fresh) onUpdate((current) => replaceEntity(current, fresh));
    } catch (error) {
      setProblem(`Couldn't reset ${entity.name}: ${messageOf(error)}`);
    } finally {
      busy(entity.entity_id, false);
    }
  };

  const shown = groups.reduce((n, group) => n + group.shown.length, 0);
  const available = entities.filter((e) => e.exposed).length;

  return (
    <section className="panel" aria-labelledby="home-devices">
      <h2 id="home-devices">Devices</h2>
      {devices.phase === "loading" && <p className="hint">Loading the devices…</p>}
      {devices.phase === "not_configured" && <p className="empty">Connect Home Assistant first.</p>}
      {devices.phase === "failed" && (
        <p className="error" role="alert">
          {devices.message}
        </p>
      )}
      {devices.phase === "ready" && entities.length === 0 && (
        <p className="empty">Home Assistant has not listed any devices yet.</p>
      )}
      {entities.length > 0 && (
        <>
          <p className="hint">
            Butler may use {available} of {countOf(entities.length, "device", "devices")}. Locks, alarm panels and
            garage doors ask the person first.
          </p>
          <div className="filter" role="search">
            <label>
              Filter devices
              <input
                type="search"
                placeholder="Name, entity id or area"
                value={query}
                onChange={(e) => setQuery(e.target.value)}
                aria-describedby="home-devices-shown"
              />
            </label>
            <p id="home-devices-shown" className="hint">
              {query.trim() ? `${shown} of ${countOf(entities.length, "device", "devices")} match.` : ""}
            </p>
          </div>
          {problem && (
            <p className="error" role="alert">
              {problem}
            </p>
          )}
          {groups.length === 0 && <p className="empty">No device matches “{query.trim()}”.</p>}
          {groups.map((group) => (
            <Area key={group.id ?? ""} group={group} pending={pending} onChoose={choose} onDefault={backToDefault} />
          ))}
        </>
      )}
    </section>
  );
}

function Area({
  group,
  pending,
  onChoose,
  onDefault,
}: {
  group: AreaGroup;
  pending: ReadonlySet<string>;
  onChoose: (entity: HomeEntity, change: Partial<HomeEntityChoice>) => Promise<void>;
  onDefault: (entity: HomeEntity) => Promise<void>;
}) {
  const headingId = group.id === null ? "home-no-area" : `home-area-${group.id}`;
  return (
    <section className="area" aria-labelledby={headingId}>
      <div className="area-head">
        <h3 id={headingId}>{group.name}</h3>
        <span className="hint">{availability(group)}</span>
      </div>
      <ul className="devices">
        {group.shown.map((entity) => {
          const waiting = pending.has(entity.entity_id);
          return (
            <li key={entity.entity_id} className="device" aria-busy={waiting || undefined}>
              <span className="device-name">
                {entity.name}
                <small>{entity.entity_id}</small>
              </span>
              <span className="device-state">
                <span className="visually-hidden">State: </span>
                {entity.state ?? "unknown"}
              </span>
              <span className="device-choices">
                <label className="switch">
                  <input
                    type="checkbox"
                    role="switch"
                    id={switchId(entity)}
                    checked={entity.exposed}
                    onChange={(e) => void onChoose(entity, { exposed: e.target.checked })}
                  />
                  <span>
                    Butler may use<span className="visually-hidden"> {entity.name}</span>
                  </span>
                </label>
                <label className="ask">
                  <input
                    type="checkbox"
                    checked={entity.needs_confirmation}
                    onChange={(e) => void onChoose(entity, { needs_confirmation: e.target.checked })}
                  />
                  <span>
                    Ask first<span className="visually-hidden"> before using {entity.name}</span>
                  </span>
                </label>
                {entity.chosen && (
                  <button type="button" className="quiet small" onClick={() => void onDefault(entity)}>
                    Default<span className="visually-hidden"> settings for {entity.name}</span>
                  </button>
                )}
              </span>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
