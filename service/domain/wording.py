"""The answer in words for people: how soon, in person or not, where and when (no framework)."""

from __future__ import annotations

import re
from collections.abc import Mapping

# How soon, in words (clinical.md 1.1): follows the destination in a lead, "X-ray and fracture
# clinic today"; after a comma when it is not an adverb.
WHEN = {"emergency": "now", "urgent": "today", "soon": "within days", "routine": "routine"}
URGENCY_MEANING = {
    "emergency": "now (emergency department / emergency services)",
    "urgent": "same day (within 24 hours)",
    "soon": "within days (up to a week)",
    "routine": "within weeks (normal booking)",
}
# clinical.md 1.6: what the answer's setting means for the patient.
SETTING_DISPLAY = {
    "in_person": "In person",
    "virtual_suitable": "Virtual (video or phone) suitable",
}
SETTING_TEXT = {
    "in_person": "Must be seen in person.",
    "virtual_suitable": "A video or phone assessment can be the first step.",
}
# The setting as a page's "In person?" answer.
SETTING_LABEL = {
    "in_person": "Must be seen in person",
    "virtual_suitable": "A video or phone appointment can be the first step",
}
# How soon as a label of its own (a page's "How soon", a referral): the answer's urgency.
HOW_SOON = {
    "emergency": "now",
    "urgent": "today",
    "soon": "within a few days",
    "routine": "routine appointment",
}


# The interview's statement of what its answer means (POST /v1/interview `statement`).
INTERVIEW_ASK = (
    "Provisional: the answer reads every question not asked yet as unknown, as /v1/triage "
    "would. The fields listed in `decided` cannot change whatever the answers left; the others "
    "can. Ask the questions given, add the answers to the intake and send it again."
)
INTERVIEW_COMPLETE = (
    "Complete: no answer to the questions not asked (yes, no, unknown or any number) can change "
    "the level, urgency, destination, setting or clinician-review flag; they are final, and "
    "equal to the full form's. The rationale and referrals list what is already decided: the "
    "rules that fire on the answers given, with the questions not asked read as unknown. Rules "
    "in `rules.undecided` could still fire, or stop firing, on answers not given, without "
    "changing the disposition; `rules.fired` fire whatever those answers would be."
)


def _keyed(prefix: str, words: dict[str, str]) -> dict[str, str]:
    return {f"{prefix}.{code}": text for code, text in words.items()}


