"""The desk enrolment: the form, its submission, and what the quality checks said."""
