"""Reports: a result as files a person (``report.html``, ``summary.md``), a program
(``result.json``, with its JSON Schema) and a CI system (``junit.xml``) can read."""
