"""HTML pages for people: the intake form, the rule catalogue and safety report, Swagger UI."""
