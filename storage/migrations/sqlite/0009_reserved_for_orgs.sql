-- Placeholder: number reserved for organisations (another branch); drop on merge.
SELECT 1;
