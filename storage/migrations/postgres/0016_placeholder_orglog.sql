-- Placeholder for wave 2's orglog migration; the lead drops it on merge.
SELECT 1;
