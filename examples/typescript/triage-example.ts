// Every /v1 operation of a running forefoot-triage, through openapi-fetch and the types that
// openapi-typescript generates from openapi.yaml into schema.d.ts (examples/README.md).
//
//   node triage-example.js http://127.0.0.1:8000
//
// TRIAGE_API_KEY, if set, is sent as X-API-Key. Prints one JSON summary of the answers (the same
// as examples/python/triage_example.py prints); throws on any answer that is not the documented 200.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

// The two Node globals used here, declared so that no @types package is needed.
declare const process: { argv: string[]; env: Record<string, string | undefined> };

type TriageRequest = components["schemas"]["TriageRequest"];
type TriageResponse = components["schemas"]["TriageResponse"];

const base = process.argv[2] ?? "http://127.0.0.1:8000";
const key = process.env.TRIAGE_API_KEY;
const client = createClient<paths>({
  baseUrl: base,
  headers: key ? { "X-API-Key": key } : {},
});

// An injury at the midfoot, the Ottawa rule positive. Asked and not known: "unknown" for a
// yes/no question, null for a number; a question not asked is left out.
const intake: TriageRequest = {
  patient: { age_years: 34 },
  history: { diabetes: "no", neuropathy: "unknown", conservative_care_weeks: null },
  symptoms: {
    onset: "injury",
    pain_location: "midfoot",
    pain_nrs: 6,
    steps_immediately: 2,
    steps_now: 3,
    tender_5th_mt_base: "yes",
  },
};
// A cold, pale foot: an emergency, so escalation is set.
const emergency: TriageRequest = { symptoms: { foot_cold_pale_or_blue: "yes" } };
// Out of range (pain 0-10): in a batch it gets its own error entry, the rest answered.
const outOfRange: TriageRequest = { symptoms: { pain_nrs: 11 } };

function must<T>(result: { data?: T; error?: unknown; response: Response }, what: string): T {
  if (result.data === undefined) {
    const detail = JSON.stringify(result.error);
    throw new Error(`${what}: HTTP ${result.response.status} ${detail}`);
  }
  return result.data;
}

function summary(answer: TriageResponse) {
  return {
    destination: answer.destination,
    urgency: answer.urgency,
    level: answer.level,
    escalation: answer.escalation,
    rules: answer.rationale.map((entry) => entry.rule_id),
  };
}

const one = must(await client.POST("/v1/triage", { body: intake }), "triage");
const urgent = must(await client.POST("/v1/triage", { body: emergency }), "triage");
const batch = must(
  await client.POST("/v1/triage/batch", { body: { intakes: [intake, outOfRange] } }),
  "batch",
);
const entries = batch.results.map((entry) =>
  "result" in entry
    ? { index: entry.index, ...summary(entry.result) }
    : {
        index: entry.index,
        status: entry.error.status,
        fields: entry.error.errors.map((item) => item.field),
      },
);
const asked = must(await client.POST("/v1/interview", { body: { max_questions: 7 } }), "interview");
const rules = must(await client.GET("/v1/rules"), "rules");
const questions = must(await client.GET("/v1/questions"), "questions");
const contract = must(await client.GET("/openapi.yaml", { parseAs: "text" }), "contract");

console.log(
  JSON.stringify({
    triage: summary(one),
    emergency: summary(urgent),
    batch: entries,
    interview: {
      status: asked.status,
      questions: asked.questions.map((question) => question.finding),
      answer_destination: asked.answer.destination,
    },
    rules: rules.rules.map((rule) => rule.id),
    questions: questions.questions.map((question) => question.finding),
    contract: contract.split("\n")[0],
  }),
);
