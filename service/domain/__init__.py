"""The domain, framework-free: vocabulary, conditions, ruleset, engine adapter, assessment."""
