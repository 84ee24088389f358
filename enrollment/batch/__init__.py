"""Registration drives as resumable enrolment jobs: the archive, its sealed packages, staging, sweep."""
