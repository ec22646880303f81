"""Report writers: the conformance statement (JSON + self-contained HTML) rendered from one model."""
