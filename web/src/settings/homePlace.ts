/** The home place field's logic, kept apart from React so that it can be tested. */
import { ApiError } from "../api/client";
import type { HomePlace } from "../api/types";

/** The longest name the server looks up (ProfilePatch.home_place). */
export const MAX_PLACE = 100;

/** Where the person lives, as the page says it. */
export function placeSentence(place: HomePlace | null | undefined): string {
  return place ? `Home is ${place.name}.` : "Not set: Butler asks which town you mean.";
}

/**
 * The field's own problem in a failed save: no place of that name (422), or the lookup
 * service could not be asked (502). Anything else (the network, a session that ended)
 * is not the field's.
 */
export function placeProblem(error: unknown): string | null {
  return error instanceof ApiError && (error.status === 422 || error.status === 502) ? error.message : null;
}
