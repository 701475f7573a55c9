-- Placeholder for migration 0009, reserved for organisations (branch i5-orgs).
-- It only exists so that 0010 loads on this branch (the loader refuses gaps);
-- drop this file when merging, in favour of the real 0009.
SELECT 1;