# The words above by locale key (service.domain.locales): English is the source, a locale file
# translates each. Surfaces read them from the ruleset of the answer's language (`texts`).
SURFACE_WORDS: dict[str, str] = {
    **_keyed("when", WHEN),
    **_keyed("urgency_meaning", URGENCY_MEANING),
    **_keyed("setting_display", SETTING_DISPLAY),
    **_keyed("setting_text", SETTING_TEXT),
    **_keyed("setting_label", SETTING_LABEL),
    **_keyed("how_soon", HOW_SOON),
    "interview.ask": INTERVIEW_ASK,
    "interview.complete": INTERVIEW_COMPLETE,
    # Phrases of a destination's text that already say when (where_and_when), '|'-separated.
    "says_when": "today|now|within|same-day|same day|same or next day",
    # The headings of an answer written out for people (FHIR narrative, CDS Hooks card).
    "report.where": "Where",
    "report.how_soon": "How soon",
    "report.escalation": "Escalation",
    "report.referrals": "Referrals",
    "report.no_referral": "No referral.",
    "report.no_referral_above_self_care": "None (no rule above self-care fired)",
    "report.triage_level": "Triage level",
    "report.level": "Level",
    "report.review": "A clinician should review these answers.",
    "report.why": "Why",
    "report.advice": "Advice",
    "report.still_worth_asking": "Still worth asking",
    "report.decision_id": "Decision id",
    "report.service": "Forefoot triage",
    # Said under an answer whose texts are a machine-assisted translation (translation_status).
    "report.machine_assisted": (
        "Machine-assisted translation: not yet reviewed by a clinician and a medical translator."
    ),
    # The FHIR Questionnaire's own texts.
    "questionnaire.title": "Forefoot (ball-of-foot) pain triage",
    "questionnaire.description": (
        "The intake of the forefoot-triage service. Answer what you can: an item left out, "
        "or answered with the data-absent-reason extension, is unknown, and unknown never "
        "lowers a result. The danger signs are required, and Unknown is an answer to each. "
        "A few questions are asked only in some situations (enableWhen, or the SDC "
        "enableWhenExpression extension); an answer to one of them is still read."
    ),
    "questionnaire.group.patient": "Patient",
    "questionnaire.group.danger_signs": (
        "Danger signs: answer each one (choose Unknown if you are not sure)"
    ),
    "questionnaire.group.history": "History",
    "questionnaire.group.symptoms": "Symptoms",
    # The unit a form shows beside an integer question (its UCUM code is in the Questionnaire).
    "unit.age_years": "years",
    "unit.conservative_care_weeks": "weeks",
    "unit.days_since_onset": "days",
    "unit.pain_nrs": "score (0 to 10)",
    "unit.steps_immediately": "steps",
    "unit.steps_now": "steps",
    # The result group of the adaptive FHIR form ($next-question).
    "result.title": "Triage result",
    "result.title_provisional": (
        "Provisional triage result (the questions not asked yet read as unknown)"
    ),
    "result.destination": "Where to go",
    "result.urgency": "How soon",
    "result.setting": "In person or not",
    "result.level": "Triage level",
    "result.needs_clinician_review": "A clinician should review these answers",
    "result.final": "final",
    "result.provisional": "provisional",
    "questionnaire.adaptive_title": "Forefoot (ball-of-foot) pain triage, adaptive",
    # Problem messages (422) a patient's form may show; `{name}` parts are filled in.
    "problem.title_422": "Unprocessable Content",
    "problem.intake_invalid": "The intake does not match the schema; see errors.",
    "problem.request_invalid": "The request does not match the schema; see errors.",
    "problem.errors_omitted": "Only the first {shown} errors are listed; {omitted} more are not.",
    "problem.unknown_field": "Unknown field.",
    "problem.did_you_mean": "Did you mean '{hint}'?",
    "problem.not_integer": "Not a valid integer.",
    "problem.not_string": "Not a valid string.",
    "problem.invalid_type": "Invalid input type.",
    "problem.not_null": "Field may not be null.",
    "problem.range": (
        "Must be greater than or equal to {minimum} and less than or equal to {maximum}."
    ),
    "problem.one_of": "Must be one of: {choices}.",
    "problem.whole_number": "Must be a whole number from {minimum} to {maximum}.",
    "problem.answered_twice": "Answered twice.",
    "problem.api_key": "Enter a valid API key: this service is configured to require one.",
    # The pages (the intake form and its result; the layout every page shares).
    "page.skip": "Skip to content",
    "page.nav_label": "Site",
    "page.nav.try": "Try it",
    "page.nav.interview": "Interview",
    "page.nav.rules": "Rules",
    "page.nav.safety": "Safety report",
    "page.nav.docs": "API docs",
    "page.language": "Language",
    "page.site_title": "Forefoot triage",
    "page.footer": "Decision support, not a diagnosis. Nothing you enter is stored.",
    "page.footer_ruleset": "Ruleset",
    "page.footer_cases": "cases sha256",
    "page.footer_rule_cases_only": "(rule cases only)",
    "page.intake.title": "Try it",
    "page.intake.heading": "Ball-of-foot pain: try the triage",
    "page.intake.lead": (
        "The answer says where the foot should be seen, how soon, whether in person, and why. "
        "Nothing you enter is stored."
    ),
    "page.intake.interview_question": "Prefer one question at a time?",
    "page.intake.interview_link": "Start the step-by-step interview",
    "page.intake.interview_after": ": it asks only the questions that can still change the answer.",
    "page.intake.who": "Who this is for.",
    "page.intake.unknown": (
        "Answer what you can and leave the rest as {unknown}. What {unknown} does:"
    ),
    "page.intake.injury_help": (
        'Answer these only if the pain started with an injury (see "{onset}"); otherwise leave '
        "them as {unknown}."
    ),
    "page.intake.api_key": "API key",
    "page.intake.api_key_help": (
        "This service requires an API key to triage. It is sent with your answers and not kept."
    ),
    "page.intake.submit": "Get the triage result",
    "page.intake.number_help": "Whole number from {minimum} to {maximum}; leave empty if unknown.",
    "page.section.patient": "About you",
    "page.section.history": "Your history",
    "page.section.onset": "How the pain started",
    "page.section.injury": "Only if the pain started with an injury",
    "page.section.symptoms": "Your symptoms",
    "page.result.failed_title": "No result could be given",
    "page.result.failed": (
        "The rule engine failed on these answers, so no triage is given (the service never "
        "guesses one). Please try again in a moment, or ask a clinician."
    ),
    "page.result.problems_title": "Please check these answers",
    "page.result.emergency": (
        "Emergency: get medical help now. Go to the emergency department or call your local "
        "emergency number."
    ),
    "page.result.where": "Where to go",
    "page.result.how_soon": "How soon",
    "page.result.in_person": "In person?",
    "page.result.also": "Also referred to",
    "page.result.care_level": "Care level",
    "page.result.urgency": "Urgency",
    "page.result.escalation": "Escalation",
    "page.result.advice": "Advice",
    "page.result.why": "Why",
    "page.result.informational": "informational: does not set the care level",
    "page.result.sources_label": "Sources:",
    "page.result.follow_up": "Questions still worth answering",
    "page.result.could_raise": "an answer could raise the result to {urgency} ({level}).",
    "page.result.sources": "Sources",
    "page.result.who": "Who this is for:",
    "page.result.meta": "Decision {decision_id}; ruleset {version}.",
    # Problem titles and details (400 to 500) on every endpoint, sentence by sentence.
    "problem.title_400": "Bad Request",
    "problem.title_401": "Unauthorized",
    "problem.title_404": "Not Found",
    "problem.title_405": "Method Not Allowed",
    "problem.title_413": "Request Entity Too Large",
    "problem.title_415": "Unsupported Media Type",
    "problem.title_500": "Internal Server Error",
    "problem.bad_request": (
        "The browser (or proxy) sent a request that this server could not understand."
    ),
    "problem.not_found": "The requested URL was not found on the server.",
    "problem.not_found_hint": (
        "If you entered the URL manually please check your spelling and try again."
    ),
    "problem.method": "The method is not allowed for the requested URL.",
    "problem.too_large": "The data value transmitted exceeds the capacity limit.",
    "problem.media_type": "The server does not support the media type transmitted in the request.",
    "problem.send_json": "Send the intake as application/json.",
    "problem.content_coding": (
        "Send the body without a content coding (Content-Encoding: identity)."
    ),
    "problem.api_key_header": "Send a valid API key in the {header} header.",
    "problem.repeated_key": "The JSON body repeats a key.",
    "problem.nan": "The JSON body contains NaN or Infinity, which JSON does not allow.",
    "problem.not_utf8": "The body is not valid UTF-8.",
    "problem.too_deep": "The JSON body is nested too deeply.",
    "problem.not_json": "The body is not valid JSON.",
    "problem.framing": "The request body's framing is malformed or cut short.",
    "problem.unicode": "The body holds a string that is not valid Unicode; see errors.",
    "problem.surrogate": (
        "A string holds half of a UTF-16 surrogate pair (escaped): not Unicode text."
    ),
    "problem.no_rule": "No rule has this id.",
    "problem.not_completed": "The request could not be completed.",
    "problem.number_and_unknown": "Give a number or tick 'I don't know', not both.",
    # The step-by-step interview (/interview): its screens, result and error pages.
    "page.interview.why.emergency": "Your answer could show that you need emergency care now.",
    "page.interview.why.urgent": "Your answer could show that your foot should be seen today.",
    "page.interview.why.soon": (
        "Your answer could show that your foot should be seen within a few days."
    ),
    "page.interview.why.routine": (
        "Your answer helps decide whether you need an appointment, and with whom."
    ),
    "page.interview.why_label": "Why we ask:",
    "page.interview.brought": "The answers you brought",
    "page.interview.dont_know": "I don't know",
    "page.interview.number_label": "Whole number from {minimum} to {maximum}",
    "page.interview.screen_title": "Question {number}",
    "page.interview.screen_step": "Screen {number}",
    "page.interview.progress_answered": "answered so far;",
    "page.interview.progress_left": (
        "questions left that could still change the result. The interview stops as soon as "
        "no answer left could change it."
    ),
    "page.interview.unknown_note": 'A question left unanswered counts as "I don\'t know".',
    "page.interview.unknown_does": "What that does:",
    "page.interview.auto_next": (
        "Choosing an answer with a click or tap moves on to the next question."
    ),
    "page.interview.next": "Next",
    "page.interview.back": "Back",
    "page.interview.back_change": "Back: change the last answer",
    "page.interview.start_again": "Start again",
    "page.interview.all_on_one_page": "All the questions on one page",
    "page.interview.state_error": (
        "This page's answers could not be read. Please start the interview again."
    ),
    "page.interview.error.title": "Answers not read",
    "page.interview.error.heading": "The interview cannot go on with these answers",
    "page.interview.error.problems": "What is wrong",
    "page.interview.error.none": "No triage was given.",
    "page.interview.error.restart": "Start the interview again",
    "page.interview.error.or_use": ", or use",
    "page.interview.form_link": "the form with all the questions",
    "page.interview.result.title": "Your result",
    "page.interview.result.stopped_label": "The interview stopped here:",
    "page.interview.result.stopped": (
        "your answers already show an emergency, and no answer to the questions left could "
        "make it less urgent."
    ),
    "page.interview.result.complete": (
        "No answer to the questions not asked could change where to go, how soon, whether in "
        "person, the care level or a clinician's review: they are final."
    ),
    "page.interview.result.one_screen": "One screen of questions was needed.",
    "page.interview.result.screens": "{count} screens of questions were needed.",
    "page.interview.result.answers": "Your answers",
    "page.interview.result.not_asked": (
        "Questions not asked were not needed for this result; they read as unknown."
    ),
    "page.interview.unavailable.title": "Interview not available",
    "page.interview.unavailable.heading": "The step-by-step interview is not available here",
    "page.interview.unavailable.text": (
        "This service is set up to require an API key for every triage, and a key is never "
        "carried from page to page. Please use"
    ),
    "page.interview.unavailable.after": ", which asks for the key once.",
    # The rule catalogue, one rule, the safety report (their labels; conditions stay English).
    "page.rules.title": "Rule catalogue",
    "page.rules.lead": (
        "Every rule whose condition holds fires. The result's urgency is the highest among "
        "the fired rules; its care level the highest among the fired rules that are not "
        "informational. Its destination, where the patient is sent, is that of the most "
        "urgent, highest-level fired rule; every other fired rule above self-care is listed "
        "among the referrals. The result is in person when any fired rule above self-care is."
        " A comparison with an unknown number is false; an unanswered word answer is unknown."
    ),
    "page.rules.json": "The same catalogue as JSON:",
    "page.rules.conditions_note": "The conditions are written in English, as the rules state them.",
    "page.rules.families": "Families",
    "page.rules.helpers": "Helpers",
    "page.rules.rules": "Rules",
    "page.rules.caption": "{count} rules, most families first as in the rule files",
    "page.rules.rule": "Rule",
    "page.rules.when": "When",
    "page.rules.level_urgency": "Level, urgency",
    "page.rules.where_setting": "Where, and in person?",
    "page.rules.informational_flag": "Informational: never sets the care level",
    "page.rules.review_flag": "Needs clinician review",
    "page.rules.all_rules": "All rules",
    "page.rule.title": "Rule {rule_id}",
    "page.rule.family": "Family",
    "page.rule.level": "Level",
    "page.rule.where": "Where",
    "page.rule.setting": "Setting",
    "page.rule.informational": "Informational",
    "page.rule.informational_yes": (
        "Yes: it explains a self-care answer and never sets the care level"
    ),
    "page.rule.no": "No",
    "page.rule.review": "Review",
    "page.rule.shared_note": "shared line {name}: one of these two, chosen by the answers",
    "page.rule.call_back_note": (
        'call-back line: replaced by "{go_now}" when another rule sends the patient somewhere today'
    ),
    "page.rule.fires": "Cases where it fires",
    "page.rule.silent": "Cases where it stays silent",
    "page.rule.expected": "expected",
    "page.rule.answers": "Answers:",
    "page.rule.no_answers": "none (all unknown)",
    "page.none": "None.",
    "page.identity.version": "Version",
    "page.identity.checked": "Checked with",
    "page.identity.rule_cases": "{count} rule cases",
    "page.identity.and_vignettes": "and {count} clinical vignettes",
    "page.identity.no_vignettes": "only (no vignette file here)",
    "page.identity.replayed": "replayed at start",
    "page.identity.cases_sha": "Cases sha256",
    "page.safety.title": "Safety report",
    "page.safety.lead": (
        ", replayed through the rules as the service runs them, once, when it started, from "
        "the files whose content the cases' sha256 above identifies. Results are ordered by "
        "urgency, then level: under-triage is a result below the expected one (unsafe), "
        "over-triage one above it."
    ),
    "page.safety.no_vignettes": "The vignette suite is not installed here: rule cases only.",
    "page.safety.promise": "What the rules promise",
    "page.safety.unknown": "Unknown answers.",
    "page.safety.summary": "Summary",
    "page.safety.suite": "Suite",
    "page.safety.cases": "Cases",
    "page.safety.as_expected": "As expected",
    "page.safety.under": "Under-triage",
    "page.safety.over": "Over-triage",
    "page.safety.other": "Other expectation failures",
    "page.safety.suite.vignettes": "vignettes",
    "page.safety.suite.all": "all",
    "page.safety.levels": "Level: expected (rows) against returned (columns)",
    "page.safety.urgencies": "Urgency: expected (rows) against returned (columns)",
    "page.safety.expected": "Expected",
    "page.safety.got": "got {name}",
    "page.safety.misses": "Cases not as expected",
    "page.safety.fires": "How often each rule fires",
    "page.safety.level_urgency": "Level / urgency",
    "page.safety.all": "All ({count})",
    "page.safety.never_fired": "Rules never fired",
    "page.safety.lead_cases": "Every rule case",
    "page.safety.lead_vignettes": "and every clinical vignette",
    "page.safety.suite.rule_cases": "rule cases",
    # Problems answered below Flask (gunicorn, the gevent worker, the probe port), the Flask 408
    # and the engine failure; service.http.server_problems.
    "problem.title_403": "Forbidden",
    "problem.title_408": "Request Timeout",
    "problem.title_414": "URI Too Long",
    "problem.title_417": "Expectation Failed",
    "problem.title_431": "Request Header Fields Too Large",
    "problem.title_501": "Not Implemented",
    "problem.title_503": "Service Unavailable",
    "problem.title_505": "HTTP Version Not Supported",
    "problem.head_unparsed": "The HTTP request could not be parsed.",
    "problem.refused": "The request was refused.",
    "problem.line_too_long": "The request line is too long.",
    "problem.expectation": "The expectation cannot be met.",
    "problem.headers_too_large": (
        "The request headers are too large: at most {fields} fields, each at most "
        "{field_bytes} bytes, {total_bytes} bytes in all."
    ),
    "problem.transfer_coding": "The transfer coding is not supported: only chunked is.",
    "problem.http_version": "The HTTP version is not supported: use HTTP/1.1 (or HTTP/1.0).",
    "problem.busy": "The service is busy; please try again in a few seconds.",
    "problem.probe_paths": "This port answers only /healthz and /readyz.",
    "problem.probe_get": "Probes use GET.",
    "problem.loop_stalled": "The worker's event loop is not making progress.",
    "problem.no_ruleset": "No validated ruleset is loaded yet.",
    "problem.shutting_down": "The worker is shutting down.",
    "problem.head_timeout": "The request head did not arrive in time.",
    "problem.not_http": "Not an HTTP/1.x request head.",
    "problem.body_timeout": "The request body did not arrive in time.",
    "problem.engine_failed": "The rule engine failed; no triage result.",
    # A batch refused whole (its shape: a placeholder, as str.format would read its braces).
    "problem.batch.body": "The body must be {shape}; see errors.",
    "problem.batch.one_key": "The body must be an object with exactly one key, 'intakes'.",
    "problem.batch.size": "'intakes' must be a list of 1 to {limit} intakes.",
    # Marshmallow's own messages on the CDS Hooks call and feedback bodies.
    "problem.required": "Missing data for required field.",
    "problem.not_mapping": "Not a valid mapping type.",
    "problem.not_list": "Not a valid list.",
    "problem.equal": "Must be equal to {other}.",
    "problem.length": "Length must be between {min} and {max}.",
    # FHIR OperationOutcome texts of a QuestionnaireResponse that cannot be read.
    "problem.failed": "The request failed.",
    "problem.fhir.one_answer": "'{name}' takes at most one answer.",
    "problem.fhir.answer_items": "The answer to '{name}' may not contain items.",
    "problem.fhir.value_and_absent": "The answer to '{name}' has a value and a data-absent-reason.",
    "problem.fhir.no_value": "The answer to '{name}' has no value.",
    "problem.fhir.value_type": "The answer to '{name}' must be a {allowed}.",
    "problem.fhir.code_system": "The answer to '{name}' must be a code of {system}.",
    "problem.fhir.no_code": "The answer to '{name}' has no code.",
    "problem.fhir.boolean": "The answer to '{name}' must be true or false.",
    "problem.fhir.item_array": "'item' must be an array.",
    "problem.fhir.link_id": "Every item needs a linkId.",
    "problem.fhir.group_answer": "The group '{link_id}' takes no answer.",
    "problem.fhir.not_ours": "An item's linkId is not a question of ours.",
    "problem.fhir.wrong_group": "'{link_id}' belongs to the group '{group}'.",
    "problem.fhir.answered_twice": "'{link_id}' is answered more than once.",
    "problem.fhir.nested": "'{link_id}' may not contain other items.",
    "problem.fhir.not_resource": "The body must be a FHIR resource (a JSON object).",
    "problem.fhir.format": "This server answers FHIR JSON only (_format=json).",
    "problem.fhir.accept": "This server answers application/fhir+json (or application/json) only.",
    "problem.fhir.no_code_system": "No such CodeSystem.",
    "problem.fhir.no_operation": "No such OperationDefinition.",
    "problem.fhir.media_type": "Send the QuestionnaireResponse as application/fhir+json.",
    "problem.fhir.parameters_body": (
        "A Parameters body must hold exactly one '{parameter}' parameter with the "
        "QuestionnaireResponse as its resource."
    ),
    "problem.fhir.not_response": "The resource must be a QuestionnaireResponse.",
    "problem.fhir.status": "status must be one of {statuses}.",
    "problem.fhir.questionnaire": "questionnaire must be {questionnaire}.",
    "problem.fhir.entered_in_error": "A response entered in error cannot be triaged.",
    "problem.fhir.parameters": (
        "The Parameters must hold one 'questionnaire-response' parameter with the resource."
    ),
    "problem.fhir.adaptive_questionnaire": (
        "questionnaire must reference a contained adaptive Questionnaire derived from "
        "{questionnaire}, or be {questionnaire}."
    ),
    "problem.fhir.one_contained": "questionnaire must name one contained Questionnaire.",
    "problem.fhir.derived": "The contained Questionnaire must derive from {questionnaire}.",
    "problem.fhir.contained_not_ours": (
        "An item of the contained Questionnaire is not a question of ours."
    ),
    "problem.fhir.contained_twice": "'{link_id}' is in the contained Questionnaire twice.",
    "problem.fhir.not_asked": "'{name}' is not a question of the contained Questionnaire.",
    # CDS Hooks: the discovery document's service, and its 401, 412, 422 and 503 texts.
    "problem.title_412": "Precondition Failed",
    "cds.service.title": "Forefoot pain triage",
    "cds.service.description": (
        "Triages the patient's latest answers to the forefoot-triage Questionnaire (ball-of-"
        "foot pain): where to go, how soon, in person or not, the referrals, level, reasons "
        "and sources, as one card."
    ),
    "problem.cds.not_cds": "The body does not match CDS Hooks 2.0.",
    "problem.cds.no_token": "Send a CDS Hooks 2.0 client JWT in the Authorization header (Bearer).",
    "problem.cds.no_token_or_key": (
        "Send a CDS Hooks 2.0 client JWT in the Authorization header (Bearer) or an API key "
        "in {header}."
    ),
    "problem.cds.unknown_kid": "The token's kid is not in the issuer's JWKS.",
    "problem.cds.jwks_unavailable": (
        "The issuer's public keys could not be fetched; try again later."
    ),
    "problem.cds.alg_mismatch": "The token's alg does not match its key.",
    "problem.cds.malformed": "The bearer token is not a signed JWT.",
    "problem.cds.alg": "The token must be signed with {algorithms}.",
    "problem.cds.typ": "The token's typ must be JWT.",
    "problem.cds.kid": "The token's header must name its key (kid).",
    "problem.cds.issuer": "The token's issuer is not a trusted CDS client.",
    "problem.cds.jku": "The token's jku is not the issuer's trusted JWKS URL.",
    "problem.cds.iat": "The token was issued in the future.",
    "problem.cds.lifetime": "The token lives longer than 5 minutes.",
    "problem.cds.jti": "The token's jti must be a string of 1 to 256 characters.",
    "problem.cds.replay": "The token's jti was already used.",
    "problem.cds.signature": "The token's signature does not verify.",
    "problem.cds.expired": "The token has expired.",
    "problem.cds.aud": "The token's aud is not the URL called.",
    "problem.cds.claims": "The token must carry iss, aud, exp, iat and jti.",
    "problem.cds.invalid": "The token is not valid.",
    "problem.cds.numbers": "The token's exp and iat must be numbers.",
    "problem.cds.replay_full": "Too many recent CDS Hooks calls; try again soon.",
    "problem.cds.replay_unavailable": (
        "CDS Hooks calls cannot be checked for replay right now; try again soon."
    ),
    "problem.cds.bundle_entry": "The prefetched Bundle's entry must be an array.",
    "problem.cds.prefetch_kind": (
        "The prefetch holds neither a QuestionnaireResponse nor a Bundle of them."
    ),
    "problem.cds.prefetch_missing": (
        "Prefetch '{key}' must hold the patient's QuestionnaireResponse to {questionnaire} "
        "(or a searchset Bundle with it)."
    ),
    "problem.cds.other_patient": "A prefetched QuestionnaireResponse is not about this patient.",
    "problem.cds.other_questionnaire": "A prefetched response is not to {questionnaire}.",
    "problem.cds.no_usable": "The prefetch holds no usable QuestionnaireResponse.",
    "problem.cds.same_time": "Several responses share the latest 'authored' time: none is chosen.",
    "problem.cds.not_usable": "The prefetched resource is not usable: {detail}",
    "problem.cds.bad_patient_id": "The context's patientId is not a FHIR id: no query is made.",
    "problem.cds.fetch_limit": "The FHIR server's answer was too large or too slow.",
    "problem.cds.fetch_failed": (
        "The prefetch is missing and the FHIR server could not be queried for it."
    ),
    "problem.cds.fetch_not_fhir": "The FHIR server did not answer with FHIR JSON.",
    "problem.cds.fetch_not_json": "The FHIR server's answer is not JSON.",
    "problem.cds.fetch_not_resource": "The FHIR server's answer is not a FHIR resource.",
    # The CDS Hooks card's links to finish the questions.
    "cds.link.intake": "Finish the unanswered questions in the forefoot-triage intake form",
    "cds.link.smart": "Finish the unanswered questions (SMART app in the EHR)",
    "cds.link.interview": "Finish the unanswered questions in the forefoot-triage interview",
}


