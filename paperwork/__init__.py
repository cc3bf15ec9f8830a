"""文书: case and document numbers (and the documents and 案卷 built from a case)."""
