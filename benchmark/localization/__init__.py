"""Localization: suites and their locale variants (``suites``, ``locales``), translator QA (``qa``),
item-by-item review (``review``), XLIFF/PO round trips (``interchange``), machine drafts
(``translate``) and importers of upstream benchmarks (``importers``)."""
