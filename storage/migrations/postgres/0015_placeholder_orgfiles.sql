-- Placeholder for wave 2's 0015 (orgfiles); the lead drops it on merge.
SELECT 1;
