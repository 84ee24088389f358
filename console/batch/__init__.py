"""Registration drive pages: upload, progress, results and their CSV (the jobs are enrollment.batch)."""
