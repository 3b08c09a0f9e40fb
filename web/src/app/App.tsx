import { type CSSProperties, lazy, Suspense, useCallback, useEffect, useState } from "react";
import { api, NetworkError } from "../api/client";
import type { User } from "../api/types";
import { AuthView } from "../auth/AuthView";
import { ChatView } from "../chat/ChatView";
import { UnfinishedTurns } from "../chat/unfinished";
import { HomeView } from "../home/HomeView";
import { HouseholdView } from "../household/HouseholdView";
import { LatencyView } from "../latency/LatencyView";
import { MemoryView } from "../memory/MemoryView";
import { forgetThisBrowser, syncSubscription } from "../notifications/push";
import { RemindersView } from "../reminders/RemindersView";
import { SettingsView } from "../settings/SettingsView";
import { ToolsView } from "../tools/ToolsView";
import { type Screen, useHashRoute } from "./useHashRoute";
import { useOnline } from "./useOnline";

// LiveKit is most of the bundle: load it when the voice screen first opens.
const VoiceView = lazy(() => import("../voice/VoiceView"));

const NAV: { screen: Screen; label: string; adminOnly?: boolean }[] = [
  { screen: "chat", label: "Chat" },
  { screen: "voice", label: "Voice" },
  { screen: "reminders", label: "Reminders" },
  { screen: "memory", label: "Memory" },
  { screen: "home", label: "Home", adminOnly: true },
  { screen: "tools", label: "Tools", adminOnly: true },
  { screen: "household", label: "Household", adminOnly: true },
  { screen: "latency", label: "Latency", adminOnly: true },
  { screen: "settings", label: "Settings" },
];

const isAdmin = (user: User) => user.role === "admin";

const RETRY_UNREACHABLE_MS = 5000;
const NAME_KEY = "butler.name";
const butlerName = () => globalThis.localStorage?.getItem(NAME_KEY) || "Butler";
const rememberName = (name: string) => globalThis.localStorage?.setItem(NAME_KEY, name);

type Boot = { phase: "loading" } | { phase: "ready"; user: User | null } | { phase: "failed"; message: string };

export function App() {
  const [boot, setBoot] = useState<Boot>({ phase: "loading" });
  const screen = useHashRoute();
  const online = useOnline();

  const restore = useCallback(() => {
    setBoot({ phase: "loading" });
    api
      .restore()
      .then((user) => setBoot({ phase: "ready", user }))
      .catch((error: unknown) =>
        setBoot({
          phase: "failed",
          message: error instanceof NetworkError ? error.message : String(error),
        }),
      );
  }, []);

  useEffect(() => {
    api.onSignedOut = () => setBoot({ phase: "ready", user: null });
    restore();
  }, [restore]);

  // Opened while offline (or the server was down): try again by itself when the
  // connection comes back, and every few seconds meanwhile, as the banner promises.
  const unreachable = boot.phase === "failed";
  useEffect(() => {
    if (!unreachable) return;
    window.addEventListener("online", restore);
    const timer = window.setInterval(() => {
      if (navigator.onLine) restore();
    }, RETRY_UNREACHABLE_MS);
    return () => {
      window.removeEventListener("online", restore);
      window.clearInterval(timer);
    };
  }, [unreachable, restore]);

  // The butler's name, remembered for the offline banner before anyone is signed in.
  const signedInName = boot.phase === "ready" ? boot.user?.soul.butler_name : undefined;
  useEffect(() => {
    if (signedInName) rememberName(signedInName);
  }, [signedInName]);

  // Notifications allowed before: the server gets this browser's subscription again.
  // Failing here is quiet: the Reminders page is where the person turns them on.
  const userId = boot.phase === "ready" ? (boot.user?.id ?? null) : null;
  useEffect(() => {
    if (userId) syncSubscription(userId).catch((error: unknown) => console.warn("Push subscription not sent:", error));
  }, [userId]);

  const signOut = async () => {
    // Before the session ends: removing the subscription needs it.
    await forgetThisBrowser().catch((error: unknown) => console.warn("Push subscription not removed:", error));
    await api.logout().catch(() => {});
    // A shared tablet: the next person must not find this one's unanswered questions.
    if (userId) new UnfinishedTurns(globalThis.localStorage, userId).clear();
    // The next person to sign in starts on Chat, not on the page this one left.
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
    setBoot({ phase: "ready", user: null });
  };

  const banner = online ? null : (
    <div className="offline-banner" role="status">
      You are offline. {butlerName()} will answer again when the connection is back.
    </div>
  );

  if (boot.phase === "loading") {
    return (
      <main className="centered" aria-busy="true">
        {banner}
        <p>Opening Butler…</p>
      </main>
    );
  }
  if (boot.phase === "failed") {
    return (
      <main className="centered">
        {banner}
        <p role="alert">{boot.message}</p>
        <button type="button" onClick={restore}>
          Try again
        </button>
      </main>
    );
  }
  if (boot.user === null) {
    return (
      <>
        {banner}
        <AuthView onSignedIn={(user) => setBoot({ phase: "ready", user })} />
      </>
    );
  }

  const user = boot.user;
  const tabs = NAV.filter((item) => !item.adminOnly || isAdmin(user));
  // On a phone the tabs are rows of equal width (styles.css): two rows, or three once
  // there are more tabs than fit two rows at a readable size (an admin's nine).
  const rows = tabs.length > 7 ? 3 : 2;
  const perRow = { "--tabs-per-row": Math.ceil(tabs.length / rows) } as CSSProperties;
  return (
    <div className="shell">
      {banner}
      <header className="topbar">
        <h1 className="brand">{user.soul.butler_name}</h1>
        <nav aria-label="Main" style={perRow}>
          {tabs.map(({ screen: target, label }) => (
            <a key={target} href={`#/${target}`} aria-current={screen === target ? "page" : undefined}>
              {label}
            </a>
          ))}
        </nav>
      </header>
      <main className="screen" id="main">
        {screen === "chat" && <ChatView user={user} />}
        {screen === "voice" && (
          <Suspense fallback={<p className="centered">Loading voice…</p>}>
            <VoiceView user={user} />
          </Suspense>
        )}
        {screen === "reminders" && <RemindersView user={user} />}
        {screen === "memory" && <MemoryView user={user} />}
        {screen === "home" &&
          (isAdmin(user) ? (
            <HomeView user={user} />
          ) : (
            <p className="centered">Only an admin of this household can set up Home Assistant.</p>
          ))}
        {screen === "tools" &&
          (isAdmin(user) ? (
            <ToolsView user={user} />
          ) : (
            <p className="centered">Only an admin of this household can choose Butler's tools.</p>
          ))}
        {screen === "household" &&
          (isAdmin(user) ? (
            <HouseholdView user={user} />
          ) : (
            <p className="centered">Only an admin of this household can invite and manage people.</p>
          ))}
        {screen === "latency" &&
          (isAdmin(user) ? (
            <LatencyView />
          ) : (
            <p className="centered">Only an admin of this household can see how fast Butler answers.</p>
          ))}
        {screen === "settings" && (
          <SettingsView
            user={user}
            onSaved={(saved) => setBoot({ phase: "ready", user: saved })}
            onSignOut={signOut}
          />
        )}
      </main>
    </div>
  );
}
