"""Report formats: each renders report.json's data (`interface.Report`) to bytes; the commands
(`run`, `render`) choose the formats and write the files together."""
