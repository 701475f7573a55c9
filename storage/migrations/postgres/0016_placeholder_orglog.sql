-- Placeholder for wave 2's 0016 (orglog); the lead drops it on merge.
SELECT 1;
