"""FHIR R4: the Questionnaire, QuestionnaireResponse in, GuidanceResponse out, errors."""
