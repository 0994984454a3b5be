"""Tests of the pages: the intake form, the catalogue and safety pages, in a browser too."""
