import { describe, expect, it } from "vitest";
import { ApiError, NetworkError } from "../src/api/client";
import { placeProblem, placeSentence } from "../src/settings/homePlace";

describe("the home place", () => {
  it("is said by the name the server found", () => {
    const leeds = { name: "Leeds, England, United Kingdom", latitude: 53.8, longitude: -1.55 };
    expect(placeSentence(leeds)).toBe("Home is Leeds, England, United Kingdom.");
    expect(placeSentence(null)).toBe("Not set: Butler asks which town you mean.");
    expect(placeSentence(undefined)).toBe("Not set: Butler asks which town you mean.");
  });

  it("is what a failed lookup is about: no such place, or no lookup service", () => {
    const missing = new ApiError(422, "invalid_request", "No place called 'Atlantis' was found.");
    expect(placeProblem(missing)).toBe("No place called 'Atlantis' was found.");
    const down = new ApiError(502, "weather_unavailable", "The weather service cannot be reached.");
    expect(placeProblem(down)).toBe("The weather service cannot be reached.");
  });

  it("is not to blame for the network or the session", () => {
    expect(placeProblem(new NetworkError())).toBeNull();
    expect(placeProblem(new ApiError(401, "not_authenticated", "Sign in again."))).toBeNull();
    expect(placeProblem(new ApiError(500, "internal_error", "Something went wrong on our side."))).toBeNull();
    expect(placeProblem(new Error("boom"))).toBeNull();
  });
});
