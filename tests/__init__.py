"""The test suite: folders mirror the layers (domain, review, http, interop, web) and kinds."""
