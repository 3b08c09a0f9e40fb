import { useCallback, useEffect, useState } from "react";
import { api, ApiError } from "../api/client";
import type { HomeEntity, HomeStatus, User } from "../api/types";
import { ConnectionPanel } from "./ConnectionPanel";
import { DevicesPanel } from "./DevicesPanel";
import { type Devices, messageOf } from "./model";
import { PermissionsPanel } from "./PermissionsPanel";

const STATUS_EVERY_MS = 5000;

/** The Home Assistant page, for admins: the link, what Butler may use, who may do what. */
export function HomeView({ user }: { user: User }) {
  const [status, setStatus] = useState<HomeStatus | null>(null);
  const [statusError, setStatusError] = useState<string | null>(null);
  const [devices, setDevices] = useState<Devices>({ phase: "loading" });

  const refreshStatus = useCallback(async () => {
    try {
      setStatus(await api.json<HomeStatus>("/api/home/status"));
      setStatusError(null);
    } catch (error) {
      setStatusError(messageOf(error));
    }
  }, []);

  useEffect(() => {
    void refreshStatus();
    const timer = window.setInterval(() => void refreshStatus(), STATUS_EVERY_MS);
    return () => window.clearInterval(timer);
  }, [refreshStatus]);

  const loadDevices = useCallback(async () => {
    try {
      setDevices({ phase: "ready", entities: await api.json<HomeEntity[]>("/api/admin/home/entities") });
    } catch (error) {
      if (error instanceof ApiError && error.code === "home_not_configured") setDevices({ phase: "not_configured" });
      else setDevices({ phase: "failed", message: messageOf(error) });
    }
  }, []);

  // The devices again whenever the link changes: a new connection, a reconnection, a
  // registry that grew.
  const configured = status?.configured ?? null;
  const link = status ? `${status.configured}/${status.state}/${status.entities ?? ""}` : null;
  useEffect(() => {
    if (configured === false) setDevices({ phase: "not_configured" });
    else if (configured) void loadDevices();
  }, [configured, link, loadDevices]);

  const updateEntities = useCallback((change: (entities: HomeEntity[]) => HomeEntity[]) => {
    setDevices((current) => (current.phase === "ready" ? { ...current, entities: change(current.entities) } : current));
  }, []);

  return (
    <section className="home" aria-label="Home">
      <p className="hint">
        Connect {user.soul.butler_name} to Home Assistant, choose the devices it may use, and what each person may
        control.
      </p>
      <ConnectionPanel status={status} statusError={statusError} onChanged={refreshStatus} />
      <DevicesPanel devices={devices} onUpdate={updateEntities} />
      <PermissionsPanel entities={devices.phase === "ready" ? devices.entities : null} />
    </section>
  );
}
