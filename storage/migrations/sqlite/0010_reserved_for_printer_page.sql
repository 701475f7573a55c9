-- Placeholder: number reserved for the printer page (another branch); drop on merge.
SELECT 1;
