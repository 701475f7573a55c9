-- Placeholder for wave 2's retention migration; the lead drops it on merge.
SELECT 1;
