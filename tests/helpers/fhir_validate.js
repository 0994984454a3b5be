// Validates FHIR resources with FHIR.js (npm "fhir" 4.12.0): reads a JSON array of resources on
// stdin, writes a JSON array of {valid, messages} (errors and warnings) to stdout. FHIR.js calls its
// information level "info" (validator.js Severities); "information" is kept for safety.
"use strict";
const { Fhir } = require("fhir");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const fhir = new Fhir();
  const results = JSON.parse(input).map((resource) => {
    const result = fhir.validate(resource);
    return {
      valid: result.valid,
      // "info" is what FHIR.js says of a value set it does not bundle (such as mime types).
      messages: result.messages.filter((m) => !["information", "info"].includes(m.severity)),
    };
  });
  process.stdout.write(JSON.stringify(results));
});
