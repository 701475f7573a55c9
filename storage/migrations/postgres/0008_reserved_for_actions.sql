-- Placeholder for migration 0008, reserved for the action log (branch i5-actions).
-- It only exists so that 0010 loads on this branch (the loader refuses gaps);
-- drop this file when merging, in favour of the real 0008.
SELECT 1;
