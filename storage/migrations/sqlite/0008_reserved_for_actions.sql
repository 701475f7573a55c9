-- Placeholder: number reserved for the action log (another branch); drop on merge.
SELECT 1;
