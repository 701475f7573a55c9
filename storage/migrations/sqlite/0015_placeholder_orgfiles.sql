-- Placeholder for wave 2's orgfiles migration; the lead drops it on merge.
SELECT 1;
