/**
 * The API reference at /docs: Swagger UI bundled with the app (no CDN, so it works
 * without internet and under the app's CSP). The OpenAPI document is fetched with the
 * person's session, since in production only admins may read it. It is a reference:
 * "Try it out" is off, so the page never sends requests on anyone's behalf.
 */
import SwaggerUI from "swagger-ui-dist/swagger-ui-es-bundle.js";
import "swagger-ui-dist/swagger-ui.css";
import { ApiClient, ApiError, NetworkError } from "./api/client";

const FOR_ADMINS =
  "Butler's API reference is for its admins. Sign in to Butler as an admin, then reload this page.";

function explain(error: unknown): string {
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
    return FOR_ADMINS;
  }
  if (error instanceof NetworkError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

async function show(status: HTMLElement, target: HTMLElement): Promise<void> {
  const client = new ApiClient();
  await client.restore();
  try {
    const spec = await client.json<Record<string, unknown>>("/openapi.json");
    status.remove();
    SwaggerUI({ spec, domNode: target, supportedSubmitMethods: [], deepLinking: true });
  } catch (error) {
    status.textContent = explain(error);
  }
}

const status = document.getElementById("docs-status");
const target = document.getElementById("docs");
if (status && target) void show(status, target);
