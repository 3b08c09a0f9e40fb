import { describe, expect, it } from "vitest";
import readme from "../../README.md?raw";
import pkg from "../package.json";

describe("the Node.js version", () => {
  it("is the same in package.json and in the README", () => {
    const minimum = pkg.engines.node.replace(">=", "");
    expect(readme).toContain(`Node.js ${minimum}+`);
    expect(readme).toContain(`Node.js ${minimum} is what the web build (Vite) needs`);
  });

  it("explains the one dependency that asks for a newer Node", () => {
    expect(readme).toMatch(/machina.*livekit-client.*never runs under Node/s);
  });
});
