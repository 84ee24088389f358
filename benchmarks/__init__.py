"""civid benchmarks: one script per question, a table on stdout, JSON records in benchmarks/results/."""
