"""`printfleet-agent bench`: resource use and G-code streaming speed, measured in one run."""
