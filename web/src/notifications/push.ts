/**
 * Web Push for this browser: whether it can have it, turning it on (only ever from the
 * person's own click: browsers hold an unasked prompt against a site), and keeping
 * Butler's server in step with the browser's subscription.
 */
import { api, ApiError } from "../api/client";
import type { PushPublicKey, PushSubscriptionBody } from "../api/types";

const SUBSCRIPTIONS = "/api/push/subscriptions";
// `serviceWorker.ready` never settles when no service worker was registered (`npm run dev`).
const READY_TIMEOUT_MS = 10_000;

/** base64url (RFC 4648 §5, padded or not) as bytes: the VAPID key as PushManager takes it. */
export function base64UrlToBytes(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text.trim().replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  // One character left over is never whole bytes: atob would throw a vaguer error.
  if (!/^[A-Za-z0-9+/]*$/.test(base64) || base64.length % 4 === 1) throw new Error("not base64url");
  const padded = base64.padEnd(Math.ceil(base64.length / 4) * 4, "=");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

/**
 * Whether this browser can get push messages from here: it needs a service worker and
 * PushManager, which browsers offer only in a secure context (HTTPS or localhost, so not
 * plain http on a LAN address).
 */
export function pushSupported(): boolean {
  return (
    typeof window !== "undefined" &&
    window.isSecureContext &&
    "serviceWorker" in navigator &&
    "PushManager" in window &&
    "Notification" in window
  );
}

async function readyRegistration(): Promise<ServiceWorkerRegistration> {
  let timer: number | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = window.setTimeout(
      () => reject(new Error("the app's service worker is not running; reload the page and try again")),
      READY_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([navigator.serviceWorker.ready, timeout]);
  } finally {
    window.clearTimeout(timer);
  }
}

function madeFor(subscription: PushSubscription, key: Uint8Array): boolean {
  const current = subscription.options.applicationServerKey;
  if (!current) return false;
  const bytes = new Uint8Array(current);
  return bytes.length === key.length && bytes.every((b, i) => b === key[i]);
}

/** Subscribe this browser (notifications are allowed) and give the server its subscription. */
async function subscribeThisBrowser(): Promise<void> {
  const registration = await readyRegistration();
  const { public_key } = await api.json<PushPublicKey>("/api/push/public-key");
  const key = base64UrlToBytes(public_key);
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !madeFor(subscription, key)) {
    // Made for another server key: its push service would refuse what Butler sends.
    await subscription.unsubscribe();
    subscription = null;
  }
  subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  const body = subscription.toJSON() as PushSubscriptionBody;
  await api.json<unknown>(SUBSCRIPTIONS, { method: "POST", body: JSON.stringify(body) });
}

/**
 * Ask for permission and subscribe; call it only from the person's click. Resolves to
 * the permission the person gave; throws when subscribing failed.
 */
export async function enableNotifications(): Promise<NotificationPermission> {
  const permission = await Notification.requestPermission();
  if (permission === "granted") await subscribeThisBrowser();
  return permission;
}

let syncedFor: string | null = null;

/**
 * Once per load and person: when notifications are allowed already, make sure the server
 * has this browser's subscription (it answers 200 for one it has). The push service may
 * have renewed it, and after a sign-out it was removed.
 */
export async function syncSubscription(userId: string): Promise<void> {
  if (syncedFor === userId || !pushSupported() || Notification.permission !== "granted") return;
  syncedFor = userId;
  try {
    await subscribeThisBrowser();
  } catch (error) {
    syncedFor = null; // tried again at the next sign-in
    throw error;
  }
}

/**
 * On sign-out, while still signed in: the server forgets this browser and the browser
 * drops its subscription, so that the next person here gets none of these notifications.
 */
export async function forgetThisBrowser(): Promise<void> {
  syncedFor = null;
  if (!pushSupported()) return;
  const registration = await navigator.serviceWorker.getRegistration();
  const subscription = await registration?.pushManager.getSubscription();
  if (!subscription) return;
  try {
    await api.json<void>(SUBSCRIPTIONS, {
      method: "DELETE",
      body: JSON.stringify({ endpoint: subscription.endpoint }),
    });
  } catch (error) {
    // 404: the server had dropped it already. Anything else: once the browser has let
    // go of it, the push service answers 410 to the server, which then deletes it.
    if (!(error instanceof ApiError && error.status === 404)) {
      console.warn("Butler's server may still have this browser's push subscription:", error);
    }
  } finally {
    await subscription.unsubscribe();
  }
}