class Words:
    """The surfaces' words in one language: a ruleset's `texts` (service.domain.locales)."""

    def __init__(self, texts: Mapping[str, str]) -> None:
        self.texts = texts
        phrases = "|".join(re.escape(p) for p in texts["says_when"].split("|") if p)
        self._says_when = re.compile(rf"\b(?:{phrases})\b", re.IGNORECASE)

    def __getitem__(self, key: str) -> str:
        return self.texts[key]

    def code(self, kind: str, code: str) -> str:
        """A code's name: kind is level, urgency, setting, escalation or choice."""
        return self.texts[f"{kind}.{code}"]

    def says_when(self, text: str) -> bool:
        """The text names a time already ('today', 'now', 'within a few days', 'same-day')."""
        return self._says_when.search(text) is not None

    def where_and_when(self, destination: str, urgency: str) -> str:
        """Where to go and how soon, for a lead: 'X-ray and fracture clinic today'; a
        destination text that already says when is not told twice."""
        when = self.texts[f"when.{urgency}"]
        if self.says_when(destination):
            return destination
        return f"{destination}, {when}" if urgency == "routine" else f"{destination} {when}"


def display(code: str) -> str:
    """A readable display for one of our codes: 'sudden_no_injury' -> 'Sudden no injury'."""
    return code.replace("_", " ").capitalize()


# Destination texts of the manifest that already name a time ("..., today", "... now; ...",
# "... within a few days", "(same or next day)").
_SAYS_WHEN = re.compile(r"\b(today|now|within|same[- ]day|same or next day)\b", re.IGNORECASE)


def says_when(text: str) -> bool:
    """The text names a time already ('today', 'now', 'within a few days', 'same-day')."""
    return _SAYS_WHEN.search(text) is not None


def where_and_when(destination: str, urgency: str) -> str:
    """Where to go and how soon, for a lead: 'X-ray and fracture clinic today'.

    A destination text that already says when ('Maternity assessment unit or midwife, today',
    'Emergency department now; ...', "Doctor's assessment (GP) within a few days", 'Urgent
    vascular surgery assessment (same or next day)') is not told twice.
    """
    when = WHEN[urgency]
    if says_when(destination):
        return destination
    return f"{destination}, {when}" if urgency == "routine" else f"{destination} {when}"
