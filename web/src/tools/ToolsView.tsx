import { api } from "../api/client";
import type { McpServer, McpServerList, User } from "../api/types";
import { usePolled } from "../app/usePolled";
import { AddServerForm } from "./AddServerForm";
import { REFRESH_MS, sortServers } from "./model";
import { ServerList } from "./ServerList";
import { WhatsAppPanel } from "./WhatsAppPanel";

async function fetchServers(): Promise<McpServer[]> {
  return sortServers((await api.json<McpServerList>("/api/admin/mcp/servers")).servers);
}

/** The Tools page, for admins: the MCP servers Butler uses, adding and removing HTTP ones;
 * and the WhatsApp channel's state. */
export function ToolsView({ user }: { user: User }) {
  const { value: servers, error: loadError, reload } = usePolled(fetchServers, REFRESH_MS);
  return (
    <section className="tools" aria-label="Tools">
      <p className="hint">
        MCP servers give {user.soul.butler_name} more tools: a calendar, notes, anything that speaks the Model Context
        Protocol. The model is offered a server's tools while it is connected, to the people it admits.
      </p>
      <ServerList servers={servers} loadError={loadError} onChanged={reload} />
      <AddServerForm servers={servers ?? []} onAdded={reload} />
      <WhatsAppPanel user={user} />
    </section>
  );
}
